"""How many threads a compute step may use right now: its share of the cores while the other compute slot
works beside it, every core the machine leaves idle once that slot is done.

Transcribe and diarize start together, each on its share (`tasks/options.compute_threads`); transcribe
usually ends first, and diarize would finish its longest stage on half the machine. A step that can
change its threads between batches (torch can) asks `CoreShare.threads()` before each one.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

STAT = "/proc/stat"
SAMPLE_SECONDS = 0.5  # how often the machine's idle time is read: shorter samples are noise
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_idle_seconds() -> float | None:
    """Seconds of idle CPU time, summed over the machine's cores since boot; None off Linux."""
    try:
        with open(STAT) as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 6:
        return None
    return (int(fields[4]) + int(fields[5])) / _TICKS  # idle + iowait


class CoreShare:
    """Threads for this process: at least `share`, at most the cores it may run on, and as many as the
    machine has free beside what other processes use. `apply(threads)` is called when the number changes."""

    def __init__(
        self,
        share: int,
        apply: Callable[[int], None],
        cores: int | None = None,
        idle_seconds: Callable[[], float | None] = machine_idle_seconds,
        clock: Callable[[], float] = time.monotonic,
        own_seconds: Callable[[], float] = time.process_time,
    ) -> None:
        self.cores = cores or len(os.sched_getaffinity(0))
        self.share = max(1, min(share, self.cores))
        self.current = self.share
        self._apply, self._idle, self._clock, self._own = apply, idle_seconds, clock, own_seconds
        self._last = self._sample()

    def _sample(self) -> tuple[float, float, float] | None:
        idle = self._idle()
        return None if idle is None else (self._clock(), idle, self._own())

    def threads(self) -> int:
        """Re-read the machine at most every SAMPLE_SECONDS; apply and return the threads to use now."""
        if self._last is None:
            return self.current
        now = self._sample()
        if now is None or now[0] - self._last[0] < SAMPLE_SECONDS:
            return self.current
        wall, idle, own = (b - a for a, b in zip(self._last, now, strict=True))
        self._last = now
        free = (idle + own) / wall  # the cores this process keeps busy, and those nothing uses
        wanted = max(self.share, min(self.cores, round(free)))
        if wanted != self.current:
            log.info("threads: %d → %d (%.1f cores free for this step, of %d)", self.current, wanted, free, self.cores)
            self.current = wanted
            self._apply(wanted)
        return wanted
