"""One row by its id, for the routes that answer 404 when it is not there (they never read the store)."""

from __future__ import annotations

import store.clips
import store.exchanges
import store.speakers
import store.videos
from operations.unit_of_work import UnitOfWork
from store.records import ClipRecord, ExchangeRecord, PersonRecord, VideoRecord


def video(uow: UnitOfWork, video_id: int) -> VideoRecord | None:
    return store.videos.get_video(uow.conn, video_id)


def exchange(uow: UnitOfWork, exchange_id: int) -> ExchangeRecord | None:
    return store.exchanges.get_exchange(uow.conn, exchange_id)


def clip(uow: UnitOfWork, clip_id: int) -> ClipRecord | None:
    return store.clips.get_clip(uow.conn, clip_id)


def person(uow: UnitOfWork, person_id: int) -> PersonRecord | None:
    return store.speakers.get_person(uow.conn, person_id)
