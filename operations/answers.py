"""A person's answers across the library, as the person's page and the API list them."""

from __future__ import annotations

from typing import Any

import store.clips
import store.speakers
import store.steps
import store.videos
from operations import lookup, presenters
from operations.unit_of_work import UnitOfWork
from store.records import ExchangeRecord


def describe_answers(uow: UnitOfWork, person_id: int) -> list[dict[str, Any]]:
    """A person's answers across videos: each exchange as the details page shows it, with its video, the
    asker's name and the whole-exchange clip once cut."""
    conn = uow.conn
    answers = store.speakers.answers_of_person(conn, person_id)
    by_video: dict[int, list[ExchangeRecord]] = {}
    for exchange in answers:
        by_video.setdefault(exchange.video_id, []).append(exchange)
    described = []
    for video_id, exchanges in by_video.items():
        video = lookup.existing_video(conn, video_id)
        names = presenters.speaker_names(store.speakers.get_speakers(conn, video_id))
        rows = presenters.describe_exchanges(
            exchanges,
            store.steps.exchange_steps(conn, [e.id for e in exchanges]),
            store.steps.steps_of(conn, [video_id]),
        )
        for exchange, row in zip(exchanges, rows, strict=True):
            whole = next((clip for clip in store.clips.list_clips(conn, exchange.id) if clip.kind == "exchange"), None)
            described.append(
                {
                    **row,
                    "video_id": video_id,
                    "video_title": video.title,
                    "asker_name": names.get(exchange.asker or "", exchange.asker),
                    "answerer_name": names.get(exchange.answerer or "", exchange.answerer),
                    "clip_id": whole.id if whole and whole.path else None,
                }
            )
    return described
