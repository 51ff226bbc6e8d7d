"""Step rules: what each step needs, which queue runs it, and how its state may change.

States: pending (never run), queued, running (progress 0..1), done, error, stale (an upstream step
was re-run after this one finished). Every state change goes through `step_service.StepService`; what the
pages say about a step is in `status_words`, how long it has left in `time_left`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import store.clips
import store.engine
import store.exchanges
import store.steps
import store.videos
from pipeline.gpu import is_fallback_note
from store.engine import Database
from store.records import StepRecord

if TYPE_CHECKING:
    from operations.status_words import Standing


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
    StepDefinition("label_speakers", 2, (), IO_QUEUE, "Label speakers", "bi-person-badge", 0.05),
    StepDefinition("define_clips", 2, ("label_speakers",), IO_QUEUE, "Define clips", "bi-list-task", 0.05),
    StepDefinition("cut_clips", 2, ("define_clips",), IO_QUEUE, "Cut clips", "bi-scissors", 0.90),
)
STEP: dict[str, StepDefinition] = {definition.name: definition for definition in REGISTRY}

PHASE1_STEPS = tuple(d.name for d in REGISTRY if d.phase == 1)
PHASE2_STEPS = tuple(d.name for d in REGISTRY if d.phase == 2)
PHASE1_PREREQUISITES: dict[str, tuple[str, ...]] = {d.name: d.needs for d in REGISTRY if d.phase == 1}
PHASE2_PREREQUISITES: dict[str, tuple[str, ...]] = {d.name: d.needs for d in REGISTRY if d.phase == 2}
# Phase 2 reads the speaker-labelled transcript, so its first step also needs these phase-1 steps.
PHASE2_NEEDS_FROM_PHASE1 = ("transcribe", "diarize")

Event = dict[str, Any]
Publish = Callable[[Event], object]  # an event stream may return the entry's id
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


def asked(video_steps: Iterable[StepRecord]) -> list[StepRecord]:
    """The steps that count for a video's status and progress: an optional step only once asked for."""
    return [step for step in video_steps if not (step.state == PENDING and _optional(getattr(step, "name", "")))]


def _optional(name: str) -> bool:
    return name in STEP and STEP[name].optional
