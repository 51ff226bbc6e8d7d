"""`StepService`: every change of a step's state, applying the rules of `steps` to one connection, writing the
database first (the source of truth) and then publishing an event; Celery is reached only through `enqueue`."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

import store.clips
import store.engine
import store.exchanges
import store.steps
import store.videos
from operations.status_words import standings
from operations.steps import (
    ACTIVE,
    DONE,
    ERROR,
    PENDING,
    PHASE2_NEEDS_FROM_PHASE1,
    QUEUED,
    RUNNING,
    STALE,
    STEP,
    Enqueue,
    Publish,
    QueueUnavailable,
    StepBlocked,
    StepNotFound,
    dependents,
    errors_event,
    log,
    prerequisites,
    queue_event,
    requirements,
    step_event,
)
from operations.time_left import PACE_FROM, learned_speeds
from store.engine import Database
from store.records import StepRecord


class StepService:
    """Applies the step rules to one database connection."""

    def __init__(self, conn: Database, publish: Publish | None = None, enqueue: Enqueue | None = None):
        self.conn = conn
        self.publish = publish or (lambda event: None)
        self.enqueue = enqueue
        self._speeds: dict[str, float] | None = None  # this install's step speeds, learned when first needed
        self._paced_from: dict[int, tuple[float, float]] = {}  # step id → (elapsed, fraction) as it began to move

    # ---- triggering --------------------------------------------------------------------------

    def request(self, video_id: int, name: str, exchange_id: int | None = None) -> StepRecord:
        """Queue a step, or return the run already queued or running (a duplicate collapses)."""
        prerequisites(name, exchange_id)  # an unknown name, or one of the other phase, is refused
        with store.engine.transaction(self.conn):
            step = store.steps.find_step(self.conn, video_id, name, exchange_id)
            if step is None:
                raise StepNotFound(f"no step {name!r} for video {video_id}")
            if step.state in ACTIVE:
                return step
            self._check_prerequisites(video_id, name, exchange_id)
            retried = step.state == ERROR
            task_id = str(uuid.uuid4())
            store.steps.update_step(
                self.conn,
                step.id,
                state=QUEUED,
                progress=0.0,
                error=None,
                task_id=task_id,
                queued_at=store.engine.now(),
                started_at=None,
                finished_at=None,
                note=None,
            )
            staled = self._mark_dependents_stale(video_id, name, exchange_id)
        self._send(self._reread(step.id))  # first: a broker that is down must answer fast
        self.announce_queue()
        if retried:
            self.announce_errors()
        for changed in [step.id, *staled]:
            self._publish(changed)
        return self._reread(step.id)

    def check_ready(self, video_id: int, name: str, exchange_id: int | None = None) -> None:
        """Raise StepBlocked when `name` could not be queued now (its inputs are not done)."""
        step = store.steps.find_step(self.conn, video_id, name, exchange_id)
        if step is None:
            raise StepNotFound(f"no step {name!r} for video {video_id}")
        if step.state not in ACTIVE:
            prerequisites(name, exchange_id)  # an unknown name, or one of the other phase, is refused
            self._check_prerequisites(video_id, name, exchange_id)

    def check_phase2_ready(self, video_id: int) -> None:
        """Raise StepBlocked unless the video's transcript and speakers are done (before making exchanges)."""
        self._require(video_id, "processing an exchange", [(need, None) for need in PHASE2_NEEDS_FROM_PHASE1])

    def _check_prerequisites(self, video_id: int, name: str, exchange_id: int | None) -> None:
        required = [(need, None if phase == 1 else exchange_id) for need, phase in requirements(name)]
        self._require(video_id, name, required)

    def _state(self, video_id: int, name: str, exchange_id: int | None) -> str:
        step = store.steps.find_step(self.conn, video_id, name, exchange_id)
        return step.state if step else PENDING

    def _require(self, video_id: int, name: str, required: list[tuple[str, int | None]]) -> None:
        waiting = []
        for need, scope in required:
            state = self._state(video_id, need, scope)
            if state != DONE:
                waiting.append(f"{need} is {state}")
        if waiting:
            raise StepBlocked(f"{name} cannot run yet: {'; '.join(waiting)}. Run those first.")

    def _mark_dependents_stale(self, video_id: int, name: str, exchange_id: int | None) -> list[int]:
        staled = []
        for dependent in dependents(name, exchange_id):
            other = store.steps.find_step(self.conn, video_id, dependent, exchange_id)
            if other and other.state == DONE:
                store.steps.update_step(self.conn, other.id, state=STALE)
                staled.append(other.id)
        return staled

    def _send(self, step: StepRecord) -> None:
        if self.enqueue is None:
            return
        try:
            self.enqueue(step)
        except Exception as error:  # the broker's many exception types all mean the same here
            log.warning("video %s: could not enqueue %s: %s", step.video_id, step.name, error)
            message = "queue unavailable: the task broker (Redis) did not accept the job; retry when it is back"
            self.fail(step.id, message)
            raise QueueUnavailable(message) from error

    def cancel(self, video_id: int, name: str, exchange_id: int | None = None) -> tuple[StepRecord, str | None]:
        """Stop a queued or running step: it goes back to pending (its task may write nothing more, since
        the task id no longer matches) and the caller revokes the task, returned with the step."""
        prerequisites(name, exchange_id)  # an unknown name, or one of the other phase, is refused
        with store.engine.transaction(self.conn):
            step = store.steps.find_step(self.conn, video_id, name, exchange_id)
            if step is None:
                raise StepNotFound(f"no step {name!r} for video {video_id}")
            if step.state not in ACTIVE:
                raise StepBlocked(f"{STEP[name].title} is {step.state}, not queued or running: nothing to cancel")
            store.steps.update_step(
                self.conn,
                step.id,
                state=PENDING,
                progress=0.0,
                attempts=0,
                task_id=None,
                error=None,
                queued_at=None,
                started_at=None,
                finished_at=None,
                note=None,
            )
        if step.state == QUEUED:
            self.announce_queue()
        cancelled = self._reread(step.id)
        self.announce(cancelled)
        return cancelled, step.task_id

    def mark_exchange_changed(self, video_id: int, exchange_id: int, only_cut: bool = False) -> list[int]:
        """An exchange's bounds (or, with `only_cut`, its clips' shape) changed: its finished phase-2 steps
        (or only cut_clips) no longer match it (stale). Refused while one of them is under way. Call
        inside a transaction; announce the returned ids after."""
        own = [
            step
            for step in store.steps.exchange_steps(self.conn, [exchange_id])
            if not only_cut or step.name == "cut_clips"
        ]
        busy = [STEP[step.name].title for step in own if step.state in ACTIVE]
        if busy:
            raise StepBlocked(f"{', '.join(busy)} is under way for this Q&A: wait for it, or cancel it first")
        staled = [step.id for step in own if step.state == DONE]
        for step_id in staled:
            store.steps.update_step(self.conn, step_id, state=STALE)
        return staled

    def announce_ids(self, step_ids: list[int]) -> None:
        for step_id in step_ids:
            self._publish(step_id)

    def record_done(self, step_id: int) -> None:
        """A step whose work happened outside any task (an upload is its own download); written in the
        caller's transaction, announced by the caller once it commits."""
        now = store.engine.now()
        store.steps.update_step(
            self.conn,
            step_id,
            state=DONE,
            progress=1.0,
            attempts=1,
            error=None,
            task_id=None,
            queued_at=now,
            started_at=now,
            finished_at=now,
        )

    # ---- running (called by tasks) -----------------------------------------------------------

    def begin(self, step_id: int, task_id: str) -> StepRecord | None:
        """Mark a step running for this task; None when the step was deleted, re-queued or cancelled."""
        with store.engine.transaction(self.conn):
            step = store.steps.get_step(self.conn, step_id)
            if step is None or step.task_id != task_id or step.state not in ACTIVE:
                return None
            store.steps.update_step(
                self.conn,
                step_id,
                state=RUNNING,
                attempts=step.attempts + 1,
                progress=0.0,
                started_at=store.engine.now(),
                finished_at=None,
                error=None,
                note=None,
            )
        self._paced_from.pop(step_id, None)
        self.announce_queue()  # everything behind it moved up
        return self._publish(step_id)

    # A task passes its own task id to the three calls below, so a task whose step was deleted or
    # handed to another task meanwhile can no longer change it.

    def progress(self, step_id: int, fraction: float, task_id: str | None = None) -> bool:
        """Record progress; False when the step is no longer this task's running step."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        if not store.steps.update_step(
            self.conn, step_id, where_states=[RUNNING], task_id_is=task_id, progress=fraction
        ):
            return False
        self._publish(step_id)
        return True

    def note(self, step_id: int, note: str, task_id: str | None = None) -> bool:
        """Record the running step's note (where its model runs); False when the step is no longer this
        task's running step."""
        if not store.steps.update_step(self.conn, step_id, where_states=[RUNNING], task_id_is=task_id, note=note):
            return False
        self._publish(step_id)
        return True

    def finish(self, step_id: int, task_id: str | None = None) -> StepRecord | None:
        done = store.steps.update_step(
            self.conn,
            step_id,
            where_states=[RUNNING],
            task_id_is=task_id,
            state=DONE,
            progress=1.0,
            error=None,
            finished_at=store.engine.now(),
        )
        return self._publish(step_id) if done else None

    def fail(self, step_id: int, message: str, task_id: str | None = None) -> StepRecord | None:
        failed = store.steps.update_step(
            self.conn, step_id, task_id_is=task_id, state=ERROR, error=message, finished_at=store.engine.now()
        )
        if not failed:
            return None
        self.announce_errors()
        return self._publish(step_id)

    def recover(
        self, live_task_ids: set[str], suspects: dict[int, str | None], max_attempts: int
    ) -> dict[int, str | None]:
        """Re-queue queued or running steps whose task is nowhere (lost with a dead worker or broker).

        A step must look orphaned on two passes in a row (`suspects` carries the first sighting) so a
        task caught between queue and worker is not mistaken for a lost one. Returns the new suspects.
        """
        orphans = [step for step in store.steps.steps_in_states(self.conn, ACTIVE) if step.task_id not in live_task_ids]
        still = {step.id: step.task_id for step in orphans}
        for step in orphans:
            if suspects.get(step.id) != step.task_id:
                continue
            del still[step.id]
            if step.attempts >= max_attempts:
                message = f"worker lost: {step.name} was interrupted {step.attempts} times; retry it"
                self.fail(step.id, message, step.task_id)
                continue
            log.warning("video %s: %s lost its task; queueing it again", step.video_id, step.name)
            self._requeue(step)
        return still

    def _requeue(self, step: StepRecord) -> None:
        task_id = str(uuid.uuid4())
        if not store.steps.update_step(
            self.conn,
            step.id,
            where_states=ACTIVE,
            task_id_is=step.task_id,
            state=QUEUED,
            task_id=task_id,
            queued_at=store.engine.now(),
        ):
            return
        self.announce_queue()
        self._publish(step.id)
        with contextlib.suppress(QueueUnavailable):  # _send records it on the step
            self._send(self._reread(step.id))

    def ready_dependents(self, step: StepRecord) -> list[str]:
        """Dependents of a finished step whose prerequisites are now all done and that need a run."""
        ready = []
        video_id, exchange_id = step.video_id, step.exchange_id
        for dependent in dependents(step.name, exchange_id):
            if step.name not in prerequisites(dependent, exchange_id):
                continue
            other = store.steps.find_step(self.conn, video_id, dependent, exchange_id)
            needs_done = all(
                self._state(video_id, need, exchange_id) == DONE for need in prerequisites(dependent, exchange_id)
            )
            wanted = (PENDING, STALE) if not STEP[dependent].optional else (STALE,)
            if other and other.state in wanted and needs_done:
                ready.append(dependent)
        return ready

    def queue_ready_dependents(self, done: StepRecord) -> tuple[list[str], str | None]:
        """Queue what a finished step unblocked (auto mode); returns the names queued and the last refusal."""
        queued, refusal = [], None
        for name in self.ready_dependents(done):
            try:
                self.request(done.video_id, name, done.exchange_id)
                queued.append(name)
            except (StepBlocked, QueueUnavailable) as error:  # recorded on that step, or shown by the caller
                log.warning("video %s: could not queue %s: %s", done.video_id, name, error)
                refusal = str(error)
        return queued, refusal

    def announce(self, step: StepRecord) -> None:
        """Tell the pages about a step as it is now, and where its video stands."""
        video = store.videos.get_video(self.conn, step.video_id)
        if video is None:
            self.publish(step_event(step))
            return
        if step.state == RUNNING and step.exchange_id is None:
            self._note_pace(step)
            self._speeds = self._speeds if self._speeds is not None else learned_speeds(self.conn)
        where = standings(self.conn, [video], speeds=self._speeds, paced_from=self._paced_from)
        self.publish(step_event(step, where.get(video.id)))

    def _note_pace(self, step: StepRecord) -> None:
        """Remember when a running step's progress first reached PACE_FROM: its pace is measured from there."""
        if step.id in self._paced_from or step.progress < PACE_FROM or not step.started_at:
            return
        elapsed = (datetime.fromisoformat(store.engine.now()) - datetime.fromisoformat(step.started_at)).total_seconds()
        self._paced_from[step.id] = (max(elapsed, 0.0), step.progress)

    def announce_queue(self) -> None:
        """Tell the pages where each waiting step now stands in line (a step joined, left or started)."""
        self.publish(queue_event(self.conn))

    def announce_errors(self) -> None:
        """Tell every page how many steps are in error now (a step failed, was retried or deleted)."""
        self.publish(errors_event(self.conn))

    def _reread(self, step_id: int) -> StepRecord:
        """The step as just written; one deleted meanwhile (its video removed) is not found."""
        step = store.steps.get_step(self.conn, step_id)
        if step is None:
            raise StepNotFound(f"step {step_id} no longer exists: its video or Q&A was deleted")
        return step

    def _publish(self, step_id: int) -> StepRecord | None:
        step = store.steps.get_step(self.conn, step_id)
        if step is not None:
            self.announce(step)
        return step
