"""ffmpeg and media probing: the one place that builds ffmpeg command lines.

ffmpeg comes from FFMPEG_PATH, else PATH, else the binary that `imageio-ffmpeg` ships, so a fresh
machine needs no system package. Probing uses PyAV (installed with faster-whisper), which needs no
ffprobe binary.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av

from utils.errors import StepError


class MediaError(StepError):
    """A media file could not be read or converted; the message says what to do."""


@cache
def ffmpeg_binary(configured: str = "") -> str:
    """Resolve the ffmpeg executable once per process."""
    if configured:
        found = shutil.which(configured) or (configured if Path(configured).is_file() else None)
        if not found:
            raise MediaError(f"FFMPEG_PATH={configured!r} is not an executable file: fix the setting or leave it empty")
        return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int | None
    height: int | None
    has_video: bool
    has_audio: bool


def probe(path: Path | str) -> MediaInfo:
    """Duration and stream facts of a media file."""
    try:
        with av.open(str(path)) as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            duration = _duration_seconds(container, video, audio)
            return MediaInfo(
                duration=duration,
                width=video.codec_context.width if video else None,
                height=video.codec_context.height if video else None,
                has_video=video is not None,
                has_audio=audio is not None,
            )
    except (av.error.FFmpegError, OSError) as error:
        raise MediaError(f"cannot read media file {Path(path).name}: {error}") from error


def _duration_seconds(container, video, audio) -> float:
    if container.duration is not None:
        return container.duration / av.time_base
    for stream in (video, audio):
        if stream is not None and stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
    return 0.0
