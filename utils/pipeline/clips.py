"""Phase 2 clip planning: who speaks when inside an exchange, and which clips to cut from it.

`speaker_segments` turns speaker-labelled transcript segments (or raw diarization turns) into clean
speaker stretches inside an exchange window. `define_clips` turns those stretches into clip
definitions: one per speaker stretch within the configured length limits, plus the whole exchange,
every boundary on a word edge so no clip starts or ends mid-word. Plain values in, dataclasses out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from utils.pipeline.errors import StepError
from utils.pipeline.options import ClipLimits
from utils.pipeline.types import Segment, Turn, Word

log = logging.getLogger(__name__)

SENTENCE_END_CHARS = ".?!…"
CLOSING_CHARS = "\"'”’)]»"


class ClipError(StepError):
    """Clips cannot be defined for an exchange; the message says which setting or edit fixes it."""


@dataclass(frozen=True)
class SpeakerSpan:
    """One speaker talking without interruption inside an exchange."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class ClipSpec:
    """A clip to cut: times in seconds of the source video, padding included."""

    kind: Literal["speaker", "exchange"]
    start: float
    end: float
    speaker: str | None
    position: int
    note: str = ""

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class ClipPlan:
    """The clips of one exchange and, for the person reviewing it, why some stretches got no clip."""

    clips: list[ClipSpec] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


# ---- speaker stretches -------------------------------------------------------------------------


def speaker_segments(
    turns_or_segments: Sequence[Segment | Turn],
    start: float,
    end: float,
    merge_gap: float = 0.5,
    min_sliver: float = 0.3,
) -> list[SpeakerSpan]:
    """Speaker stretches inside [start, end]; prefer aligned Segments (they follow words) over raw Turns.

    Same-speaker pieces closer than `merge_gap` become one stretch; slivers shorter than `min_sliver`
    (a cough, a diarization flicker) are dropped, and the neighbours they separated are merged again.
    """
    spans = _clipped_spans(turns_or_segments, start, end)
    spans = _merge_same_speaker(spans, merge_gap, [])
    slivers = [span for span in spans if span.duration < min_sliver]
    kept = [span for span in spans if span.duration >= min_sliver]
    return _merge_same_speaker(kept, merge_gap, slivers)


def _clipped_spans(items: Sequence[Segment | Turn], start: float, end: float) -> list[SpeakerSpan]:
    spans = []
    for item in items:
        if not item.speaker:
            continue
        lo, hi = max(item.start, start), min(item.end, end)
        if hi > lo:
            spans.append(SpeakerSpan(lo, hi, item.speaker))
    return sorted(spans, key=lambda span: (span.start, span.end))


def _merge_same_speaker(spans: list[SpeakerSpan], merge_gap: float, slivers: list[SpeakerSpan]) -> list[SpeakerSpan]:
    """Join consecutive same-speaker spans whose gap, not counting dropped slivers, is under `merge_gap`."""
    merged: list[SpeakerSpan] = []
    for span in spans:
        previous = merged[-1] if merged else None
        if previous and previous.speaker == span.speaker:
            gap = span.start - previous.end - _covered(slivers, previous.end, span.start)
            if gap < merge_gap:
                merged[-1] = replace(previous, end=max(previous.end, span.end))
                continue
        merged.append(span)
    return merged


def _covered(slivers: list[SpeakerSpan], lo: float, hi: float) -> float:
    return sum(max(0.0, min(s.end, hi) - max(s.start, lo)) for s in slivers)


# ---- clip definitions --------------------------------------------------------------------------


def define_clips(
    spans: Sequence[SpeakerSpan],
    words: Sequence[Word],
    exchange_start: float,
    exchange_end: float,
    limits: ClipLimits,
    *,
    media_duration: float | None = None,
) -> ClipPlan:
    """The whole exchange as one clip, then a clip per speaker stretch that fits the length limits.

    Short stretches join a nearby same-speaker stretch (gap up to `max_merge_gap`) or are dropped with
    a reason; long ones are split at sentence ends. Raises ClipError when the exchange itself is too short.
    """
    min_duration, max_duration, padding = limits.min_duration, limits.max_duration, limits.padding
    length = exchange_end - exchange_start
    if length < min_duration:
        raise ClipError(
            f"exchange is {length:.1f} s, shorter than CLIP_MIN_DURATION_SECONDS={min_duration:g} s: "
            "widen it or lower the setting"
        )
    every_word = sorted(words, key=lambda w: w.start)
    words = [w for w in every_word if exchange_start <= _mid(w) <= exchange_end]
    snapped = [_snap_span(span, words, exchange_start, exchange_end) for span in spans]
    fitting, dropped = _merge_or_drop_short(snapped, min_duration, max_duration, limits.max_merge_gap)
    pieces = [piece for span in fitting for piece in _split_long(span, words, min_duration, max_duration)]
    ex_start, ex_end = _snap(exchange_start, exchange_end, words)
    clips = [ClipSpec("exchange", *_pad(ex_start, ex_end, padding, media_duration, every_word), None, 0)]
    for position, (span, note) in enumerate(pieces, start=1):
        bounds = _pad(span.start, span.end, padding, media_duration, every_word)
        clips.append(ClipSpec("speaker", *bounds, span.speaker, position, note))
    for reason in dropped:
        log.info("no clip: %s", reason)
    return ClipPlan(clips=clips, dropped=dropped)


def _mid(word: Word) -> float:
    return (word.start + word.end) / 2


def _words_in(words: Sequence[Word], start: float, end: float) -> list[Word]:
    return [w for w in words if start <= _mid(w) <= end]


def _snap(start: float, end: float, words: Sequence[Word]) -> tuple[float, float]:
    """Move boundaries to the edges of the words mostly inside them, so no clip cuts a word in two."""
    inside = _words_in(words, start, end)
    if not inside:
        return start, end
    return inside[0].start, inside[-1].end


def _snap_span(span: SpeakerSpan, words: Sequence[Word], lo: float, hi: float) -> SpeakerSpan:
    start, end = _snap(max(span.start, lo), min(span.end, hi), words)
    return replace(span, start=start, end=end)


def _pad(
    start: float, end: float, padding: float, media_duration: float | None, words: Sequence[Word] = ()
) -> tuple[float, float]:
    """Widen by `padding`, but never into a neighbouring word, before 0 or past the media's end."""
    previous_end = max((w.end for w in words if w.end <= start + 1e-6), default=0.0)
    next_start = min((w.start for w in words if w.start >= end - 1e-6), default=float("inf"))
    start, end = max(0.0, previous_end, start - padding), min(next_start, end + padding)
    if media_duration is not None:
        end = min(end, media_duration)
    return round(start, 3), round(end, 3)


def _merge_or_drop_short(
    spans: list[SpeakerSpan], min_duration: float, max_duration: float, max_gap: float
) -> tuple[list[SpeakerSpan], list[str]]:
    """Merge each too-short span into its closest adjacent same-speaker span, or drop it with a reason."""
    spans, dropped = list(spans), []
    while (index := next((i for i, s in enumerate(spans) if s.duration < min_duration), None)) is not None:
        partner = _merge_partner(spans, index, max_duration, max_gap)
        if partner is None:
            short = spans.pop(index)
            dropped.append(
                f"{short.speaker} at {short.start:.1f}–{short.end:.1f} s: {short.duration:.1f} s "
                f"is under CLIP_MIN_DURATION_SECONDS={min_duration:g}"
            )
            continue
        first, second = sorted((index, partner))
        spans[first : second + 1] = [replace(spans[first], end=spans[second].end)]
    return spans, dropped


def _merge_partner(spans: list[SpeakerSpan], index: int, max_duration: float, max_gap: float) -> int | None:
    """The adjacent same-speaker span a short one can join without a long silence or an over-long clip."""
    span, options = spans[index], []
    for other in (index - 1, index + 1):
        if not 0 <= other < len(spans) or spans[other].speaker != span.speaker:
            continue
        lo, hi = sorted((span, spans[other]), key=lambda s: s.start)
        gap = hi.start - lo.end
        if gap <= max_gap and hi.end - lo.start <= max_duration:
            options.append((gap, other))
    return min(options)[1] if options else None


def _split_long(
    span: SpeakerSpan, words: Sequence[Word], min_duration: float, max_duration: float
) -> list[tuple[SpeakerSpan, str]]:
    """Pieces of at most `max_duration`, cut between words, at a sentence end when there is one."""
    if span.duration <= max_duration:
        return [(span, "")]
    inside = _words_in(words, span.start, span.end)
    if len(inside) < 2:
        return _even_split(span, max_duration)
    pieces, first, start = [], 0, span.start
    while span.end - start > max_duration:
        last = _choose_cut(inside, first, start, span.end, min_duration, max_duration)
        if last is None:
            break
        pieces.append(replace(span, start=start, end=inside[last].end))
        first, start = last + 1, inside[last + 1].start
    pieces.append(replace(span, start=start, end=span.end))
    return [(piece, f"part {n} of {len(pieces)}") for n, piece in enumerate(pieces, start=1)]


def _even_split(span: SpeakerSpan, max_duration: float) -> list[tuple[SpeakerSpan, str]]:
    """Without word timings there is no word to protect: equal pieces under the limit."""
    count = math.ceil(span.duration / max_duration)
    step = span.duration / count
    return [
        (replace(span, start=span.start + n * step, end=span.start + (n + 1) * step), f"part {n + 1} of {count}")
        for n in range(count)
    ]


def _choose_cut(
    words: list[Word], first: int, start: float, end: float, min_duration: float, max_duration: float
) -> int | None:
    """Index of the last word of the next piece: the latest sentence end that fits, else the widest pause."""
    candidates = [j for j in range(first, len(words) - 1) if words[j].end - start <= max_duration]
    if not candidates:
        return first if first < len(words) - 1 else None
    balanced = [
        j for j in candidates if words[j].end - start >= min_duration and end - words[j + 1].start >= min_duration
    ]
    for pool in (balanced, candidates):
        sentence_ends = [j for j in pool if _ends_sentence(words[j])]
        if sentence_ends:
            return sentence_ends[-1]
        if pool:
            return max(pool, key=lambda j: (words[j + 1].start - words[j].end, j))
    return None


def _ends_sentence(word: Word) -> bool:
    return word.text.strip().rstrip(CLOSING_CHARS).endswith(tuple(SENTENCE_END_CHARS))


def asker_and_answerer(spans: Sequence[SpeakerSpan]) -> tuple[str, str]:
    """Who opens an exchange and who speaks most after them: the asker and the answerer of a Q&A
    marked by hand ("" when nobody else speaks)."""
    if not spans:
        return "", ""
    asker = spans[0].speaker
    others: dict[str, float] = {}
    for span in spans:
        if span.speaker != asker:
            others[span.speaker] = others.get(span.speaker, 0.0) + span.end - span.start
    return asker, max(others, key=others.__getitem__) if others else ""
