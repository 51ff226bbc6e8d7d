"""Phase 2 clip planning: who speaks when inside an exchange, and which clips to cut from it.

`speaker_segments` turns speaker-labelled transcript segments (or raw diarization turns) into clean
speaker stretches inside an exchange window. `define_clips` turns those stretches into clip
definitions: the whole exchange, plus one per speaker turn (a speaker's speech until someone else talks,
whatever pauses it holds) within the configured length limits, ending at a sentence end, every boundary
on a word edge with a short lead-in and tail so no word is clipped, never the same clip twice, each
titled with the exchange's question. Plain values in, dataclasses out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from pipeline.errors import StepError
from pipeline.options import ClipLimits
from pipeline.types import Segment, Turn, Word

log = logging.getLogger(__name__)

SENTENCE_END_CHARS = ".?!…"
CLOSING_CHARS = "\"'”’)]»"
TITLE_CHARACTERS = 60  # a clip's title: its question, shortened at a word boundary
# Another speaker's stretch shorter than this, of at most this many words ("mm-hm", "yeah, right"), is a
# backchannel: it does not end the turn it falls in (the turn's clip keeps it: it is in the sound anyway).
BACKCHANNEL_SECONDS = 1.0
BACKCHANNEL_WORDS = 2
# A turn interrupted mid-sentence runs on to its speaker's sentence end when that comes this soon after.
SENTENCE_REACH_SECONDS = 5.0
SAME_CLIP_SECONDS = 0.1  # clips whose two ends are this close are the same clip


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
    title: str = ""  # the exchange's question, at most TITLE_CHARACTERS long

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
    question: str = "",
) -> ClipPlan:
    """The whole exchange as one clip, then a clip per speaker turn that fits the length limits.

    A turn is a speaker's speech until someone else talks; it ends at a sentence end. Short turns are
    dropped with a reason, long ones split at sentence ends. A turn that is the whole exchange (nobody else
    speaks) or a clip that repeats another is not made twice. Every clip is titled with the question.
    Raises ClipError when the exchange itself is too short.
    """
    min_duration, max_duration = limits.min_duration, limits.max_duration
    length = exchange_end - exchange_start
    if length < min_duration:
        raise ClipError(
            f"exchange is {length:.1f} s, shorter than CLIP_MIN_DURATION_SECONDS={min_duration:g} s: "
            "widen it or lower the setting"
        )
    every_word = sorted(words, key=lambda w: (w.start, w.end))
    words = _words_in(every_word, exchange_start, exchange_end)
    turns = _whole_turns([_snap_span(span, words, exchange_start, exchange_end) for span in spans], words)
    fitting, dropped = _drop_short(_end_at_sentences(turns, every_word, min_duration), min_duration)
    pieces = [p for turn in fitting for p in _split_long(turn, _own(every_word, turn), min_duration, max_duration)]
    if len({turn.speaker for turn in turns}) == 1 and len(pieces) == 1:
        pieces = []  # one speaker's Q&A: the whole-exchange clip is their clip
    title = shorten(question)
    media_end = media_duration if media_duration is not None else math.inf
    whole = ClipSpec(
        "exchange",
        *_pad(*_snap(exchange_start, exchange_end, words), limits, every_word, 0.0, media_end),
        None,
        0,
        title=title,
    )
    clips = [whole]
    for span, note in pieces:  # within the whole-exchange clip, unless a sentence runs on past its end
        end_bound = whole.end if span.end <= exchange_end else media_end
        start, end = _pad(span.start, span.end, limits, every_word, whole.start, end_bound)
        if any(abs(start - c.start) <= SAME_CLIP_SECONDS and abs(end - c.end) <= SAME_CLIP_SECONDS for c in clips):
            continue  # the same clip again
        clips.append(ClipSpec("speaker", start, end, span.speaker, len(clips), note, title))
    for reason in dropped:
        log.info("no clip: %s", reason)
    return ClipPlan(clips=clips, dropped=dropped)


def _mid(word: Word) -> float:
    return (word.start + word.end) / 2


def _words_in(words: Sequence[Word], start: float, end: float) -> list[Word]:
    return [w for w in words if start <= _mid(w) <= end]


def _own(words: Sequence[Word], span: SpeakerSpan) -> list[Word]:
    """The span's words said by its speaker (words of unknown speaker count as theirs)."""
    return [w for w in _words_in(words, span.start, span.end) if w.speaker in (None, span.speaker)]


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
    start: float, end: float, limits: ClipLimits, words: Sequence[Word], lo: float, hi: float
) -> tuple[float, float]:
    """Widen by a lead-in and a tail (Whisper often gives a first word no length, or starts it late), but
    never into a word outside the clip, nor outside [lo, hi]: the media, or the whole-exchange clip."""
    lead, tail = max(limits.padding, limits.lead_in), max(limits.padding, limits.tail)
    before = max((w.end for w in words if _mid(w) < start), default=lo)
    after = min((w.start for w in words if _mid(w) > end), default=hi)
    start = max(lo, min(start, max(before, start - lead)))
    end = min(hi, max(end, min(after, end + tail)))
    return round(start, 3), round(end, 3)


def _whole_turns(spans: list[SpeakerSpan], words: Sequence[Word]) -> list[SpeakerSpan]:
    """Each speaker's speech until someone else talks: a speaker's stretches joined across any pause, and
    across another speaker's backchannel between two of them (it stays in the clip, it does not end it)."""
    turns = _join_same_speaker(spans)
    while True:
        inner = range(1, len(turns) - 1)
        found = next(
            (i for i in inner if turns[i - 1].speaker == turns[i + 1].speaker and _is_backchannel(turns[i], words)),
            None,
        )
        if found is None:
            return turns
        turns[found - 1 : found + 2] = [replace(turns[found - 1], end=max(turns[found - 1].end, turns[found + 1].end))]


def _join_same_speaker(spans: list[SpeakerSpan]) -> list[SpeakerSpan]:
    joined: list[SpeakerSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if joined and joined[-1].speaker == span.speaker:
            joined[-1] = replace(joined[-1], end=max(joined[-1].end, span.end))
        else:
            joined.append(span)
    return joined


def _is_backchannel(span: SpeakerSpan, words: Sequence[Word]) -> bool:
    """ "Mm-hm", "yeah, right": under BACKCHANNEL_SECONDS and at most BACKCHANNEL_WORDS words."""
    return span.duration < BACKCHANNEL_SECONDS and len(_own(words, span)) <= BACKCHANNEL_WORDS


def _end_at_sentences(turns: list[SpeakerSpan], words: Sequence[Word], min_duration: float) -> list[SpeakerSpan]:
    """Turns that end at a sentence end. One that stops mid-sentence runs on to where its speaker finishes
    the sentence, if that is within SENTENCE_REACH_SECONDS: through an interruption to their next turn, or
    past the end of a Q&A marked by hand; else it ends at its last sentence end, if at least
    `min_duration` is left (a turn with no sentence end at all stays whole). `words`: every word."""
    ended, taken = [], set()
    for index, turn in enumerate(turns):
        if index in taken:
            continue
        while (own := _own(words, turn)) and not _ends_sentence(own[-1]):
            finish, interrupted = _sentence_finish(words, own[-1], turn.speaker)
            later = (
                None
                if finish is None
                else next(
                    (
                        k
                        for k, t in enumerate(turns)
                        if k > index and k not in taken and t.start <= _mid(finish) <= t.end
                    ),
                    None,
                )
            )
            if later is not None and turns[later].speaker == turn.speaker:
                turn = replace(turn, end=turns[later].end)  # the sentence goes on after an interruption
                taken.add(later)
                continue
            if finish is not None and not interrupted and all(t.start <= turn.end for t in turns[index + 1 :]):
                turn = replace(turn, end=finish.end)  # the last turn: it goes on past the exchange's end
                continue
            sentence_ends = [w for w in own if _ends_sentence(w) and w.end - turn.start >= min_duration]
            if sentence_ends:
                turn = replace(turn, end=sentence_ends[-1].end)
            break
        ended.append(turn)
    return ended


def _sentence_finish(words: Sequence[Word], last: Word, speaker: str) -> tuple[Word | None, bool]:
    """The speaker's first word after `last` that ends a sentence, if it comes within SENTENCE_REACH_SECONDS,
    and whether someone else speaks in between."""
    interrupted = False
    for word in words:
        if _mid(word) <= _mid(last) or word is last:
            continue
        if word.end - last.end > SENTENCE_REACH_SECONDS:
            break
        if word.speaker not in (None, speaker):
            interrupted = True
        elif _ends_sentence(word):
            return word, interrupted
    return None, interrupted


def _drop_short(turns: list[SpeakerSpan], min_duration: float) -> tuple[list[SpeakerSpan], list[str]]:
    """Turns long enough for a clip, and why each other one got none."""
    dropped = [
        f"{turn.speaker} at {turn.start:.1f}–{turn.end:.1f} s: {turn.duration:.1f} s "
        f"is under CLIP_MIN_DURATION_SECONDS={min_duration:g}"
        for turn in turns
        if turn.duration < min_duration
    ]
    return [turn for turn in turns if turn.duration >= min_duration], dropped


def _split_long(
    span: SpeakerSpan, words: Sequence[Word], min_duration: float, max_duration: float
) -> list[tuple[SpeakerSpan, str]]:
    """Pieces of at most `max_duration`, cut between the speaker's words, at a sentence end when there is one."""
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
    """Index of the last word of the next piece: the latest sentence end that fits (one leaving both pieces
    the minimum length first), else, in a sentence longer than the limit, the widest pause."""
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
    pool = balanced or candidates
    return max(pool, key=lambda j: (words[j + 1].start - words[j].end, j))


def _ends_sentence(word: Word) -> bool:
    return word.text.strip().rstrip(CLOSING_CHARS).endswith(tuple(SENTENCE_END_CHARS))


def shorten(text: str, limit: int = TITLE_CHARACTERS) -> str:
    """The text on one line in at most `limit` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if text[limit - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]  # no half word
    return cut.rstrip(" ,;:—–-") + "…"


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
