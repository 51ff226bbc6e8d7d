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

from pipeline.types import Segment, Turn, Word

log = logging.getLogger(__name__)

# A word outside every turn takes the nearest turn's speaker only when that turn is this close.
NEAREST_TURN_SECONDS = 1.0
# A pause this long ends a sentence even without punctuation.
SENTENCE_PAUSE_SECONDS = 1.0
# Inside one sentence, another speaker's run shorter than this is boundary noise of the diarization.
MIN_RUN_SECONDS = 1.0
# How far (in words) a real speaker change may move to reach the pause where the hand-over happened.
BOUNDARY_SEARCH_WORDS = 3
_SENTENCE_END = (".", "?", "!", "…")

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
    can be cut per speaker. With no turns at all, speakers stay None.

    Diarization boundaries are fuzzy by a few hundred milliseconds, so word by word they chop sentences
    ("I'm" / "in New" / "Jersey now"). A sentence therefore keeps one speaker unless a real change
    happens inside it (see `_one_speaker_per_sentence`)."""
    index = _TurnIndex.build(turns)
    spans = [(w.start, w.end) for s in segments for w in s.words or (s,)]
    speakers = iter(index.speakers_for(spans))
    labelled: list[Segment | tuple[Word, ...]] = []
    for segment in segments:
        if not segment.words:
            labelled.append(_replace_speaker(segment, next(speakers)))
        else:
            labelled.append(_fill_unknown(tuple(w.with_speaker(next(speakers)) for w in segment.words)))
    smoothed = iter(_one_speaker_per_sentence([w for item in labelled if isinstance(item, tuple) for w in item]))
    aligned: list[Segment] = []
    for item in labelled:
        if isinstance(item, Segment):
            aligned.append(item)
        else:
            aligned.extend(_split_by_speaker(tuple(next(smoothed) for _ in item)))
    log.debug("aligned %d segments into %d with %d turns", len(segments), len(aligned), len(index.turns))
    return aligned


def _one_speaker_per_sentence(words: list[Word]) -> list[Word]:
    """Within a sentence (ended by its punctuation or a long pause, across segment boundaries), a run of
    words by another speaker shorter than MIN_RUN_SECONDS is diarization noise: it takes the speaker of
    the longer neighbouring run. A change that remains is real; it moves to the widest pause between
    words near it, where speakers actually hand over."""
    result = list(words)
    for sentence in _sentence_spans(words):
        runs = _merge_short_runs(_runs(result, sentence))
        for (speaker, first, last), following in zip(runs, [*runs[1:], None], strict=True):
            if following is not None:
                boundary = _widest_pause(result, following[1], first, following[2])
                runs_end = boundary - 1
            else:
                runs_end = last
            for k in range(first, runs_end + 1):
                result[k] = result[k].with_speaker(speaker)
            if following is not None:
                following[1] = boundary
    return result


def _sentence_spans(words: list[Word]) -> list[tuple[int, int]]:
    """(first, last) word indices of each sentence."""
    spans, first = [], 0
    for k, word in enumerate(words):
        at_end = k == len(words) - 1
        pause = not at_end and words[k + 1].start - word.end >= SENTENCE_PAUSE_SECONDS
        if at_end or pause or word.text.rstrip().endswith(_SENTENCE_END):
            spans.append((first, k))
            first = k + 1
    return spans


def _runs(words: list[Word], sentence: tuple[int, int]) -> list[list]:
    """[speaker, first, last] for each run of one speaker inside the sentence."""
    runs: list[list] = []
    for k in range(sentence[0], sentence[1] + 1):
        if runs and runs[-1][0] == words[k].speaker:
            runs[-1][2] = k
        else:
            runs.append([words[k].speaker, k, k])
    for run in runs:
        run.append(words[run[1]].start)
        run.append(words[run[2]].end)
    return runs


def _merge_short_runs(runs: list[list]) -> list[list]:
    """Fold runs under MIN_RUN_SECONDS into their longer neighbour, until none is left; the speaker heard
    least in the sentence goes first, so a sentence's main speaker is never folded into a stray one."""
    runs = [list(run) for run in runs]
    while len(runs) > 1:
        heard: dict[str | None, float] = {}
        for run in runs:
            heard[run[0]] = heard.get(run[0], 0.0) + run[4] - run[3]
        short = [i for i, run in enumerate(runs) if run[4] - run[3] < MIN_RUN_SECONDS and run[0] is not None]
        neighbours = {i: [j for j in (i - 1, i + 1) if 0 <= j < len(runs) and runs[j][0] is not None] for i in short}
        short = [i for i in short if neighbours[i]]
        if not short:
            break
        shortest = min(short, key=lambda i: (heard[runs[i][0]], runs[i][4] - runs[i][3]))
        run = runs[shortest]
        into = max(neighbours[shortest], key=lambda i: runs[i][4] - runs[i][3])
        target = runs[into]
        target[1], target[2] = min(target[1], run[1]), max(target[2], run[2])
        target[3], target[4] = min(target[3], run[3]), max(target[4], run[4])
        del runs[shortest]
        runs = _join_same_speaker(runs)
    return [run[:3] for run in runs]


def _join_same_speaker(runs: list[list]) -> list[list]:
    joined: list[list] = []
    for run in runs:
        if joined and joined[-1][0] == run[0]:
            joined[-1][2], joined[-1][4] = run[2], run[4]
        else:
            joined.append(run)
    return joined


def _widest_pause(words: list[Word], boundary: int, first: int, last: int) -> int:
    """The index where the next speaker starts: the widest pause within BOUNDARY_SEARCH_WORDS of the
    diarization's boundary, keeping a word on each side; the nearest one on a tie."""
    low, high = max(first + 1, boundary - BOUNDARY_SEARCH_WORDS), min(last, boundary + BOUNDARY_SEARCH_WORDS)
    candidates = range(low, high + 1)
    return max(candidates, key=lambda k: (round(words[k].start - words[k - 1].end, 2), -abs(k - boundary)))


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
    for word, gap in zip(words, word_gaps(words), strict=True):
        pieces += [gap, word.text]
    return " ".join("".join(pieces).split())


# Written without spaces between words: Whisper's words in these languages get none.
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "km", "bo", "yue"})


def word_gaps(words: Sequence[Word], language: str | None = None) -> list[str]:
    """What goes before each word when they are shown one after another: a space, except first, before
    punctuation, for a word that carries its own, or in a language written without spaces."""
    if language in UNSPACED_LANGUAGES:
        return [""] * len(words)
    return [
        " " if index and word.text and not word.text[0].isspace() and word.text[0] not in _NO_SPACE_BEFORE else ""
        for index, word in enumerate(words)
    ]
