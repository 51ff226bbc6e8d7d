"""The context a Q&A step's body is given, for tests that run a phase-2 step body without Celery: the real
store, the real unit of work, and a step service whose events go nowhere."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import store.videos
from config import Settings
from operations.step_service import StepService
from operations.unit_of_work import UnitOfWork
from store.engine import Database


def clip_step_context(
    settings: Settings,
    conn: Database,
    video_id: int,
    exchange_id: int,
    progress: Callable[[float], None] = lambda fraction: None,
) -> SimpleNamespace:
    """What `tasks.base.StepContext` gives `tasks/clip_steps` bodies, read fresh from the store."""
    return SimpleNamespace(
        settings=settings,
        conn=conn,
        step=SimpleNamespace(exchange_id=exchange_id),
        video=store.videos.get_video(conn, video_id),
        video_id=video_id,
        uow=UnitOfWork(conn, StepService(conn, publish=lambda event: None)),
        progress=progress,
    )
