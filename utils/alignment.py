"""Speaker alignment: give every transcribed word and segment the speaker diarization heard there.

Transcription and diarization run independently, so their boundaries disagree. Each word takes the
speaker whose turns overlap it most; segments are then split wherever the word speaker changes, so a
segment always belongs to one speaker. Words and turns are swept once in time order, so each word only
meets the turns open around it: about O((words + turns) · log) for long videos.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from utils.transcript import Segment, Turn, Word

log = logging.getLogger(__name__)

# A word outside every turn takes the nearest turn's speaker only when that turn is this close.
NEAREST_TURN_SECONDS = 1.0

_NO_SPACE_BEFORE = set(",.;:!?%)]}…")


@dataclass(frozen=True)
class _TurnIndex:
    """Turns sorted by start, with the running maximum of ends, for nearest-turn look-ups by bisection."""

    turns: tuple[Turn, ...]
    starts: tuple[float, ...]
    max_end_at: tuple[int, ...]

    @classmethod
    def build(cls, turns: Sequence[Turn]) -> _TurnIndex:
        ordered = tuple(sorted((t for t in turns if t.end > t.start), key=lambda t: (t.start, t.end)))
        max_end_at: list[int] = []
        for i, turn in enumerate(ordered):
            longest = max_end_at[-1] if max_end_at else i
            max_end_at.append(i if turn.end > ordered[longest].end else longest)
        return cls(ordered, tuple(t.start for t in ordered), tuple(max_end_at))

    def speakers_for(self, spans: Sequence[tuple[float, float]]) -> list[str | None]:
        """A speaker per (start, end) span: one sweep over spans and turns in time order, so each span
        only meets the turns still open around it."""
        speakers: list[str | None] = [None] * len(spans)
        if not self.turns:
            return speakers
        active: list[Turn] = []
        following = 0
        for k in sorted(range(len(spans)), key=lambda k: spans[k][0]):
            start, end = spans[k][0], max(spans[k])
            while following < len(self.turns) and self.turns[following].start <= end:
                active.append(self.turns[following])
                following += 1
            active = [turn for turn in active if turn.end > start]
            speakers[k] = _most_overlap(active, start, end) or self._nearest(start, end)
        return speakers

    def _nearest(self, start: float, end: float, within: float = NEAREST_TURN_SECONDS) -> str | None:
        best: tuple[float, str] | None = None
        after = bisect.bisect_left(self.starts, end)
        if after < len(self.turns):
            best = (self.turns[after].start - end, self.turns[after].speaker)
        if after > 0:
            before = self.turns[self.max_end_at[after - 1]]
            distance = start - before.end
            if best is None or distance <= best[0]:
                best = (distance, before.speaker)
        if best is None or best[0] > within:
            return None
        return best[1]


def _most_overlap(turns: list[Turn], start: float, end: float) -> str | None:
    """The speaker whose turns cover most of [start, end] (to the millisecond); on a tie, the one whose
    turns it fills more, so a short interjection inside a long overlapping turn keeps its own speaker.
    A zero-length word (faster-whisper makes some) takes the turn that contains its instant."""
    totals: dict[str, tuple[float, float]] = {}
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > 0 or (start == end and turn.start <= start < turn.end):
            overlap = max(overlap, 1e-9)
            covered, share = totals.get(turn.speaker, (0.0, 0.0))
            totals[turn.speaker] = (covered + overlap, share + overlap / (turn.end - turn.start))
    if not totals:
        return None
    return max(totals.items(), key=lambda item: (round(item[1][0], 3), item[1][1]))[0]


def assign_speakers(segments: Sequence[Segment], turns: Sequence[Turn]) -> list[Segment]:
    """Give each word its speaker and split segments where the speaker changes, so clips and subtitles
    can be cut per speaker. With no turns at all, speakers stay None."""
    index = _TurnIndex.build(turns)
    spans = [(w.start, w.end) for s in segments for w in s.words or (s,)]
    speakers = iter(index.speakers_for(spans))
    aligned: list[Segment] = []
    for segment in segments:
        if not segment.words:
            aligned.append(_replace_speaker(segment, next(speakers)))
            continue
        words = _fill_unknown(tuple(w.with_speaker(next(speakers)) for w in segment.words))
        aligned.extend(_split_by_speaker(words))
    log.debug("aligned %d segments into %d with %d turns", len(segments), len(aligned), len(index.turns))
    return aligned


def _replace_speaker(segment: Segment, speaker: str | None) -> Segment:
    return Segment(start=segment.start, end=segment.end, text=segment.text, words=segment.words, speaker=speaker)


def _fill_unknown(words: tuple[Word, ...]) -> tuple[Word, ...]:
    """A word far from any turn (a gap in diarization) joins its neighbour in the same segment
    rather than breaking the segment apart."""
    if all(w.speaker is None for w in words) or all(w.speaker is not None for w in words):
        return words
    filled = list(words)
    previous: str | None = None
    for i, word in enumerate(filled):
        if word.speaker is None and previous is not None:
            filled[i] = word.with_speaker(previous)
        previous = filled[i].speaker
    following: str | None = None
    for i in range(len(filled) - 1, -1, -1):
        if filled[i].speaker is None and following is not None:
            filled[i] = filled[i].with_speaker(following)
        following = filled[i].speaker
    return tuple(filled)


def _split_by_speaker(words: tuple[Word, ...]) -> list[Segment]:
    runs: list[list[Word]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    return [segment_from_words(run) for run in runs]


def segment_from_words(words: Sequence[Word]) -> Segment:
    """A segment whose times, text and speaker come from its words (all one speaker)."""
    return Segment(
        start=min(w.start for w in words),
        end=max(w.end for w in words),
        text=join_words(words),
        words=tuple(words),
        speaker=words[0].speaker,
    )


def join_words(words: Sequence[Word]) -> str:
    """Natural text from words: faster-whisper words carry their leading space; bare words get one."""
    pieces: list[str] = []
    for word in words:
        text = word.text
        if pieces and text and not text[0].isspace() and text[0] not in _NO_SPACE_BEFORE:
            pieces.append(" ")
        pieces.append(text)
    return " ".join("".join(pieces).split())
