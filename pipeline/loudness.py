"""Clip sound at the loudness the platforms play at (EBU R128 / ITU BS.1770: −14 LUFS integrated for
Reels, TikTok, Shorts and Spotify), measured, never guessed.

A clip's sound is decoded once into a 48 kHz WAV, measured with ffmpeg's `loudnorm`, and brought to the
target by `loudnorm` given those measurements (two-pass, `linear=true`): a plain gain when the peaks allow
it. Speech is peaky, and most recordings need more gain than their peaks leave room for under the
−1.5 dBTP ceiling; loudnorm then compresses and limits, and ends up to 1.5 LU short on a real interview.
So the result is measured again (`ebur128`) and what is missing is made up with a gain and a limiter at
the ceiling, until it is within `TOLERANCE` of the target. The cut then muxes this WAV as the clip's sound.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import StepError

log = logging.getLogger(__name__)

TRUE_PEAK = -1.5  # dBTP: room for the platforms' own AAC encode
RANGE = 11.0  # LU: loudnorm's loudness range target when it has to compress
SAMPLE_RATE = 48_000
TOLERANCE = 0.3  # LU off the target that is left as it is
CORRECTIONS = 3  # gain-and-limit rounds after loudnorm, at most
QUIET = -60.0  # LUFS: nothing to bring up (silence, room tone); such sound is left as it is
LAYOUTS = "aformat=channel_layouts=mono|stereo"  # a WAV's unnamed layout and 5.1 both become one of these
TIMEOUT_SECONDS = 600


class LoudnessError(StepError):
    """ffmpeg could not measure or adjust a clip's sound."""


@dataclass(frozen=True)
class Measured:
    """What loudnorm's first pass reports, in its own words."""

    integrated: float  # LUFS
    true_peak: float  # dBTP
    loudness_range: float  # LU
    threshold: float  # LUFS
    offset: float  # LU


def normalised_sound(
    source: Path | str, dest: Path | str, start: float, duration: float, target: float, ffmpeg: str
) -> Path:
    """[start, start + duration] of the source's sound as a 48 kHz WAV at `target` LUFS integrated and
    at most −1.5 dBTP (quiet or silent sound is kept as it is); written atomically to `dest`."""
    dest = Path(dest)
    raw, levelled, fitted = (dest.with_suffix(f".{step}.wav") for step in ("raw", "levelled", "fitted"))
    try:
        _run([ffmpeg, "-ss", f"{start:.6f}", "-t", f"{duration:.6f}", "-i", str(source), "-vn", "-map", "0:a:0",
              "-af", LAYOUTS, "-ar", str(SAMPLE_RATE), "-c:a", "pcm_f32le", "-f", "wav", str(raw)])  # fmt: skip
        measured = measure(raw, ffmpeg)
        if measured is None or measured.integrated < QUIET:
            raw.replace(dest)
            return dest
        _apply(raw, levelled, loudnorm_filter(measured, target), ffmpeg)
        result, level, gain = levelled, integrated(levelled, ffmpeg), 0.0
        for _ in range(CORRECTIONS):
            if level is None or abs(target - level) <= TOLERANCE:
                break
            gain += target - level
            _apply(levelled, fitted, _made_up(gain), ffmpeg)
            result, level = fitted, integrated(fitted, ffmpeg)
        log.info(
            "sound of %s: %.1f LUFS, brought to %s LUFS (%.1f LU made up after loudnorm)",
            dest.name,
            measured.integrated,
            level,
            gain,
        )
        result.replace(dest)
        return dest
    finally:
        for leftover in (raw, levelled, fitted):
            leftover.unlink(missing_ok=True)


def loudnorm_filter(measured: Measured, target: float) -> str:
    """loudnorm's second pass: told what the first measured, it applies one gain when it can (linear)."""
    return (
        f"loudnorm=I={target:.1f}:TP={TRUE_PEAK}:LRA={RANGE}:measured_I={measured.integrated:.2f}"
        f":measured_TP={measured.true_peak:.2f}:measured_LRA={measured.loudness_range:.2f}"
        f":measured_thresh={measured.threshold:.2f}:offset={measured.offset:.2f}:linear=true"
        f":print_format=none,aresample={SAMPLE_RATE},{LAYOUTS}"
    )


def _made_up(gain: float) -> str:
    """The gain loudnorm fell short by, then a limiter that keeps the peaks under the ceiling (it delays
    nothing: `latency` takes its look-ahead back out, so the sound stays on the picture)."""
    ceiling = 10 ** ((TRUE_PEAK - 0.5) / 20)  # sample peaks half a dB under: true peaks land near the ceiling
    return f"volume={gain:.2f}dB,alimiter=limit={ceiling:.4f}:level=disabled:latency=enabled"


def measure(path: Path | str, ffmpeg: str) -> Measured | None:
    """loudnorm's measurement of a file's sound (its first pass); None when there is nothing to measure."""
    result = _run([ffmpeg, "-i", str(path), "-vn", "-af", f"{LAYOUTS},loudnorm=print_format=json", "-f", "null", "-"])
    found = list(re.finditer(r"\{[^{}]*\}", result))
    if not found:
        return None
    numbers = json.loads(found[-1].group(0))
    try:
        values = [float(numbers[key]) for key in ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")]
    except (KeyError, ValueError):
        return None
    return Measured(*values) if all(abs(value) != float("inf") for value in values) else None


def integrated(path: Path | str, ffmpeg: str) -> float | None:
    """A file's integrated loudness in LUFS by ffmpeg's EBU R128 meter (six times faster than loudnorm's)."""
    result = _run([ffmpeg, "-i", str(path), "-vn", "-af", f"{LAYOUTS},ebur128", "-f", "null", "-"])
    found = re.findall(r"I:\s+(-?[\d.]+|-inf) LUFS", result)
    return float(found[-1]) if found and found[-1] != "-inf" else None


def _apply(raw: Path, dest: Path, filters: str, ffmpeg: str) -> None:
    _run([ffmpeg, "-i", str(raw), "-af", filters, "-ar", str(SAMPLE_RATE), "-c:a", "pcm_f32le", "-f", "wav", str(dest)])


def _run(command: list[str]) -> str:
    """ffmpeg's log (the meters print there); LoudnessError when it fails."""
    full = [command[0], "-hide_banner", "-nostdin", "-y", *command[1:]]
    try:
        result = subprocess.run(full, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as error:
        raise LoudnessError("measuring the clip's sound took too long: cut it again") from error
    if result.returncode != 0:
        last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit code {result.returncode}"
        raise LoudnessError(f"ffmpeg could not level the clip's sound ({last}): cut it again")
    return result.stderr
