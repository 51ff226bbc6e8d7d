"""What every step task shares: claim the step, report progress, record the outcome, continue.

A task body is a function `work(ctx)` that calls one pipeline function from `pipeline/`. `run_step`
turns every way it can end (success, a StepError, a time limit, a bug, the step deleted meanwhile)
into a recorded state, so no step is left `running` by a task that returned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

import store.engine
import store.exchanges
import store.videos
from config import Settings
from operations.steps import StepService
from pipeline.errors import StepError
from pipeline.gpu import DeviceUse
from store import layout
from store.engine import Database
from store.records import StepRecord, VideoRecord
from tasks import build_step_service

log = logging.getLogger(__name__)

PROGRESS_MIN_INTERVAL = 0.5  # seconds between progress writes, so a chatty hook cannot flood the database
PROGRESS_MIN_STEP = 0.05


class StepCancelled(Exception):
    """The step was deleted or re-queued while this task ran; stop quietly."""


def current_settings() -> Settings:
    return current_app.config["SETTINGS"]


@dataclass
class StepContext:
    settings: Settings
    conn: Database
    service: StepService
    step: StepRecord
    video: VideoRecord
    _last_time: float = field(default=0.0)
    _last_fraction: float = field(default=0.0)

    @property
    def video_id(self) -> int:
        return self.video.id

    def progress(self, fraction: float) -> None:
        """Throttled progress; raises StepCancelled when the step is gone, which stops the work."""
        now = time.monotonic()
        if now - self._last_time < PROGRESS_MIN_INTERVAL and fraction - self._last_fraction < PROGRESS_MIN_STEP:
            return
        self._last_time, self._last_fraction = now, fraction
        if not self.service.progress(self.step.id, fraction, self.step.task_id):
            raise StepCancelled()

    def fail(self, message: str) -> None:
        self.service.fail(self.step.id, message, self.step.task_id)

    def ran_on(self, use: DeviceUse) -> None:
        """Show where the step's model runs ("on CUDA"); after a CUDA failure, why it runs on the CPU."""
        if use.fallback:
            log.warning("video %s: %s %s", self.video_id, self.step.name, use.note)
        if not self.service.note(self.step.id, use.note, self.step.task_id):
            raise StepCancelled()

    def publish(self, event: dict[str, Any]) -> None:
        self.service.publish(event)

    def publish_video(self) -> None:
        self.publish({"type": "video", "video_id": self.video_id})


def run_step(
    task: Task,
    step_id: int,
    work: Callable[[StepContext], None],
    after_done: Callable[[StepContext], None] | None = None,
) -> None:
    """Run `work` for the step; `after_done` runs once the step is recorded done (e.g. alignment)."""
    settings = current_settings()
    conn = store.engine.connect_to(settings)
    try:
        service = build_step_service(conn, task.app, settings)
        step = service.begin(step_id, task.request.id)
        if step is None:
            log.info("step %s: not queued for task %s any more; skipping", step_id, task.request.id)
            return
        video = store.videos.get_video(conn, step.video_id)
        ctx = StepContext(settings, conn, service, step, video)
        log.info("video %s: %s started (attempt %d)", ctx.video_id, step.name, step.attempts)
        if _run_work(ctx, work):
            _finish(ctx, after_done)
        _remove_files_if_deleted(ctx)
    finally:
        conn.close()


def _remove_files_if_deleted(ctx: StepContext) -> None:
    """A video deleted while its task ran: remove whatever the task wrote after the deletion."""
    if store.videos.get_video(ctx.conn, ctx.video_id) is None:
        log.info("video %s: deleted while %s ran; removing its files", ctx.video_id, ctx.step.name)
        layout.remove_video_files(ctx.video_id, [ctx.settings.download_dir, ctx.settings.processed_clips_dir])


def _run_work(ctx: StepContext, work: Callable[[StepContext], None]) -> bool:
    name = ctx.step.name
    try:
        work(ctx)
        return True
    except StepCancelled:
        log.info("video %s: %s cancelled (deleted or re-queued)", ctx.video_id, name)
    except SoftTimeLimitExceeded:
        limit = ctx.settings.time_limit(name)
        ctx.fail(f"{name} took longer than its limit of {limit} s: raise STEP_TIME_LIMITS and retry")
        log.warning("video %s: %s hit its time limit", ctx.video_id, name)
    except StepError as error:
        ctx.fail(str(error))
        log.warning("video %s: %s failed: %s", ctx.video_id, name, error)
    except Exception as error:
        log.exception("video %s: %s failed unexpectedly", ctx.video_id, name)
        ctx.fail(f"{name} failed unexpectedly ({error.__class__.__name__}: {error}); see the worker log")
    return False


def _continues(conn: Database, done: StepRecord) -> bool:
    """Auto mode runs phase 1 through; phase 2 goes on when clips were wanted or "process all" was asked."""
    video = store.videos.get_video(conn, done.video_id)
    if video is None or (not video.auto and done.exchange_id is None):
        return False
    if done.exchange_id is None:
        return True
    exchange = store.exchanges.get_exchange(conn, done.exchange_id)
    return bool(exchange and (exchange.chain or video.clips))


def _finish(ctx: StepContext, after_done: Callable[[StepContext], None] | None) -> None:
    done = ctx.service.finish(ctx.step.id, ctx.step.task_id)
    if done is None:
        return
    log.info("video %s: %s done", ctx.video_id, done.name)
    if after_done is not None:
        try:
            after_done(ctx)
        except Exception:  # the step itself succeeded; the follow-up is redone by the next step anyway
            log.exception("video %s: follow-up of %s failed", ctx.video_id, done.name)
    if _continues(ctx.conn, done):
        ctx.service.queue_ready_dependents(done)
