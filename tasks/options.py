"""Each pipeline stage's options built from the settings: the one mapping from `config.Settings` to the
plain values the stages take, shared by the tasks and `make quality`."""

from __future__ import annotations

import os

from config import Settings
from pipeline.exchanges import ExchangeConfig
from pipeline.media import video_encoder
from pipeline.options import ClipLimits, CutOptions, DiarizationOptions, TranscriptionOptions


def compute_threads(settings: Settings) -> int:
    """Each compute slot's share of the cores, so transcribe and diarize running side by side do not fight
    over them (with every library sizing its pool for the whole machine, each ran 1.4-1.8× slower)."""
    if settings.compute_threads:
        return settings.compute_threads
    return max(1, len(os.sched_getaffinity(0)) // settings.worker_concurrency)


def transcription_options(settings: Settings) -> TranscriptionOptions:
    return TranscriptionOptions(
        model_name=settings.faster_whisper_model,
        english_model=settings.whisper_english_model,
        multilingual_model=settings.whisper_multilingual_model,
        device=settings.device,
        compute_type=settings.faster_whisper_compute_type,
        batched=settings.whisper_batched,
        batch_size=settings.whisper_batch_size,
        language=settings.whisper_language or None,
        cpu_threads=compute_threads(settings),
    )


def diarization_options(settings: Settings) -> DiarizationOptions:
    """Speaker-count hints are not here: they come with each video."""
    return DiarizationOptions(
        backend=settings.diarization_backend,
        device=settings.device,
        pyannote_pipeline=settings.pyannote_pipeline,
        token=settings.hugging_face_token,
        threads=compute_threads(settings),
    )


def exchange_config(settings: Settings) -> ExchangeConfig:
    return ExchangeConfig(
        backchannel_max_seconds=settings.exchange_backchannel_max_seconds,
        asker_long_turn_seconds=settings.exchange_asker_long_turn_seconds,
        min_answer_seconds=settings.exchange_min_answer_seconds,
        min_exchange_seconds=settings.clip_min_duration_seconds,  # every exchange can be cut into a clip
    )


def clip_limits(settings: Settings) -> ClipLimits:
    return ClipLimits(
        min_duration=settings.clip_min_duration_seconds,
        max_duration=settings.clip_max_duration_seconds,
        padding=settings.clip_padding_seconds,
    )


def cut_options(
    settings: Settings, ffmpeg: str, burns_captions: bool, shape: str = "original", crop_x: float = 0.5
) -> CutOptions:
    """Burning captions in needs a re-encode, whatever CLIP_CUT_MODE says (so does a vertical or square
    frame); the sound is brought to CLIP_LOUDNESS_LUFS whenever it is encoded."""
    accurate = burns_captions or settings.clip_cut_mode == "accurate"
    encoder = video_encoder(ffmpeg, settings.clip_video_encoder)
    return CutOptions(
        ffmpeg=ffmpeg,
        accurate=accurate,
        preset=settings.clip_encoder_preset,
        shape=shape,
        crop_x=crop_x,
        encoder=encoder,
        loudness=settings.clip_loudness_lufs,
    )
