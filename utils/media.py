"""ffmpeg and media probing: the one place that builds ffmpeg command lines.

ffmpeg comes from FFMPEG_PATH, else PATH, else the binary that `imageio-ffmpeg` ships, so a fresh
machine needs no system package. Probing uses PyAV (installed with faster-whisper), which needs no
ffprobe binary.
"""

from __future__ import annotations

import shutil
import subprocess
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


def extract_audio(
    video_path: Path | str, wav_path: Path | str, ffmpeg: str, progress=None, duration: float = 0.0
) -> Path:
    """16 kHz mono 16-bit PCM WAV, the input every model here expects; written atomically."""
    source = probe(video_path)
    if not source.has_audio:
        raise MediaError(f"no audio track in {Path(video_path).name}: choose a video with sound")
    wav_path = Path(wav_path)
    partial = wav_path.with_suffix(".partial.wav")
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(video_path),
               "-vn", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-progress", "pipe:1", "-nostats",
               str(partial)]  # fmt: skip
    run_with_progress(command, progress, duration or source.duration)
    partial.replace(wav_path)
    return wav_path


def run_with_progress(command: list[str], progress, duration: float) -> None:
    """Run ffmpeg with `-progress pipe:1`, turning its out_time into progress(fraction)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        key, _, value = line.strip().partition("=")
        if key == "out_time_us" and value.isdigit() and duration > 0 and progress:
            progress(min(int(value) / 1e6 / duration, 0.99))
    stderr = process.stderr.read() if process.stderr else ""
    if process.wait() != 0:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {process.returncode}"
        raise MediaError(f"ffmpeg failed: {last}")
