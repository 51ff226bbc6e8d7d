"""Phase-2 tasks, per exchange: speaker segments, clip definitions, then cutting with subtitles."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from celery import shared_task

import store.clips
import store.engine
import store.exchanges
import store.transcripts
from operations import library, presenters
from operations.steps import STEP
from pipeline import clips, framing, limits, media, reframe, smartcut, subtitles
from pipeline.clips import SpeakerSpan
from pipeline.errors import StepError
from pipeline.options import CutOptions, caption_names
from pipeline.types import Turn
from store import layout
from store.records import ClipRecord, ExchangeRecord
from tasks.base import StepContext, run_step
from tasks.options import clip_limits, cut_options

log = logging.getLogger(__name__)

# Of a cut's progress, the share that finding faces takes when the crop follows the speaker
# (bench/bench_framing.py: about 14 s of the 50 s a 60-second 720p vertical clip takes); the encode has the rest.
FACES_SHARE = 0.3


def _exchange(ctx: StepContext) -> dict:
    exchange = store.exchanges.get_exchange(ctx.conn, ctx.step.exchange_id)
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
    segments = store.transcripts.get_segments(ctx.conn, ctx.video_id)
    source = (
        segments
        if any(segment.speaker for segment in segments)
        else store.transcripts.get_turns(ctx.conn, ctx.video_id)
    )
    spans = clips.speaker_segments(source, exchange.start_time, exchange.end_time)
    if not spans:
        raise StepError("no speech inside this exchange: widen it or check the transcript")
    with store.engine.transaction(ctx.conn):
        store.exchanges.replace_exchange_segments(ctx.conn, exchange.id, spans)
        if exchange.kind == "manual":  # found exchanges know their speakers; one marked by hand learns them here
            asker, answerer = clips.asker_and_answerer(spans)
            store.exchanges.update_exchange(ctx.conn, exchange.id, asker=asker, answerer=answerer)
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
        for row in store.exchanges.get_exchange_segments(ctx.conn, exchange.id)
    ]
    words = [word for segment in store.transcripts.get_segments(ctx.conn, ctx.video_id) for word in segment.words]
    if presenters.from_search(exchange.label):
        plan = _sentence_plan(exchange, spans)
    else:
        plan = clips.define_clips(
            spans,
            words,
            exchange.start_time,
            exchange.end_time,
            clip_limits(settings),
            media_duration=ctx.video.duration,
            question=exchange.question or "",
        )
    rows = [
        {"position": spec.position, "kind": spec.kind, "start_time": spec.start, "end_time": spec.end,
         "speaker": spec.speaker, "note": spec.note or None, "title": spec.title or None}
        for spec in plan.clips
    ]  # fmt: skip
    # The old clips' files belong to rows that are about to go: remove them so nothing is orphaned.
    layout.remove_exchange_files(settings.processed_clips_dir, ctx.video_id, [exchange.id])
    with store.engine.transaction(ctx.conn):
        store.clips.replace_clips(ctx.conn, exchange.id, rows)
        store.exchanges.update_exchange(ctx.conn, exchange.id, note="; ".join(plan.dropped) or None)
    _publish_clips(ctx, exchange.id)
    log.info("video %s: exchange %s: %d clips, %d dropped", ctx.video_id, exchange.label, len(rows),
             len(plan.dropped))  # fmt: skip


def _sentence_plan(exchange: ExchangeRecord, spans: list[SpeakerSpan]) -> clips.ClipPlan:
    """A sentence clipped from a search is cut exactly as found: one clip, its speaker's when one speaks."""
    speakers = {span.speaker for span in spans}
    speaker = speakers.pop() if len(speakers) == 1 else None
    spec = clips.ClipSpec(
        "speaker" if speaker else "exchange", exchange.start_time, exchange.end_time, speaker, 0,
        title=clips.shorten(exchange.question or ""),
    )  # fmt: skip
    return clips.ClipPlan([spec])


# ---- cut_clips -------------------------------------------------------------------------------


@shared_task(name=STEP["cut_clips"].task, bind=True)
def cut_clips(self, step_id: int) -> None:
    run_step(self, step_id, _cut_clips)


def _cut_clips(ctx: StepContext) -> None:
    exchange, settings = _exchange(ctx), ctx.settings
    source = ctx.video.video_path
    if not source or not Path(source).is_file():
        raise StepError("the source video is missing from disk: re-run download, then cut again")
    rows = store.clips.list_clips(ctx.conn, exchange.id)
    if not rows:
        raise StepError("no clips are defined for this exchange: run define_clips first")
    burn = bool(settings.clip_burn_subtitles if exchange.burn_subtitles is None else exchange.burn_subtitles)
    english = _english(ctx, exchange.caption_style) if burn else []  # before anything is removed
    folder = layout.exchange_dir(settings.processed_clips_dir, ctx.video_id, exchange.id)
    clip_seconds = sum(row.end_time - row.start_time for row in rows)
    limits.check_free_space(folder, settings.min_free_disk_mb * 2**20, _estimated_bytes(Path(source), clip_seconds))
    shutil.rmtree(folder, ignore_errors=True)  # re-running replaces every file: no orphans
    folder.mkdir(parents=True)
    cues = library.subtitle_cues(ctx.conn, ctx.video_id)
    options = cut_options(settings, media.ffmpeg_binary(settings.ffmpeg_path), burn, exchange.shape, exchange.crop_x)
    picture = _picture(Path(source), options)
    captions = subtitles.CaptionLayout(picture.width, picture.height, exchange.caption_position,
                                       caption_names(exchange.caption_names, options.shape))  # fmt: skip
    style = exchange.caption_style if burn else None
    turns = store.transcripts.get_turns(
        ctx.conn, ctx.video_id
    )  # who speaks when: a crop that follows the speaker needs them
    cutter = _Cutter(ctx, Path(source), folder, cues, options, style, captions, picture, exchange.framing, turns,
                     english)  # fmt: skip
    if options.reencode:
        cutter.encode(rows)
    else:  # stream copies straight from the source: nothing is encoded anyway
        for index, row in enumerate(rows):
            cutter.cut(row, lambda f, i=index: ctx.progress((i + f) / len(rows)))
    log.info("video %s: exchange %s: %d clips cut", ctx.video_id, exchange.label, len(rows))


def _english(ctx: StepContext, style: str) -> list[subtitles.Cue]:
    """The English shown under bilingual captions (nothing for the other styles): the video's English
    subtitles, which are made only when asked for."""
    if not subtitles.caption_style(style).english_size:
        return []
    english = library.english_cues(ctx.conn, ctx.video_id)
    if english is None:
        raise StepError("bilingual captions need the video's English subtitles: run English subtitles "
                        "in the video's pipeline panel, then cut again")  # fmt: skip
    return english


@dataclass(frozen=True)
class _Picture:
    """The size of the clips' picture, and the source height it is enlarged from (None: not enlarged)."""

    width: int
    height: int
    upscaled_from: int | None


def _picture(source: Path, options: CutOptions) -> _Picture:
    info = media.probe(source)
    shape = options.shape if options.reencode else "original"
    width, height = media.frame_size(shape, info.width or 0, info.height or 0)
    return _Picture(width, height, media.upscaled_from(shape, info.width, info.height))


@dataclass(frozen=True)
class _Captions:
    srt: Path
    vtt: Path
    burned: Path | None  # the ASS file burned into the picture; None: no captions in it


@dataclass(frozen=True)
class _Cutter:
    """Cuts one exchange's clips, each clip's subtitles first (they may be burned in)."""

    ctx: StepContext
    source: Path
    folder: Path
    cues: list
    options: CutOptions
    style: str | None  # the burned-in caption style; None: no captions in the picture
    layout: subtitles.CaptionLayout  # where captions go in the clips' frame
    picture: _Picture
    framing: str = "fixed"  # how a vertical or square crop moves: follow, fixed (at crop_x) or split
    turns: Sequence[Turn] = ()  # the video's diarized turns, in its seconds (for framing)
    english: Sequence[subtitles.Cue] = ()  # the English subtitles' cues, shown under bilingual captions

    def encode(self, rows: list[ClipRecord]) -> None:
        """Smart cut when the source allows it and it encodes less, else every frame encoded once."""
        plans = None
        if self.style is None and self.options.shape == "original":  # the picture itself is not changed
            plans = smartcut.choose(self.source, [(row.start_time, row.end_time) for row in rows])
        if plans is None:
            self.encode_once(rows)
            return
        for index, (row, plan) in enumerate(zip(rows, plans, strict=True)):
            progress = lambda f, i=index: self.ctx.progress((i + f) / len(rows))  # noqa: E731
            mp4 = self._stem(row).with_suffix(".mp4")
            made = smartcut.cut_or_encode(self.source, mp4, row.start_time, row.end_time, plan, self.options, progress)
            self._record(row, made, self._captions(row.start_time, row.end_time, self._stem(row)))

    def encode_once(self, rows: list[ClipRecord]) -> None:
        """Every frame is encoded once: the span of all the clips (the whole-exchange clip, when there is
        one) is encoded with a keyframe where each other clip starts, and those are copied out of it."""
        first, last = min(row.start_time for row in rows), max(row.end_time for row in rows)
        whole = next((row for row in rows if (row.start_time, row.end_time) == (first, last)), None)
        others = [row for row in rows if row is not whole]
        stem = self._stem(whole) if whole else self.folder / "span"
        starts = sorted({row.start_time - first for row in others})
        captions = self._captions(first, last, stem)
        looking = FACES_SHARE if self._follows else 0.0  # one crop for the whole span: the copies come out of it
        crop = self._crop(first, last, lambda f: self.ctx.progress(looking * f))
        master = media.cut_clip(
            self.source, stem.with_suffix(".mp4"), first, last, self.options, subtitles_path=captions.burned,
            progress=lambda f: self.ctx.progress(looking + (0.9 - looking) * f), keyframes_at=starts, crop=crop,
        )  # fmt: skip
        if whole:
            self._record(whole, master, captions)
        keyframes = media.keyframes(master)
        for index, row in enumerate(others):
            mp4 = self._stem(row).with_suffix(".mp4")
            own = self._captions(row.start_time, row.end_time, self._stem(row))
            copied = media.copy_out(master, keyframes, mp4, row.start_time - first, row.end_time - first,
                                    self.options.ffmpeg, sound=self._own_sound(first, mp4))  # fmt: skip
            if copied is None:  # no keyframe where it starts (a source ffmpeg could not place one in): encode it
                log.warning("video %s: clip %s encoded on its own", self.ctx.video_id, row.id)
                crop = self._crop(row.start_time, row.end_time)  # framed over its own span
                copied = media.cut_clip(self.source, mp4, row.start_time, row.end_time, self.options,
                                        subtitles_path=own.burned, crop=crop)  # fmt: skip
            self._record(row, copied, own)
            self.ctx.progress(0.9 + 0.1 * (index + 1) / len(others))
        if not whole:
            for leftover in (master, captions.srt, captions.vtt, captions.burned):
                if leftover:
                    leftover.unlink(missing_ok=True)

    def cut(self, row: ClipRecord, progress) -> None:
        """One clip cut from the source on its own."""
        captions = self._captions(row.start_time, row.end_time, self._stem(row))
        mp4 = media.cut_clip(self.source, self._stem(row).with_suffix(".mp4"), row.start_time, row.end_time,
                             self.options, subtitles_path=captions.burned, progress=progress)  # fmt: skip
        self._record(row, mp4, captions)

    @property
    def _follows(self) -> bool:
        """Whether the crop is worked out from the faces and voices (not fixed at crop_x)."""
        return self.options.shape in media.SHAPES and self.framing in framing.FRAMINGS and self.framing != "fixed"

    def _crop(self, start: float, end: float, progress: Callable[[float], None] | None = None) -> str | None:
        """The crop filter of [start, end] framed as asked (`reframe.shape_crop`); None: the fixed crop at
        crop_x, or none (the original shape)."""
        if not self._follows:
            return None
        return reframe.shape_crop(self.source, start, end, self.turns, self.framing, self.options.crop_x,
                                  media.SHAPES[self.options.shape], progress=progress)  # fmt: skip

    def _own_sound(self, first: float, mp4: Path):
        """A clip copied out of the exchange's encode gets its sound levelled over itself, not the exchange."""
        if self.options.loudness is None:
            return None
        return lambda at, duration: media.clip_sound(self.source, mp4.with_suffix(".sound.wav"), first + at,
                                                     duration, self.options)  # fmt: skip

    def _stem(self, row: ClipRecord) -> Path:
        return self.folder / f"clip_{row.position:02d}_{row.kind}"

    def _captions(self, start: float, end: float, stem: Path) -> _Captions:
        srt, vtt = stem.with_suffix(".srt"), stem.with_suffix(".vtt")
        has_captions = subtitles.write_clip_subtitles(self.cues, start, end, srt, vtt)
        if not (self.style and has_captions):
            return _Captions(srt, vtt, None)
        own, ass = subtitles.clip_cues(self.cues, start, end), stem.with_suffix(".ass")
        english = subtitles.clip_cues(self.english, start, end)
        ass.write_text(subtitles.to_ass(own, self.style, self.layout, english))
        return _Captions(srt, vtt, ass)

    def _record(self, row: ClipRecord, mp4: Path, captions: _Captions) -> None:
        poster = media.grab_frame(mp4, mp4.with_suffix(".jpg"), at_seconds=1.0)
        paths = {"path": str(mp4), "srt_path": str(captions.srt), "vtt_path": str(captions.vtt)}
        burned = {"burned_captions": int(captions.burned is not None), "captions_out_of_date": 0}
        picture = {"width": self.picture.width, "height": self.picture.height,
                   "upscaled_from": self.picture.upscaled_from}  # fmt: skip
        with store.engine.transaction(self.ctx.conn):
            store.clips.update_clip(
                self.ctx.conn, row.id, **paths, poster_path=str(poster) if poster else None, **burned, **picture
            )
        _publish_clips(self.ctx, row.exchange_id)


def _estimated_bytes(source: Path, clip_seconds: float) -> int:
    """Clips are about as dense as their source; twice that leaves room for a re-encode's overshoot."""
    duration = media.probe(source).duration or clip_seconds
    return int(2 * source.stat().st_size * min(clip_seconds / duration, 1.0)) if duration else 0
