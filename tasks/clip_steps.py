"""Phase-2 tasks, per exchange: speaker segments, clip definitions, then cutting with subtitles."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from celery import shared_task

from tasks.base import StepContext, run_step
from tasks.options import clip_limits, cut_options
from utils.core import db, layout, library
from utils.core.records import ClipRecord
from utils.core.steps import STEP
from utils.pipeline import clips, limits, media, subtitles
from utils.pipeline.clips import SpeakerSpan
from utils.pipeline.errors import StepError
from utils.pipeline.options import CutOptions

log = logging.getLogger(__name__)


def _exchange(ctx: StepContext) -> dict:
    exchange = db.get_exchange(ctx.conn, ctx.step.exchange_id)
    if exchange is None:
        raise StepError("this exchange was deleted: nothing to do")
    return exchange


def _publish_clips(ctx: StepContext, exchange_id: int) -> None:
    ctx.publish({"type": "clips", "video_id": ctx.video_id, "exchange_id": exchange_id})


# ---- process_diarization ---------------------------------------------------------------------


@shared_task(name=STEP["process_diarization"].task, bind=True)
def process_diarization(self, step_id: int) -> None:
    run_step(self, step_id, _process_diarization)


def _process_diarization(ctx: StepContext) -> None:
    exchange = _exchange(ctx)
    segments = db.get_segments(ctx.conn, ctx.video_id)
    source = segments if any(segment.speaker for segment in segments) else db.get_turns(ctx.conn, ctx.video_id)
    spans = clips.speaker_segments(source, exchange.start_time, exchange.end_time)
    if not spans:
        raise StepError("no speech inside this exchange: widen it or check the transcript")
    with db.transaction(ctx.conn):
        db.replace_exchange_segments(ctx.conn, exchange.id, spans)
        if exchange.kind == "manual":  # found exchanges know their speakers; one marked by hand learns them here
            asker, answerer = clips.asker_and_answerer(spans)
            db.update_exchange(ctx.conn, exchange.id, asker=asker, answerer=answerer)
    ctx.publish({"type": "exchanges", "video_id": ctx.video_id})
    _publish_clips(ctx, exchange.id)
    log.info("video %s: exchange %s has %d speaker segments", ctx.video_id, exchange.label, len(spans))


# ---- define_clips ----------------------------------------------------------------------------


@shared_task(name=STEP["define_clips"].task, bind=True)
def define_clips(self, step_id: int) -> None:
    run_step(self, step_id, _define_clips)


def _define_clips(ctx: StepContext) -> None:
    exchange, settings = _exchange(ctx), ctx.settings
    spans = [
        SpeakerSpan(row.start_time, row.end_time, row.speaker)
        for row in db.get_exchange_segments(ctx.conn, exchange.id)
    ]
    words = [word for segment in db.get_segments(ctx.conn, ctx.video_id) for word in segment.words]
    plan = clips.define_clips(
        spans,
        words,
        exchange.start_time,
        exchange.end_time,
        clip_limits(settings),
        media_duration=ctx.video.duration,
    )
    rows = [
        {"position": spec.position, "kind": spec.kind, "start_time": spec.start, "end_time": spec.end,
         "speaker": spec.speaker, "note": spec.note or None}
        for spec in plan.clips
    ]  # fmt: skip
    # The old clips' files belong to rows that are about to go: remove them so nothing is orphaned.
    layout.remove_exchange_files(settings.processed_clips_dir, ctx.video_id, [exchange.id])
    with db.transaction(ctx.conn):
        db.replace_clips(ctx.conn, exchange.id, rows)
        db.update_exchange(ctx.conn, exchange.id, note="; ".join(plan.dropped) or None)
    _publish_clips(ctx, exchange.id)
    log.info("video %s: exchange %s: %d clips, %d dropped", ctx.video_id, exchange.label, len(rows),
             len(plan.dropped))  # fmt: skip


# ---- cut_clips -------------------------------------------------------------------------------


@shared_task(name=STEP["cut_clips"].task, bind=True)
def cut_clips(self, step_id: int) -> None:
    run_step(self, step_id, _cut_clips)


def _cut_clips(ctx: StepContext) -> None:
    exchange, settings = _exchange(ctx), ctx.settings
    source = ctx.video.video_path
    if not source or not Path(source).is_file():
        raise StepError("the source video is missing from disk: re-run download, then cut again")
    rows = db.list_clips(ctx.conn, exchange.id)
    if not rows:
        raise StepError("no clips are defined for this exchange: run define_clips first")
    folder = layout.exchange_dir(settings.processed_clips_dir, ctx.video_id, exchange.id)
    clip_seconds = sum(row.end_time - row.start_time for row in rows)
    limits.check_free_space(folder, settings.min_free_disk_mb * 2**20, _estimated_bytes(Path(source), clip_seconds))
    shutil.rmtree(folder, ignore_errors=True)  # re-running replaces every file: no orphans
    folder.mkdir(parents=True)
    cues = library.subtitle_cues(ctx.conn, ctx.video_id)
    burn = bool(settings.clip_burn_subtitles if exchange.burn_subtitles is None else exchange.burn_subtitles)
    options = cut_options(settings, media.ffmpeg_binary(settings.ffmpeg_path), burn, exchange.shape, exchange.crop_x)
    for index, row in enumerate(rows):
        progress = lambda f, i=index: ctx.progress((i + f) / len(rows))  # noqa: E731
        style = exchange.caption_style if burn else None
        paths = _cut_one(ctx.video.video_path, row, folder, cues, options, style, progress)
        with db.transaction(ctx.conn):
            db.update_clip(ctx.conn, row.id, **paths)
        _publish_clips(ctx, exchange.id)
    log.info("video %s: exchange %s: %d clips cut", ctx.video_id, exchange.label, len(rows))


def _estimated_bytes(source: Path, clip_seconds: float) -> int:
    """Clips are about as dense as their source; twice that leaves room for a re-encode's overshoot."""
    duration = media.probe(source).duration or clip_seconds
    return int(2 * source.stat().st_size * min(clip_seconds / duration, 1.0)) if duration else 0


def _cut_one(
    source: str, row: ClipRecord, folder: Path, cues, options: CutOptions, burn: str | None, progress
) -> dict[str, str]:
    """Subtitles first (they may be burned in: `burn` is the caption style, or None), then the MP4."""
    stem = folder / f"clip_{row.position:02d}_{row.kind}"
    srt_path, vtt_path = stem.with_suffix(".srt"), stem.with_suffix(".vtt")
    has_captions = subtitles.write_clip_subtitles(cues, row.start_time, row.end_time, srt_path, vtt_path)
    burned_file = srt_path
    if burn == "words" and has_captions:  # words light up as they are said: ASS karaoke
        burned_file = stem.with_suffix(".ass")
        burned_file.write_text(subtitles.to_ass_karaoke(subtitles.clip_cues(cues, row.start_time, row.end_time)))
    mp4 = media.cut_clip(
        source,
        stem.with_suffix(".mp4"),
        row.start_time,
        row.end_time,
        options,
        subtitles_path=burned_file if burn and has_captions else None,
        progress=progress,
    )
    poster = media.grab_frame(mp4, stem.with_suffix(".jpg"), options.ffmpeg, at_seconds=1.0)
    paths = {"path": str(mp4), "srt_path": str(srt_path), "vtt_path": str(vtt_path)}
    burned = {"burned_captions": int(bool(burn) and has_captions), "captions_out_of_date": 0}
    return {**paths, "poster_path": str(poster) if poster else None, **burned}
