"""What the pages say about steps and videos: the badge's words ("transcribing · finding speakers",
"Q&A 2 of 5 cut"), each step's button ("Run", "Retry", "Re-run") and why it waits. The rules are in `steps`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import store.clips
import store.engine
import store.exchanges
import store.steps
import store.videos
from operations.steps import (
    ACTIVE,
    DONE,
    ERROR,
    PENDING,
    PHASE1_STEPS,
    PHASE2_NEEDS_FROM_PHASE1,
    PHASE2_STEPS,
    QUEUED,
    RUNNING,
    STALE,
    STEP,
    asked,
    group_by_video,
    requirements,
    video_status,
)
from operations.time_left import learned_speeds, step_seconds_left
from store.engine import Database
from store.records import ExchangeRecord, StepRecord, VideoRecord

# What a video is doing while a phase-1 step runs, for its status: "transcribing · finding speakers".
DOING = {
    "download": "downloading",
    "audio": "extracting audio",
    "transcribe": "transcribing",
    "diarize": "finding speakers",
    "exchanges": "finding Q&A",
    "translate": "translating",
}


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
