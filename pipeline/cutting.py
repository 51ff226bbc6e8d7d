"""Cutting one exchange's clips from its source video: smart cut, one encode with copies out of it, or
stream copies; each clip with its subtitles (burned in when asked), its crop framed as asked and its poster.

Plain values in, plain values out: the caller loads the clips and records each one as `on_cut` hands it
over, so a page sees every clip as soon as it is made.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline import framing, limits, media, reframe, smartcut, subtitles
from pipeline.options import CutOptions, caption_names
from pipeline.types import Turn

log = logging.getLogger(__name__)

# Of a cut's progress, the share that finding faces takes when the crop follows the speaker
# (bench/bench_framing.py: about 14 s of the 50 s a 60-second 720p vertical clip takes); the encode has the rest.
FACES_SHARE = 0.3

Progress = Callable[[float], None]


@dataclass(frozen=True)
class ClipSpan:
    """A clip to cut: its id (to record it by), place in the exchange, kind and seconds of the source."""

    id: int
    position: int
    kind: str
    start: float
    end: float


@dataclass(frozen=True)
class Picture:
    """The size of the clips' picture, and the source height it is enlarged from (None: not enlarged)."""

    width: int
    height: int
    upscaled_from: int | None


@dataclass(frozen=True)
class CaptionLook:
    """How captions are burned in: style (None: no captions in the picture), place, speakers' names."""

    style: str | None = None
    position: str = "bottom"
    names: bool | None = None  # None: as the shape suggests (`options.caption_names`)


@dataclass(frozen=True)
class CutClip:
    """One clip made: its files, whether captions are burned into it, and its picture."""

    clip_id: int
    path: Path
    srt: Path
    vtt: Path
    poster: Path | None
    burned_captions: bool
    picture: Picture


@dataclass(frozen=True)
class _Captions:
    srt: Path
    vtt: Path
    burned: Path | None  # the ASS file burned into the picture; None: no captions in it


def cut_exchange(
    source: Path,
    folder: Path,
    spans: Sequence[ClipSpan],
    cues: Sequence[subtitles.Cue],
    options: CutOptions,
    captions: CaptionLook,
    framing_mode: str = "fixed",
    turns: Sequence[Turn] = (),
    english: Sequence[subtitles.Cue] = (),
    progress: Progress = lambda fraction: None,
    on_cut: Callable[[CutClip], None] = lambda clip: None,
    min_free_bytes: int = 0,
) -> list[CutClip]:
    """Cut every clip into a fresh `folder` (re-running replaces every file: no orphans), handing each to
    `on_cut` as soon as it is made; returns them all."""
    clip_seconds = sum(span.end - span.start for span in spans)
    limits.check_free_space(folder, min_free_bytes, estimated_bytes(source, clip_seconds))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    picture = picture_of(source, options)
    layout = subtitles.CaptionLayout(
        picture.width, picture.height, captions.position, caption_names(captions.names, options.shape)
    )
    made: list[CutClip] = []

    def record(clip: CutClip) -> None:
        made.append(clip)
        on_cut(clip)

    cutter = _Cutter(
        source,
        folder,
        list(cues),
        options,
        captions.style,
        layout,
        picture,
        framing_mode,
        turns,
        english,
        progress,
        record,
    )
    if options.reencode:
        cutter.encode(list(spans))
    else:  # stream copies straight from the source: nothing is encoded anyway
        for index, span in enumerate(spans):
            cutter.cut(span, _share(progress, index, len(spans)))
    return made


def _share(progress: Progress, index: int, count: int) -> Progress:
    """The progress of the index-th of `count` equal parts, as a fraction of the whole."""
    return lambda fraction: progress((index + fraction) / count)


def picture_of(source: Path, options: CutOptions) -> Picture:
    """The clips' frame: the source's, or the shape's when the picture is encoded."""
    info = media.probe(source)
    shape = options.shape if options.reencode else "original"
    width, height = media.frame_size(shape, info.width or 0, info.height or 0)
    return Picture(width, height, media.upscaled_from(shape, info.width, info.height))


def estimated_bytes(source: Path, clip_seconds: float) -> int:
    """Clips are about as dense as their source; twice that leaves room for a re-encode's overshoot."""
    duration = media.probe(source).duration or clip_seconds
    return int(2 * source.stat().st_size * min(clip_seconds / duration, 1.0)) if duration else 0


@dataclass(frozen=True)
class _Cutter:
    """Cuts one exchange's clips, each clip's subtitles first (they may be burned in)."""

    source: Path
    folder: Path
    cues: list
    options: CutOptions
    style: str | None  # the burned-in caption style; None: no captions in the picture
    layout: subtitles.CaptionLayout  # where captions go in the clips' frame
    picture: Picture
    framing: str  # how a vertical or square crop moves: follow, fixed (at crop_x) or split
    turns: Sequence[Turn]  # the video's diarized turns, in its seconds (for framing)
    english: Sequence[subtitles.Cue]  # the English subtitles' cues, shown under bilingual captions
    progress: Progress
    on_cut: Callable[[CutClip], None]

    def encode(self, spans: list[ClipSpan]) -> None:
        """Smart cut when the source allows it and it encodes less, else every frame encoded once."""
        plans = None
        if self.style is None and self.options.shape == "original":  # the picture itself is not changed
            plans = smartcut.choose(self.source, [(span.start, span.end) for span in spans])
        if plans is None:
            self.encode_once(spans)
            return
        for index, (span, plan) in enumerate(zip(spans, plans, strict=True)):
            progress = lambda f, i=index: self.progress((i + f) / len(spans))  # noqa: E731
            mp4 = self._stem(span).with_suffix(".mp4")
            made = smartcut.cut_or_encode(self.source, mp4, span.start, span.end, plan, self.options, progress)
            self._done(span, made, self._captions(span.start, span.end, self._stem(span)))

    def encode_once(self, spans: list[ClipSpan]) -> None:
        """Every frame is encoded once: the span of all the clips (the whole-exchange clip, when there is
        one) is encoded with a keyframe where each other clip starts, and those are copied out of it."""
        first, last = min(span.start for span in spans), max(span.end for span in spans)
        whole = next((span for span in spans if (span.start, span.end) == (first, last)), None)
        others = [span for span in spans if span is not whole]
        stem = self._stem(whole) if whole else self.folder / "span"
        starts = sorted({span.start - first for span in others})
        captions = self._captions(first, last, stem)
        looking = FACES_SHARE if self._follows else 0.0  # one crop for the whole span: the copies come out of it
        crop = self._crop(first, last, lambda f: self.progress(looking * f))
        master = media.cut_clip(
            self.source,
            stem.with_suffix(".mp4"),
            first,
            last,
            self.options,
            subtitles_path=captions.burned,
            progress=lambda f: self.progress(looking + (0.9 - looking) * f),
            keyframes_at=starts,
            crop=crop,
        )
        if whole:
            self._done(whole, master, captions)
        keyframes = media.keyframes(master)
        for index, span in enumerate(others):
            mp4 = self._stem(span).with_suffix(".mp4")
            own = self._captions(span.start, span.end, self._stem(span))
            copied = media.copy_out(
                master,
                keyframes,
                mp4,
                span.start - first,
                span.end - first,
                self.options.ffmpeg,
                sound=self._own_sound(first, mp4),
            )
            if copied is None:  # no keyframe where it starts (a source ffmpeg could not place one in): encode it
                log.warning("clip %s encoded on its own", span.id)
                crop = self._crop(span.start, span.end)  # framed over its own span
                copied = media.cut_clip(
                    self.source, mp4, span.start, span.end, self.options, subtitles_path=own.burned, crop=crop
                )
            self._done(span, copied, own)
            self.progress(0.9 + 0.1 * (index + 1) / len(others))
        if not whole:
            for leftover in (master, captions.srt, captions.vtt, captions.burned):
                if leftover:
                    leftover.unlink(missing_ok=True)

    def cut(self, span: ClipSpan, progress: Progress) -> None:
        """One clip cut from the source on its own."""
        captions = self._captions(span.start, span.end, self._stem(span))
        mp4 = media.cut_clip(
            self.source,
            self._stem(span).with_suffix(".mp4"),
            span.start,
            span.end,
            self.options,
            subtitles_path=captions.burned,
            progress=progress,
        )
        self._done(span, mp4, captions)

    @property
    def _follows(self) -> bool:
        """Whether the crop is worked out from the faces and voices (not fixed at crop_x)."""
        return self.options.shape in media.SHAPES and self.framing in framing.FRAMINGS and self.framing != "fixed"

    def _crop(self, start: float, end: float, progress: Progress | None = None) -> str | None:
        """The crop filter of [start, end] framed as asked (`reframe.shape_crop`); None: the fixed crop at
        crop_x, or none (the original shape)."""
        if not self._follows:
            return None
        return reframe.shape_crop(
            self.source,
            start,
            end,
            self.turns,
            self.framing,
            self.options.crop_x,
            media.SHAPES[self.options.shape],
            progress=progress,
        )

    def _own_sound(self, first: float, mp4: Path):
        """A clip copied out of the exchange's encode gets its sound levelled over itself, not the exchange."""
        if self.options.loudness is None:
            return None
        return lambda at, duration: media.clip_sound(
            self.source, mp4.with_suffix(".sound.wav"), first + at, duration, self.options
        )

    def _stem(self, span: ClipSpan) -> Path:
        return self.folder / f"clip_{span.position:02d}_{span.kind}"

    def _captions(self, start: float, end: float, stem: Path) -> _Captions:
        srt, vtt = stem.with_suffix(".srt"), stem.with_suffix(".vtt")
        has_captions = subtitles.write_clip_subtitles(self.cues, start, end, srt, vtt)
        if not (self.style and has_captions):
            return _Captions(srt, vtt, None)
        own, ass = subtitles.clip_cues(self.cues, start, end), stem.with_suffix(".ass")
        english = subtitles.clip_cues(self.english, start, end)
        ass.write_text(subtitles.to_ass(own, self.style, self.layout, english))
        return _Captions(srt, vtt, ass)

    def _done(self, span: ClipSpan, mp4: Path, captions: _Captions) -> None:
        """The clip's poster, then the clip handed over to be recorded."""
        poster = media.grab_frame(mp4, mp4.with_suffix(".jpg"), at_seconds=1.0)
        self.on_cut(
            CutClip(span.id, mp4, captions.srt, captions.vtt, poster, captions.burned is not None, self.picture)
        )
