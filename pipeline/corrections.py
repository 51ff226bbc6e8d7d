"""Fixing what Whisper misheard: a line's or a word's new text laid on the old timings, so the subtitles,
captions, search and cuts made from the transcript say what was really said.

Words that did not change keep their times, and so does a word typed in place of one other. Words typed
in place of a different number of others share their time by length ("radioclock" → "radio clock"); a
word added between two others takes the pause between them, or shares its neighbour's time when there is
none; a deleted word is gone.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import replace

from pipeline.alignment import join_words
from pipeline.types import Segment, Word

MIN_PAUSE_SECONDS = 0.08  # a pause shorter than this cannot hold an added word: it shares its neighbour's
MAX_LINE_CHARACTERS = 2000
MAX_WORD_CHARACTERS = 200


class CorrectionError(ValueError):
    """A correction that cannot be made; the message says why."""


def retext(segment: Segment, text: str) -> Segment:
    """The segment saying `text` instead, on its own timings (see the module's note)."""
    tokens = _tokens(text, MAX_LINE_CHARACTERS, "a line")
    old = list(segment.words)
    if not old:  # no word times: only the line's text changes
        return replace(segment, text=" ".join(tokens))
    matcher = difflib.SequenceMatcher(a=[word.text.strip() for word in old], b=tokens, autojunk=False)
    words: list[Word] = []
    taken = 0  # old words already laid out with added ones (an addition at the very start shares the first)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            words += old[max(i1, taken) : i2]
        elif tag == "replace" and i2 - i1 == j2 - j1:  # word for word: each keeps its own times
            pairs = zip(old[i1:i2], tokens[j1:j2], strict=True)
            words += [replace(word, text=token, probability=None) for word, token in pairs]
        elif tag == "replace":
            words += _spread(tokens[j1:j2], old[i1].start, old[i2 - 1].end, old[i1].speaker)
        elif tag == "insert":
            words, taken = _inserted(words, tokens[j1:j2], old, i1, segment)
    return _with_words(segment, words)


def retext_word(segment: Segment, index: int, text: str) -> Segment:
    """The segment with its `index`-th word replaced by `text` (its times kept; several words share them)
    or, when `text` is empty, removed."""
    if not 0 <= index < len(segment.words):
        raise CorrectionError(f"this line has no word {index + 1}: reload the transcript")
    tokens = _tokens(text, MAX_WORD_CHARACTERS, "a word", empty_ok=True)
    word = segment.words[index]
    words = list(segment.words)
    words[index : index + 1] = _spread(tokens, word.start, word.end, word.speaker)
    if not words:
        raise CorrectionError("a line cannot lose its last word: fix the words, or leave it")
    return _with_words(segment, words)


def carry_over(segments: Sequence[Segment], before: Segment, after: Segment) -> list[Segment]:
    """The same correction made in another version of the transcript (the one Whisper gave, before
    speakers were assigned, which alignment reads again): its words are found by their times."""
    if not before.words:
        return [
            replace(s, text=after.text) if abs(s.start - before.start) < 0.01 and s.text == before.text else s
            for s in segments
        ]
    times = {(word.start, word.end) for word in before.words}
    corrected, placed = [], False
    for segment in segments:
        if not any((word.start, word.end) in times for word in segment.words):
            corrected.append(segment)
            continue
        words: list[Word] = []
        for word in segment.words:
            if (word.start, word.end) not in times:
                words.append(word)
            elif not placed:  # the corrected words go where the first old one was, as that version has them
                words += [replace(new, speaker=word.speaker, probability=None) for new in after.words]
                placed = True
        if words:
            corrected.append(_with_words(segment, words))
    return corrected


def _tokens(text: object, limit: int, what: str, empty_ok: bool = False) -> list[str]:
    if not isinstance(text, str) or len(text) > limit:
        raise CorrectionError(f"{what} must be text of at most {limit} characters")
    tokens = text.split()
    if not tokens and not empty_ok:
        raise CorrectionError(f"{what} cannot be empty: type what was said")
    return tokens


def _spread(tokens: Sequence[str], start: float, end: float, speaker: str | None) -> list[Word]:
    """Words sharing [start, end] in proportion to their length (a space counted with each)."""
    total = sum(len(token) + 1 for token in tokens)
    words, at = [], 0
    for token in tokens:
        first = start + (end - start) * at / total
        at += len(token) + 1
        words.append(Word(round(first, 3), round(start + (end - start) * at / total, 3), token, None, speaker))
    return words


def _inserted(
    words: list[Word], tokens: list[str], old: list[Word], at: int, segment: Segment
) -> tuple[list[Word], int]:
    """Added words go in the pause before old word `at`, or share the time of the word before them (of the
    word after, at the very start) when there is no pause. Returns the words and how many old words are
    laid out already."""
    previous = words[-1] if words else None
    following = old[at] if at < len(old) else None
    pause_from = previous.end if previous else segment.start
    pause_to = following.start if following else segment.end
    neighbour = previous or following
    if pause_to - pause_from >= MIN_PAUSE_SECONDS or neighbour is None:
        speaker = neighbour.speaker if neighbour else segment.speaker
        return [*words, *_spread(tokens, pause_from, pause_to, speaker)], 0
    if previous is not None:
        shared = _spread([previous.text.strip(), *tokens], previous.start, previous.end, previous.speaker)
        return [*words[:-1], replace(previous, end=shared[0].end), *shared[1:]], 0
    following = neighbour  # with no previous word, the neighbour (not None here) is the word that follows
    shared = _spread([*tokens, following.text.strip()], following.start, following.end, following.speaker)
    return [*shared[:-1], replace(following, start=shared[-1].start)], at + 1


def _with_words(segment: Segment, words: list[Word]) -> Segment:
    return replace(
        segment,
        start=min(segment.start, words[0].start),
        end=max(segment.end, words[-1].end),
        text=join_words(words),
        words=tuple(words),
    )
