"""Limits that hold for every way media comes in and every step that writes files.

`duration_refusal` (MAX_VIDEO_DURATION_SECONDS) is asked of downloads and uploads alike;
`check_free_space` (MIN_FREE_DISK_MB) before a download, an upload, audio extraction and cutting.
A refusal names the limit and the setting that moves it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from utils.pipeline.errors import StepError

WAV_BYTES_PER_SECOND = 16_000 * 2  # the 16 kHz mono 16-bit audio every model reads


class LimitExceeded(StepError):
    """Media or the disk is over a configured limit; the message names the setting."""


class DiskFull(LimitExceeded):
    """Writing would leave less free disk than MIN_FREE_DISK_MB."""


def duration_refusal(duration: float | None, max_seconds: float) -> str | None:
    if max_seconds and duration and duration > max_seconds:
        return (
            f"video is {duration / 60:.0f} min long, over MAX_VIDEO_DURATION_SECONDS={max_seconds:.0f}: "
            "raise the limit to process it"
        )
    return None


def check_duration(duration: float | None, max_seconds: float) -> None:
    reason = duration_refusal(duration, max_seconds)
    if reason:
        raise LimitExceeded(reason)


def check_free_space(folder: Path, min_free_bytes: int, needed_bytes: int = 0) -> None:
    """Refuse to write `needed_bytes` into `folder` when that would leave under `min_free_bytes` free."""
    existing = next((parent for parent in (folder, *folder.parents) if parent.exists()), Path("/"))
    free = shutil.disk_usage(existing).free
    if free - needed_bytes < min_free_bytes:
        need = f" ({needed_bytes / 2**20:.0f} MB needed)" if needed_bytes else ""
        raise DiskFull(
            f"only {free / 2**20:.0f} MB free on the disk holding {existing}{need}, under MIN_FREE_DISK_MB="
            f"{min_free_bytes / 2**20:.0f}: free some space, then retry"
        )
