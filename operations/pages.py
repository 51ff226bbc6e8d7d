"""Read models of the HTML pages and the event stream's snapshot: what each page shows, read in one place."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import store.clips
import store.exchanges
import store.speakers
import store.steps
import store.videos
from operations import presenters, status_words
from operations.status_words import standings
from operations.step_service import StepService
from operations.steps import ACTIVE, QUEUED, queue_positions, step_event
from operations.unit_of_work import UnitOfWork, connect
from pipeline.redact import redact_url
from store.engine import StoreSettings
from store.records import ErrorRecord, PersonRecord, StepRecord, VideoRecord

MAX_ACTIVE_IN_SUMMARY = 500
Scope = frozenset[int] | None


# ---- the event stream's snapshot ---------------------------------------------------------------


def snapshot(uow: UnitOfWork, scope: Scope) -> dict[str, Any]:
    """The current truth for a page: the scoped videos with every step, or a summary of all videos."""
    conn = uow.conn
    if scope is None:
        active = store.steps.steps_in_states(conn, ACTIVE)[:MAX_ACTIVE_IN_SUMMARY]
        videos = [store.videos.get_video(conn, video_id) for video_id in {step.video_id for step in active}]
        where = standings(conn, [video for video in videos if video is not None])
        events = [step_event(step, where.get(step.video_id)) for step in active]
        ahead = queue_positions(step for step in active if step.state == QUEUED)
        return {
            "type": "snapshot",
            "total": store.videos.count_videos(conn),
            "active": events,
            "ahead": ahead,
            "error_count": store.steps.count_errors(conn),
        }
    found = [video for video in (store.videos.get_video(conn, video_id) for video_id in sorted(scope)) if video]
    described = presenters.describe_many(conn, found)
    exchange_ids = [row.id for video in found for row in store.exchanges.list_exchanges(conn, video.id)]
    return {
        "type": "snapshot",
        "videos": described,
        "missing": sorted(scope - {video.id for video in found}),
        "exchange_steps": [step_event(step) for step in store.steps.exchange_steps(conn, exchange_ids)],
        "ahead": queue_positions(store.steps.steps_in_states(conn, [QUEUED])),
        "error_count": store.steps.count_errors(conn),
    }


def snapshot_on_own_connection(settings: StoreSettings, scope: Scope) -> dict[str, Any]:
    """A snapshot read on a short-lived connection, so an open event stream holds no database connection."""
    conn = connect(settings)
    try:
        return snapshot(UnitOfWork(conn, StepService(conn)), scope)
    finally:
        conn.close()


# ---- the pages ---------------------------------------------------------------------------------


def error_count(uow: UnitOfWork) -> int:
    """Steps in error: the badge on every page's navbar."""
    return store.steps.count_errors(uow.conn)


def video_count(uow: UnitOfWork) -> int:
    return store.videos.count_videos(uow.conn)


def videos_page(uow: UnitOfWork, limit: int, offset: int) -> list[dict[str, Any]]:
    """One page of the dashboard's jobs table, newest first, each video with its steps."""
    return presenters.describe_many(uow.conn, store.videos.list_videos(uow.conn, limit=limit, offset=offset))


def video_steps(uow: UnitOfWork, video_id: int) -> list[StepRecord]:
    return store.steps.steps_of(uow.conn, [video_id])


def describe_video(uow: UnitOfWork, video: VideoRecord, video_steps: list[StepRecord]) -> dict[str, Any]:
    """The video as its page's panel shows it, with where its next step stands in line."""
    standing = status_words.standings(uow.conn, [video], {video.id: video_steps})[video.id]
    return presenters.describe(video, video_steps, standing)


def clip_groups(uow: UnitOfWork, described: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each exchange with its clips; a sentence clipped from a search shows from the start: it is listed
    nowhere else on the page."""
    groups: list[dict[str, Any]] = [
        {"exchange": exchange, "clips": store.clips.list_clips(uow.conn, exchange["id"])} for exchange in described
    ]
    return [group for group in groups if group["clips"] or group["exchange"]["from_search"]]


def videos_with_clips(uow: UnitOfWork) -> list[VideoRecord]:
    return store.clips.videos_with_clips(uow.conn)


def people(uow: UnitOfWork) -> list[PersonRecord]:
    return store.speakers.list_people(uow.conn)


def videos_of_person(uow: UnitOfWork, person_id: int) -> list[VideoRecord | None]:
    """The videos a person of the speaker library speaks in."""
    ids = store.speakers.videos_of_person(uow.conn, person_id)
    return [store.videos.get_video(uow.conn, video_id) for video_id in ids]


def recent_videos(uow: UnitOfWork, limit: int) -> list[VideoRecord]:
    """The newest videos, for the Search page's filter."""
    return store.videos.list_videos(uow.conn, limit=limit)


def error_log(uow: UnitOfWork, limit: int) -> list[ErrorRecord]:
    """The steps in error, newest first, their links without the credentials they may carry."""
    return [replace(row, video_url=redact_url(row.video_url)) for row in store.steps.error_steps(uow.conn, limit=limit)]
