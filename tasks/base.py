"""What every step task shares: claim the step, report progress, record the outcome, continue.

A task body is a function `work(ctx)` that calls one pipeline function from `pipeline/`. `run_step`
turns every way it can end (success, a StepError, a time limit, a bug, the step deleted meanwhile)
into a recorded state, so no step is left `running` by a task that returned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

import operations.lookup
import operations.videos
from config import Settings
from operations.step_service import StepService
from operations.unit_of_work import Database, UnitOfWork, connect
from pipeline.errors import StepError
from pipeline.gpu import DeviceUse
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
    """What a task body works with: its settings, its step and video, and one unit of work for the task."""

    settings: Settings
    conn: Database
    service: StepService
    step: StepRecord
    video: VideoRecord
    _last_time: float = field(default=0.0)
    _last_fraction: float = field(default=0.0)
    given_uow: InitVar[UnitOfWork | None] = None
    uow: UnitOfWork = field(init=False, repr=False)

    def __post_init__(self, given_uow: UnitOfWork | None) -> None:
        # One per context: changes collected inside a transaction are published by the unit that opened it.
        self.uow = given_uow or UnitOfWork(self.conn, self.service)

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


def run_step(
    task: Task,
    step_id: int,
    work: Callable[[StepContext], None],
    after_done: Callable[[StepContext], None] | None = None,
) -> None:
    """Run `work` for the step; `after_done` runs once the step is recorded done (e.g. alignment)."""
    settings = current_settings()
    conn = connect(settings)
    try:
        service = build_step_service(conn, task.app, settings)
        uow = UnitOfWork(conn, service)
        step = uow.steps.begin(step_id, task.request.id)
        if step is None:
            log.info("step %s: not queued for task %s any more; skipping", step_id, task.request.id)
            return
        video = operations.lookup.video(uow, step.video_id)
        if video is None:  # deleted just after the step began (its steps went with it): nothing to do
            log.info("video %s: deleted before %s could start; skipping", step.video_id, step.name)
            return
        ctx = StepContext(settings, conn, service, step, video, given_uow=uow)
        log.info("video %s: %s started (attempt %d)", ctx.video_id, step.name, step.attempts)
        if _run_work(ctx, work):
            _finish(ctx, after_done)
        _remove_files_if_deleted(ctx)
    finally:
        conn.close()


def _remove_files_if_deleted(ctx: StepContext) -> None:
    """A video deleted while its task ran: remove whatever the task wrote after the deletion."""
    folders = [ctx.settings.download_dir, ctx.settings.processed_clips_dir]
    if operations.videos.remove_files_if_deleted(ctx.uow, ctx.video_id, folders):
        log.info("video %s: deleted while %s ran; its files removed", ctx.video_id, ctx.step.name)


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


def _finish(ctx: StepContext, after_done: Callable[[StepContext], None] | None) -> None:
    done = ctx.uow.steps.finish(ctx.step.id, ctx.step.task_id)
    if done is None:
        return
    log.info("video %s: %s done", ctx.video_id, done.name)
    if after_done is not None:
        try:
            after_done(ctx)
        except Exception:  # the step itself succeeded; the follow-up is redone by the next step anyway
            log.exception("video %s: follow-up of %s failed", ctx.video_id, done.name)
    operations.videos.continue_after(ctx.uow, done)
