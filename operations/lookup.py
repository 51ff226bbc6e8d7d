"""One row by its id, for the routes that answer 404 when it is not there (they never read the store), and
for the core, a row another row points to."""

from __future__ import annotations

import store.clips
import store.exchanges
import store.speakers
import store.videos
from operations.unit_of_work import UnitOfWork
from store.engine import Database
from store.records import ClipRecord, ExchangeRecord, PersonRecord, VideoRecord


def video(uow: UnitOfWork, video_id: int) -> VideoRecord | None:
    return store.videos.get_video(uow.conn, video_id)


def exchange(uow: UnitOfWork, exchange_id: int) -> ExchangeRecord | None:
    return store.exchanges.get_exchange(uow.conn, exchange_id)


def clip(uow: UnitOfWork, clip_id: int) -> ClipRecord | None:
    return store.clips.get_clip(uow.conn, clip_id)


def person(uow: UnitOfWork, person_id: int) -> PersonRecord | None:
    return store.speakers.get_person(uow.conn, person_id)


# ---- rows another row points to: the core reads them, and their absence is an error ---------------


def existing_video(conn: Database, video_id: int) -> VideoRecord:
    """The video a row of the caller points to; LookupError when it was deleted meanwhile."""
    found = store.videos.get_video(conn, video_id)
    if found is None:
        raise LookupError(f"video {video_id} is gone (deleted meanwhile?): reload the page")
    return found


def existing_exchange(conn: Database, exchange_id: int) -> ExchangeRecord:
    """The exchange a row of the caller points to; LookupError when it was deleted meanwhile."""
    found = store.exchanges.get_exchange(conn, exchange_id)
    if found is None:
        raise LookupError(f"exchange {exchange_id} is gone (deleted meanwhile?): reload the page")
    return found
