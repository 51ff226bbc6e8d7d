"""Phase-2 tasks, per exchange: speaker segments, clip definitions, then cutting with subtitles.

Each loads what it needs through `operations.clips`, calls one pipeline function, and records the result
through `operations.clips` (which announces it to the pages once it is committed).
"""

from __future__ import annotations

import logging
from pathlib import Path

from celery import shared_task

from operations import clips as clip_ops
from operations import presenters
from operations.steps import STEP
from pipeline import clips, cutting, media
from pipeline.clips import SpeakerSpan
from pipeline.errors import StepError
from store.records import ExchangeRecord
from tasks.base import StepContext, run_step
from tasks.options import clip_limits, cut_options

log = logging.getLogger(__name__)


def _exchange(ctx: StepContext) -> ExchangeRecord:
    return clip_ops.exchange_to_process(ctx.uow, ctx.step.exchange_id)


# ---- label_speakers ---------------------------------------------------------------------


@shared_task(name=STEP["label_speakers"].task, bind=True)
def label_speakers(self, step_id: int) -> None:
    run_step(self, step_id, _label_speakers)


def _label_speakers(ctx: StepContext) -> None:
    exchange, uow = _exchange(ctx), ctx.uow
    spans = clips.speaker_segments(clip_ops.who_speaks(uow, ctx.video_id), exchange.start_time, exchange.end_time)
    if not spans:
        raise StepError("no speech inside this exchange: widen it or check the transcript")
    clip_ops.record_speaker_segments(uow, exchange, spans)
    log.info("video %s: exchange %s has %d speaker segments", ctx.video_id, exchange.label, len(spans))


# ---- define_clips ----------------------------------------------------------------------------


@shared_task(name=STEP["define_clips"].task, bind=True)
def define_clips(self, step_id: int) -> None:
    run_step(self, step_id, _define_clips)


def _define_clips(ctx: StepContext) -> None:
    exchange, uow = _exchange(ctx), ctx.uow
    read = clip_ops.to_define(uow, exchange)
    if presenters.from_search(exchange.label):
        plan = _sentence_plan(exchange, read.spans)
    else:
        plan = clips.define_clips(
            read.spans,
            read.words,
            exchange.start_time,
            exchange.end_time,
            clip_limits(ctx.settings),
            media_duration=ctx.video.duration,
            question=exchange.question or "",
        )
    count = clip_ops.record_definitions(uow, exchange, plan, ctx.settings.processed_clips_dir)
    log.info("video %s: exchange %s: %d clips, %d dropped", ctx.video_id, exchange.label, count, len(plan.dropped))


def _sentence_plan(exchange: ExchangeRecord, spans: list[SpeakerSpan]) -> clips.ClipPlan:
    """A sentence clipped from a search is cut exactly as found: one clip, its speaker's when one speaks."""
    speakers = {span.speaker for span in spans}
    speaker = speakers.pop() if len(speakers) == 1 else None
    spec = clips.ClipSpec(
        "speaker" if speaker else "exchange",
        exchange.start_time,
        exchange.end_time,
        speaker,
        0,
        title=clips.shorten(exchange.question or ""),
    )
    return clips.ClipPlan([spec])


# ---- cut_clips -------------------------------------------------------------------------------


@shared_task(name=STEP["cut_clips"].task, bind=True)
def cut_clips(self, step_id: int) -> None:
    run_step(self, step_id, _cut_clips)


def _cut_clips(ctx: StepContext) -> None:
    exchange, settings, uow = _exchange(ctx), ctx.settings, ctx.uow
    source = ctx.video.video_path
    if not source or not Path(source).is_file():
        raise StepError("the source video is missing from disk: re-run download, then cut again")
    read = clip_ops.to_cut(uow, exchange, settings.clip_burn_subtitles, settings.processed_clips_dir)
    options = cut_options(
        settings, media.ffmpeg_binary(settings.ffmpeg_path), read.captions is not None, exchange.shape, exchange.crop_x
    )
    captions = cutting.CaptionLook(read.captions, exchange.caption_position, exchange.caption_names)
    cutting.cut_exchange(
        Path(source),
        read.folder,
        read.spans,
        read.cues,
        options,
        captions,
        exchange.framing,
        read.turns,
        read.english,
        progress=ctx.progress,
        on_cut=lambda cut: clip_ops.record_cut(uow, ctx.video_id, exchange.id, cut),
        min_free_bytes=settings.min_free_disk_mb * 2**20,
    )
    log.info("video %s: exchange %s: %d clips cut", ctx.video_id, exchange.label, len(read.spans))
