"""Real speech for model tests: pyannote.audio's bundled sample (30 s, two speakers, Diane and Sheila)
with its reference transcript (STM) and reference diarization (RTTM), plus silent and short WAVs.

The sample files are located without importing pyannote.audio: its import would start telemetry
setup, and `pyannote.audio.sample` decodes the audio at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.types import Turn
from tests.support.media_factory import run_ffmpeg

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class SpeechSample:
    wav: Path
    duration: float
    transcript: str
    turns: tuple[Turn, ...]

    @property
    def speakers(self) -> set[str]:
        return {turn.speaker for turn in self.turns}


def sample_dir() -> Path:
    """The folder of pyannote.audio's sample package (sample.wav, sample.rttm, sample.stm)."""
    spec = find_spec("pyannote.audio")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pyannote.audio is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "sample"


def read_stm_text(path: Path) -> str:
    """The words of an STM file in time order (fields: uri channel speaker start end words...)."""
    rows = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) > 5:
            rows.append((float(fields[3]), " ".join(fields[5:])))
    return " ".join(text for _, text in sorted(rows))


def read_rttm(path: Path) -> tuple[Turn, ...]:
    """Speaker turns of an RTTM file (fields: SPEAKER uri channel start duration ... speaker ...)."""
    turns = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append(Turn(start, start + duration, fields[7]))
    return tuple(sorted(turns, key=lambda turn: turn.start))


def make_sample(folder: Path) -> SpeechSample:
    """pyannote's sample as a 16 kHz mono 16-bit WAV in `folder`, converted by ffmpeg like the audio step."""
    source = sample_dir()
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / "sample.wav"
    run_ffmpeg("-i", str(source / "sample.wav"), "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", str(wav))
    return SpeechSample(
        wav=wav,
        duration=sf.info(str(wav)).duration,
        transcript=read_stm_text(source / "sample.stm"),
        turns=read_rttm(source / "sample.rttm"),
    )


def make_silence(path: Path, seconds: float) -> Path:
    """Digital silence as a 16 kHz mono 16-bit WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(round(seconds * SAMPLE_RATE), dtype=np.int16), SAMPLE_RATE, subtype="PCM_16")
    return path


def make_excerpt(sample: SpeechSample, path: Path, start: float, seconds: float) -> Path:
    """A piece of the sample (real speech) as its own WAV, e.g. a clip shorter than one second."""
    audio, rate = sf.read(str(sample.wav), dtype="int16")
    first = round(start * rate)
    sf.write(str(path), audio[first : first + round(seconds * rate)], rate, subtype="PCM_16")
    return path
