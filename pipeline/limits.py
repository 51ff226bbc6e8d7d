"""Limits that hold for every way media comes in and every step that writes files.

`MAX_VIDEO_DURATION_SECONDS` is asked of downloads and uploads alike (`check_media_duration`), and of what
the audio step actually decodes (`check_decoded_duration`); `check_free_space` (MIN_FREE_DISK_MB) before a
download, an upload, audio extraction and cutting. A refusal names the limit and the setting that moves it.

A container's header is the sender's word: a WebM written to a pipe has no duration, an MP4's can say one
tick, either can say 10 minutes for 4 hours. Uploads and downloads measure a length the header does not give
plausibly; a plausible one is believed at the door, because the audio step decodes no further than just past
the limit and refuses what it decoded past it, whatever any header said.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from pipeline import media
from pipeline.errors import StepError

WAV_BYTES_PER_SECOND = 16_000 * 2  # the 16 kHz mono 16-bit audio every model reads
DECODE_PAST_LIMIT_SECONDS = 1.0  # decoding stops this far past the limit: far enough to see a file is over it
DECODED_SLACK_SECONDS = 0.5  # codec padding: a file of exactly the limit may decode a few milliseconds longer
# A header's duration is believed from a second on, and while the file is not denser than this (400 Mbit/s,
# above any camera or site): 0, none, or one tick of a 40 MB file are no length at all.
MIN_HEADER_SECONDS = 1.0
MAX_HEADER_BYTES_PER_SECOND = 50 * 2**20


class LimitExceeded(StepError):
    """Media or the disk is over a configured limit; the message names the setting."""


class DiskFull(LimitExceeded):
    """Writing would leave less free disk than MIN_FREE_DISK_MB."""


def duration_refusal(duration: float | None, max_seconds: float) -> str | None:
    """Why a length someone states (a site, a header) is refused; None when it passes or is not stated
    (None or 0: unknown, for the caller to measure, as `check_media_duration` does)."""
    if max_seconds and duration and duration > max_seconds:
        return (
            f"video is {_length(duration)} long, over MAX_VIDEO_DURATION_SECONDS={max_seconds:.0f}: "
            "raise the limit to process it"
        )
    return None


def _length(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def check_duration(duration: float | None, max_seconds: float) -> None:
    reason = duration_refusal(duration, max_seconds)
    if reason:
        raise LimitExceeded(reason)


def plausible_duration(duration: float | None, size_bytes: int) -> bool:
    """Whether a header's duration can be believed for a file of `size_bytes`."""
    if duration is None or duration < MIN_HEADER_SECONDS:
        return False
    return size_bytes / duration <= MAX_HEADER_BYTES_PER_SECOND


def decoding_stop(max_seconds: float) -> float | None:
    """Where reading or decoding a file stops: just past the limit (None: no limit, read it all)."""
    return max_seconds + DECODE_PAST_LIMIT_SECONDS if max_seconds else None


def check_media_duration(path: Path, info: media.MediaInfo, max_seconds: float, ffmpeg: str = "") -> media.MediaInfo:
    """`info` with a duration that holds, refused over MAX_VIDEO_DURATION_SECONDS. When the header gives
    no plausible duration, the packets' timestamps are read (no decoding; at most to just past the limit).
    `ffmpeg`: the binary, or FFMPEG_PATH's value."""
    check_duration(info.duration, max_seconds)
    if not max_seconds or plausible_duration(info.duration, Path(path).stat().st_size):
        return info
    measured = media.packet_seconds(path, media.ffmpeg_binary(ffmpeg), decoding_stop(max_seconds), info.has_audio)
    if measured > max_seconds:
        raise LimitExceeded(
            f"the file runs past MAX_VIDEO_DURATION_SECONDS={max_seconds:.0f} (its header gives no usable length; "
            f"reading stopped after {measured:.0f} s): raise the limit to process it"
        )
    return replace(info, duration=measured)


def check_decoded_duration(decoded_seconds: float, max_seconds: float) -> None:
    """What the audio step decoded, the length no header can misstate."""
    if max_seconds and decoded_seconds > max_seconds + DECODED_SLACK_SECONDS:
        raise LimitExceeded(
            f"the sound track runs past MAX_VIDEO_DURATION_SECONDS={max_seconds:.0f} (decoding stopped after "
            f"{decoded_seconds:.0f} s, whatever the file's header says): raise the limit to process it"
        )


def wav_bytes(duration: float | None, max_seconds: float) -> int:
    """What the audio step's WAV will weigh: for the header's duration, or, when it gives none worth the name,
    for the most that decoding lets through (nothing to go on without a limit)."""
    stop = decoding_stop(max_seconds)
    seconds = duration if duration and duration >= MIN_HEADER_SECONDS else (stop or 0.0)
    return int(min(seconds, stop or seconds) * WAV_BYTES_PER_SECOND)


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
