"""Phase-1 tasks, one per step: each loads ids, calls one pipeline function and stores the result."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from celery import shared_task

from operations import layout, speakers, steps, transcripts, videos
from operations.exchanges import replace_auto_exchanges
from operations.steps import STEP
from pipeline import alignment, download, exchanges, limits, media
from pipeline.errors import StepError
from pipeline.redact import redact_url
from tasks.base import StepContext, run_step
from tasks.options import diarization_options, exchange_config, transcription_options

log = logging.getLogger(__name__)

VOICEPRINTS_FROM = 0.95  # of the diarize step's progress: voiceprints take the rest


# ---- download --------------------------------------------------------------------------------


@shared_task(name=STEP["download"].task, bind=True)
def download_video(self, step_id: int) -> None:
    run_step(self, step_id, _download)


def _download(ctx: StepContext) -> None:
    settings = ctx.settings
    folder = layout.video_dir(settings.download_dir, ctx.video_id)
    ffmpeg = media.ffmpeg_binary(settings.ffmpeg_path)
    refuse = download.Limits(settings.max_video_duration_seconds, settings.min_free_disk_mb * 2**20)
    allowed = settings.allowed_networks
    url, resolution = ctx.video.url, ctx.video.resolution
    result = download.fetch(url, resolution, folder, ctx.progress, ffmpeg, refuse, allowed)
    if isinstance(result, download.Playlist):
        _expand_playlist(ctx, result)
        result = download.fetch(ctx.video.url, resolution, folder, ctx.progress, ffmpeg, refuse, allowed)
        if isinstance(result, download.Playlist):
            entry = redact_url(ctx.video.url)
            raise download.DownloadError(f"playlist entry {entry} is itself a playlist: submit its videos")
    info = download.verified(result, settings.max_video_duration_seconds, ffmpeg)
    thumbnail = result.thumbnail_path or media.grab_frame(result.path, folder / "frame.jpg")
    videos.record_download(ctx.uow, ctx.video_id, result, info, thumbnail)
    log.info("video %s: downloaded %s at %sx%s", ctx.video_id, result.path.name, info.width, info.height)


def _expand_playlist(ctx: StepContext, playlist: download.Playlist) -> None:
    """This video becomes the first entry; every other entry becomes a video of its own."""
    entries = download.checked_entries(playlist.entry_urls, ctx.settings.allowed_networks)
    if not entries:
        raise download.DownloadError(f"playlist {redact_url(ctx.video.url)} has no videos: check the link")
    ctx.video = videos.expand_playlist(ctx.uow, ctx.video, entries, playlist.title)
    log.info("video %s: playlist with %d entries expanded", ctx.video_id, len(playlist.entry_urls))


# ---- audio -----------------------------------------------------------------------------------


@shared_task(name=STEP["audio"].task, bind=True)
def extract_audio(self, step_id: int) -> None:
    run_step(self, step_id, _audio)


def _audio(ctx: StepContext) -> None:
    source = _existing_file(ctx.video.video_path, "the downloaded video", "download")
    settings = ctx.settings
    max_seconds = settings.max_video_duration_seconds
    header = media.probe(source).duration
    limits.check_duration(header, max_seconds)  # a header over the limit is believed: refused before decoding
    limits.check_free_space(source.parent, settings.min_free_disk_mb * 2**20, limits.wav_bytes(header, max_seconds))
    ffmpeg = media.ffmpeg_binary(settings.ffmpeg_path)
    wav = media.extract_audio(
        source,
        source.with_name("audio.wav"),
        ffmpeg,
        ctx.progress,
        ctx.video.duration or 0,
        stop_after=limits.decoding_stop(max_seconds),
    )
    decoded = _decoded_seconds(wav, max_seconds)
    fields = {"audio_path": str(wav), "duration": max(ctx.video.duration or 0.0, decoded)}
    if not ctx.video.thumbnail_path:  # uploads arrive without one
        frame = media.grab_frame(source, source.with_name("frame.jpg"))
        fields["thumbnail_path"] = str(frame) if frame else None
    transcripts.record_audio(ctx.uow, ctx.video_id, fields)


def _decoded_seconds(wav: Path, max_seconds: int) -> float:
    """The length no header can misstate: the WAV's. One over the limit is not kept."""
    seconds = media.probe(wav).duration
    try:
        limits.check_decoded_duration(seconds, max_seconds)
    except limits.LimitExceeded:
        wav.unlink(missing_ok=True)
        raise
    return seconds


def _existing_file(path: str | None, what: str, step: str) -> Path:
    if not path or not Path(path).is_file():
        raise StepError(f"{what} is missing from disk: re-run {step}")
    return Path(path)


# ---- transcribe, diarize, align --------------------------------------------------------------


@shared_task(name=STEP["transcribe"].task, bind=True)
def transcribe_audio(self, step_id: int) -> None:
    run_step(self, step_id, _transcribe, after_done=_align_when_ready)


def _transcribe(ctx: StepContext) -> None:
    from pipeline import transcription  # imported where used: the I/O worker never loads the models

    audio = _existing_file(ctx.video.audio_path, "the extracted audio", "audio")
    settings = ctx.settings
    stream = SegmentStream(ctx)
    options = transcription_options(settings)
    transcript = transcription.transcribe(audio, ctx.progress, options, on_segment=stream.add, on_device=ctx.ran_on)
    transcripts.record_transcript(ctx.uow, ctx.video_id, transcript)
    log.info(
        "video %s: %d transcript segments (%s, Whisper %s)",
        ctx.video_id,
        len(transcript.segments),
        transcript.language,
        transcript.model,
    )


@shared_task(name=STEP["translate"].task, bind=True)
def translate_speech(self, step_id: int) -> None:
    run_step(self, step_id, _translate)


def _translate(ctx: StepContext) -> None:
    """English subtitles of a video in another language: Whisper's translate task, beside the transcript."""
    from pipeline import transcription

    language = ctx.video.language
    if not language:
        raise StepError("the language of the speech is not known yet: run Transcribe first")
    if language == "en":
        raise StepError("the speech is in English already: its transcript is the English subtitles")
    audio = _existing_file(ctx.video.audio_path, "the extracted audio", "audio")
    options = replace(transcription_options(ctx.settings), language=language)
    translation = transcription.transcribe(audio, ctx.progress, options, on_device=ctx.ran_on, task="translate")
    transcripts.record_translation(ctx.uow, ctx.video_id, translation)
    log.info("video %s: %d English subtitle lines from %s", ctx.video_id, len(translation.segments), language)


class SegmentStream:
    """Stores segments while transcription runs (every couple of seconds), so text appears early."""

    INTERVAL = 2.0

    def __init__(self, ctx: StepContext):
        self.ctx = ctx
        self.pending: list = []
        self.stored = 0
        self.last_flush = time.monotonic()

    def add(self, segment) -> None:
        self.pending.append(segment)
        if time.monotonic() - self.last_flush >= self.INTERVAL:
            self.flush()

    def flush(self) -> None:
        transcripts.record_streamed_lines(self.ctx.uow, self.ctx.video_id, self.pending, self.stored)
        self.stored += len(self.pending)
        self.pending = []
        self.last_flush = time.monotonic()


@shared_task(name=STEP["diarize"].task, bind=True)
def diarize_audio(self, step_id: int) -> None:
    run_step(self, step_id, _diarize, after_done=_align_when_ready)


def _diarize(ctx: StepContext) -> None:
    from pipeline import diarization, voiceprints

    audio = _existing_file(ctx.video.audio_path, "the extracted audio", "audio")
    settings, video = ctx.settings, ctx.video
    used = []  # where the models ran: the voiceprints follow diarization there (the CPU after a CUDA failure)

    def ran_on(use) -> None:
        used.append(use)
        ctx.ran_on(use)

    turns = diarization.diarize(
        audio,
        lambda fraction: ctx.progress(fraction * VOICEPRINTS_FROM),
        diarization_options(settings),
        num_speakers=video.num_speakers,
        min_speakers=video.min_speakers,
        max_speakers=video.max_speakers,
        on_device=ran_on,
    )
    try:  # for the speaker library: worth having, never worth losing the diarization over
        prints = voiceprints.voiceprints(audio, turns, used[-1].device if used else settings.device)
    except Exception:
        log.exception("video %s: voiceprints failed; the speakers are kept without them", ctx.video_id)
        prints = {}
    ctx.progress(1.0)
    speakers.record_diarization(ctx.uow, ctx.video_id, turns, prints)
    log.info(
        "video %s: %d turns, %d speakers, %d voiceprints",
        ctx.video_id,
        len(turns),
        len({turn.speaker for turn in turns}),
        len(prints),
    )


def _align_when_ready(ctx: StepContext) -> None:
    """Give every word a speaker as soon as both the transcript and the turns exist."""
    if transcripts.ready_to_align(ctx.uow, ctx.video_id):
        align_video(ctx)


def align_video(ctx: StepContext) -> None:
    """Every word of Whisper's transcript gets the speaker of its turn."""
    transcript, turns = transcripts.to_align(ctx.uow, ctx.video)
    aligned = alignment.assign_speakers(transcript.segments, turns)
    transcripts.record_alignment(ctx.uow, ctx.video_id, aligned)
    log.info("video %s: transcript aligned to speakers (%d segments)", ctx.video_id, len(aligned))


# ---- exchanges -------------------------------------------------------------------------------


@shared_task(name=STEP["exchanges"].task, bind=True)
def find_exchanges(self, step_id: int) -> None:
    run_step(self, step_id, _exchanges)


def _exchanges(ctx: StepContext) -> None:
    align_video(ctx)
    segments = transcripts.segments(ctx.uow, ctx.video_id)
    config = replace(exchange_config(ctx.settings), language=ctx.video.language)  # its question words
    found = exchanges.find_exchanges(segments, config)
    note = exchanges.explain_short_exchanges(segments, config) or exchanges.explain_no_exchanges(segments, config)
    new_ids = replace_auto_exchanges(ctx.uow, ctx.video_id, found, note, ctx.settings.processed_clips_dir)
    log.info("video %s: %d exchanges found%s", ctx.video_id, len(found), f" ({note})" if note else "")
    if ctx.video.wants_clips:
        for exchange_id in new_ids:
            ctx.service.request(ctx.video_id, steps.PHASE2_STEPS[0], exchange_id)
