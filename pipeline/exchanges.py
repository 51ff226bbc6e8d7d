"""Question-and-answer exchanges in a speaker-labelled transcript (the output of `assign_speakers`).

The transcript is cut into sentences (word punctuation, speaker changes and long pauses end one) and
grouped into floors: consecutive sentences by one speaker. Short backchannels ("mm-hmm", "right")
are dropped first, so they neither break an answer nor start one. An exchange is a question by one
speaker answered by another; it runs from the question's first sentence to the answer's last one.
The answer ends at the next question, by anyone, when the asker takes the floor for a long turn, or
when the asker thanks the guest or moves on ("thank you for joining us", "let's move on");
a question its own speaker goes on to answer (an echo opening a reply, or a rhetorical one followed by
a long stretch of their own talk) is part of the speech around it, not a new question.

What asks, answers in passing or closes depends on the language (`ExchangeConfig.language`): each one's
question words, backchannels and closing remarks are data in `questions.toml` (`languages.rules`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from pipeline import languages
from pipeline.alignment import join_words
from pipeline.types import Exchange, Segment, Word

log = logging.getLogger(__name__)

_ENGLISH = languages.rules(languages.ENGLISH)
BACKCHANNELS: tuple[str, ...] = _ENGLISH.backchannels
INTERROGATIVES = frozenset(phrase[0] for phrase in _ENGLISH.question_words)
AUXILIARIES = _ENGLISH.inverted_verbs
# The asker thanking the guest or turning to something else: the answer is over, however short the remark
# ("Brian, thank you very much."). Matched near the start of the asker's next sentence.
CLOSING_REMARKS = _ENGLISH.closing_remarks
CLOSING_REMARK_REACH = 3  # tokens allowed before the phrase: a name or a filler ("Brian, thank you")

_TOKEN = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")  # words of any alphabet: "qué", "qu'est-ce", "mm-hmm"
_ENDS_QUESTION = re.compile(r"[?？][\s\"'”’»)\]!.…」』]*$")  # "？": Chinese and Japanese
_ENDS_SENTENCE = re.compile(r"[.?!…。？！][\s\"'”’»)\]」』]*$")
_TEXT_SENTENCE = re.compile(r"[^.?!…。？！]+(?:[.?!…。？！]+[\"'”’»)\]」』]*|$)")


@dataclass(frozen=True)
class ExchangeConfig:
    """Thresholds for finding exchanges; the defaults suit interviews and podcasts."""

    backchannel_max_seconds: float = 1.5  # a floor this short made only of backchannel words is ignored
    asker_long_turn_seconds: float = 4.0  # the asker speaking this long (no question) ends the answer
    min_answer_seconds: float = 1.0  # shorter answers make no exchange
    max_answer_delay_seconds: float = 8.0  # longest silence between the question and the answer
    max_answer_gap_seconds: float = 8.0  # longest pause inside an answer
    max_question_tail_seconds: float = 8.0  # a question followed by this much of its speaker's talk is rhetorical
    sentence_gap_seconds: float = 1.5  # a pause this long ends a sentence even without punctuation
    min_exchange_seconds: float = 0.0  # shorter ones join a follow-up question or are left out (clip minimum)
    backchannels: tuple[str, ...] = BACKCHANNELS  # the language's own are added (questions.toml)
    language: str | None = None  # the transcript's (Whisper's code); None: English


DEFAULT_CONFIG = ExchangeConfig()


@dataclass(frozen=True)
class _Sentence:
    start: float
    end: float
    text: str
    speaker: str | None
    question: bool


@dataclass(frozen=True)
class _Floor:
    """Consecutive sentences by one speaker."""

    speaker: str
    sentences: tuple[_Sentence, ...]

    @property
    def start(self) -> float:
        return self.sentences[0].start

    @property
    def end(self) -> float:
        return self.sentences[-1].end

    @property
    def has_question(self) -> bool:
        return any(s.question for s in self.sentences)


def is_question(text: str, language: str | None = None) -> bool:
    """A sentence asks something: it ends in "?" (or opens with "¿"), or opens, after fillers, with a
    question word of its language ("what", "qué", "est-ce") not followed by a clause, or with an inverted
    verb and a subject ("do you", "hast du", "pensez-vous"). Transcripts often drop the question mark."""
    rules = languages.rules(language)
    if _ENDS_QUESTION.search(text) or (rules.opening_question_mark and rules.opening_question_mark in text):
        return True
    if rules.opening_exclamation and rules.opening_exclamation in text:
        return False  # "¡Qué bonito!" exclaims
    if rules.question_endings and "".join(text.split()).rstrip("。.!！…").endswith(rules.question_endings):
        return True  # "いらっしゃいますか"
    tokens = _skip_fillers(_tokens(text), rules)
    if len(tokens) < 2:
        return False
    first, second = tokens[0], tokens[1]
    for size in range(min(rules.longest_question, len(tokens)), 1, -1):
        if tuple(tokens[:size]) in rules.question_words:
            return True  # "por qué", "o que", "che cosa"
    if (first,) in rules.question_words:
        return second not in rules.not_after and second not in rules.not_after_word.get(first, ())
    if first in rules.inverted_verbs:
        return (
            second in rules.subjects
            and second not in rules.not_inverted.get(first, ())
            and not (rules.agreement and rules.agreement.match(_lower(text)))
        )
    return any(first.endswith(suffix) for suffix in rules.inversion_suffixes)


def is_closing_remark(text: str, language: str | None = None) -> bool:
    """A sentence that wraps up an answer or turns away from it: "Thank you very much", "Let's move on",
    "Muchas gracias"."""
    tokens = _tokens(text)
    return any(
        tuple(tokens[at : at + len(phrase)]) == phrase
        for phrase in _phrases(languages.rules(language).closing_remarks)
        for at in range(min(CLOSING_REMARK_REACH, len(tokens)) + 1)
    )


def find_exchanges(segments: Sequence[Segment], config: ExchangeConfig = DEFAULT_CONFIG) -> list[Exchange]:
    """Question-and-answer exchanges in time order, the candidates for clips; every one lasts at least
    `config.min_exchange_seconds`, so each can be cut into a clip."""
    return _long_enough(_all_exchanges(segments, config), config)[0]


def explain_short_exchanges(segments: Sequence[Segment], config: ExchangeConfig = DEFAULT_CONFIG) -> str | None:
    """What was left out for being too short to make a clip, in words for the UI; None when nothing was."""
    dropped = _long_enough(_all_exchanges(segments, config), config)[1]
    if not dropped:
        return None
    shown = ", ".join(f"{e.start:.0f}–{e.end:.0f} s" for e in dropped[:5])
    return (
        f"{len(dropped)} question-and-answer pair{'s' if len(dropped) > 1 else ''} shorter than "
        f"{config.min_exchange_seconds:g} s (CLIP_MIN_DURATION_SECONDS) left out: {shown}; add one by hand to keep it"
    )


def _all_exchanges(segments: Sequence[Segment], config: ExchangeConfig) -> list[Exchange]:
    floors = _floors(_sentences(segments, config), config)
    exchanges: list[Exchange] = []
    i = 0
    while i < len(floors):
        exchange, following = _exchange_at(floors, i, config)
        if exchange is not None:
            exchanges.append(exchange)
        i = max(following, i + 1)
    log.debug("found %d exchanges in %d floors", len(exchanges), len(floors))
    return exchanges


def _long_enough(exchanges: list[Exchange], config: ExchangeConfig) -> tuple[list[Exchange], list[Exchange]]:
    """(kept, dropped): an exchange too short for a clip joins the next one when the same person asks it
    soon after (a follow-up question, as in "And your new baby?"), else it is left out."""
    kept: list[Exchange] = []
    dropped: list[Exchange] = []
    pending: Exchange | None = None
    for exchange in exchanges:
        if pending is not None:
            close = exchange.start - pending.end <= config.max_answer_delay_seconds
            if close and exchange.asker == pending.asker:
                exchange = _joined(pending, exchange)
            else:
                dropped.append(pending)
            pending = None
        if exchange.end - exchange.start < config.min_exchange_seconds:
            pending = exchange
        else:
            kept.append(exchange)
    if pending is not None:
        dropped.append(pending)
    return kept, dropped


def _joined(short: Exchange, following: Exchange) -> Exchange:
    note = (
        f"joined with the follow-up question: alone, {short.question!r} and its answer lasted "
        f"{short.end - short.start:.1f} s, too short for a clip"
    )
    return Exchange(
        start=short.start,
        end=following.end,
        question=f"{short.question} {following.question}",
        asker=short.asker,
        answerer=following.answerer,
        note="; ".join(filter(None, [short.note, note])),
    )


def explain_no_exchanges(segments: Sequence[Segment], config: ExchangeConfig = DEFAULT_CONFIG) -> str | None:
    """Why `find_exchanges` finds nothing, in words for the UI; None when it finds something."""
    if _all_exchanges(segments, config):
        return None
    sentences = _sentences(segments, config)
    if not any(_tokens(s.text) for s in sentences):
        return "no speech was transcribed"
    if all(s.speaker is None for s in sentences):
        return "no speaker labels: run speaker diarization first"
    floors = _floors(sentences, config)
    if len({f.speaker for f in floors}) < 2:
        return "only one speaker was found"
    if not any(f.has_question for f in floors):
        return "no questions were found"
    return "no question was answered by another speaker"


def _exchange_at(floors: list[_Floor], i: int, config: ExchangeConfig) -> tuple[Exchange | None, int]:
    """The exchange opened by floor i's question, if any, and the floor to look at next."""
    floor = floors[i]
    block = _question_block(floor)
    if block is None or floor.end - floor.sentences[block.stop - 1].end > config.max_question_tail_seconds:
        return None, i + 1
    answer, following = _answer_after(floors, i, config)
    if not answer or answer[-1].end - answer[0].start < config.min_answer_seconds:
        return None, following
    question = floor.sentences[block]
    exchange = Exchange(
        start=question[0].start,
        end=answer[-1].end,
        question=" ".join(s.text for s in question),
        asker=floor.speaker,
        answerer=answer[0].speaker or "",
    )
    return exchange, following


SENTENCE_MAX_SECONDS = 30.0  # a "sentence" longer than this is a run-on without punctuation: not one


@dataclass(frozen=True)
class Span:
    """A stretch of speech: its times and its words as text."""

    start: float
    end: float
    text: str


def sentence_around(
    segments: Sequence[Segment],
    start: float,
    end: float,
    matches: Callable[[str], bool],
    config: ExchangeConfig = DEFAULT_CONFIG,
) -> Span | None:
    """The whole sentence(s) a transcript segment [start, end] belongs to, as found by a search: of the
    sentences overlapping it, those whose text `matches` (all of them when none does), from the first to
    the last; None when that would run longer than SENTENCE_MAX_SECONDS. A Whisper segment is often a
    fragment ("when you have to reset your radio clock,"): the sentence reaches into its neighbours."""
    found = [s for s in _sentences(segments, config) if s.end > start + 0.01 and s.start < end - 0.01]
    chosen = [s for s in found if matches(s.text)] or found
    if not chosen or chosen[-1].end - chosen[0].start > SENTENCE_MAX_SECONDS:
        return None
    inside = [s for s in found if chosen[0].start <= s.start and s.end <= chosen[-1].end]
    return Span(chosen[0].start, chosen[-1].end, " ".join(s.text for s in inside))


def marked_exchange(
    segments: Sequence[Segment], start: float, end: float, config: ExchangeConfig = DEFAULT_CONFIG
) -> Exchange:
    """A stretch marked by hand, or trimmed: only the words inside it count (those whose middle is in it).
    The asker is who speaks first; the question, their opening sentences up to the last one that asks
    something (all of them when none does); the answerer, whoever else speaks longest."""
    words = [word for word in _timed_words(segments) if start <= (word.start + word.end) / 2 <= end]
    sentences = _word_sentences(words, config.sentence_gap_seconds, config.language)
    if not sentences:
        return Exchange(start, end, "", "", "")
    asker = sentences[0].speaker
    opening = []
    for sentence in sentences:
        if sentence.speaker != asker:
            break
        opening.append(sentence)
    asked = [k for k, sentence in enumerate(opening) if sentence.question]
    question = " ".join(sentence.text for sentence in opening[: asked[-1] + 1 if asked else len(opening)])
    talk: dict[str, float] = {}
    for word in words:
        if word.speaker and word.speaker != asker:
            talk[word.speaker] = talk.get(word.speaker, 0.0) + word.end - word.start
    answerer = max(talk, key=talk.__getitem__) if talk else ""
    return Exchange(start, end, question, asker or "", answerer)


def _question_block(floor: _Floor) -> slice | None:
    """The last run of consecutive question sentences in a floor: the question that waits for an answer."""
    last = next((k for k in range(len(floor.sentences) - 1, -1, -1) if floor.sentences[k].question), None)
    if last is None:
        return None
    first = last
    while first > 0 and floor.sentences[first - 1].question:
        first -= 1
    return slice(first, last + 1)


def _answer_after(floors: list[_Floor], i: int, config: ExchangeConfig) -> tuple[list[_Sentence], int]:
    """Other speakers' sentences after floor i's question, up to the next question or the asker's long turn."""
    asker = floors[i].speaker
    answer: list[_Sentence] = []
    for j in range(i + 1, len(floors)):
        floor = floors[j]
        if floor.speaker == asker:
            if floor.has_question or floor.end - floor.start >= config.asker_long_turn_seconds:
                return answer, j
            if is_closing_remark(floor.sentences[0].text, config.language):
                return answer, j
            continue  # a short remark by the asker does not end the answer
        if not _extend_answer(answer, floor, floors[i].end, config):
            return answer, j
    return answer, len(floors)


def _extend_answer(answer: list[_Sentence], floor: _Floor, question_end: float, config: ExchangeConfig) -> bool:
    """Add a floor's sentences to the answer; False where the answer stops inside it (a question, a pause)."""
    k = 0
    while k < len(floor.sentences):
        last_end = answer[-1].end if answer else question_end
        limit = config.max_answer_gap_seconds if answer else config.max_answer_delay_seconds
        if floor.sentences[k].start - last_end > limit:
            return False
        stop = k
        if floor.sentences[k].question:
            stop = _question_run_end(floor, k)
            if not _answers_itself(floor, stop, config, opening=not answer):
                return False
        answer.extend(floor.sentences[k : stop + 1])
        k = stop + 1
    return True


def _question_run_end(floor: _Floor, k: int) -> int:
    while k + 1 < len(floor.sentences) and floor.sentences[k + 1].question:
        k += 1
    return k


def _answers_itself(floor: _Floor, run_end: int, config: ExchangeConfig, opening: bool) -> bool:
    """A question its own speaker goes on to answer: an echo opening a reply ("Do I miss it? Every
    day.") or a rhetorical one followed by a long stretch of their own talk. Neither ends an answer."""
    if run_end == len(floor.sentences) - 1:
        return False  # the floor ends on the question: it waits for an answer
    return opening or floor.end - floor.sentences[run_end].end > config.max_question_tail_seconds


def _floors(sentences: list[_Sentence], config: ExchangeConfig) -> list[_Floor]:
    """Speaker floors with backchannels removed, so a listener's "mm-hmm" does not split a turn."""
    kept = [f for f in _group(s for s in sentences if s.speaker is not None) if not _is_backchannel(f, config)]
    return _group(s for f in kept for s in f.sentences)


def _group(sentences) -> list[_Floor]:
    floors: list[list[_Sentence]] = []
    for sentence in sentences:
        if floors and floors[-1][-1].speaker == sentence.speaker:
            floors[-1].append(sentence)
        else:
            floors.append([sentence])
    return [_Floor(speaker=run[0].speaker or "", sentences=tuple(run)) for run in floors]


def _is_backchannel(floor: _Floor, config: ExchangeConfig) -> bool:
    if floor.end - floor.start > config.backchannel_max_seconds:
        return False
    tokens = tuple(t for s in floor.sentences for t in _tokens(s.text))
    return _covered_by(tokens, _phrases(_backchannels(config)))


def _backchannels(config: ExchangeConfig) -> tuple[str, ...]:
    """The configured backchannels, and the language's own when it is not English."""
    own = languages.rules(config.language)
    return config.backchannels if own.code == languages.ENGLISH else config.backchannels + own.backchannels


def _covered_by(tokens: tuple[str, ...], phrases: frozenset[tuple[str, ...]]) -> bool:
    """Whether the tokens are a sequence of the given phrases (nothing else said)."""
    longest = max((len(p) for p in phrases), default=0)
    reachable = [True] + [False] * len(tokens)
    for start in range(len(tokens)):
        if not reachable[start]:
            continue
        for size in range(1, min(longest, len(tokens) - start) + 1):
            if tokens[start : start + size] in phrases:
                reachable[start + size] = True
    return reachable[len(tokens)]


@cache
def _phrases(backchannels: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(_tokens(phrase)) for phrase in backchannels if _tokens(phrase))


def _sentences(segments: Sequence[Segment], config: ExchangeConfig) -> list[_Sentence]:
    """Sentences from word timestamps: punctuation, a speaker change or a long pause ends one."""
    return _word_sentences(_timed_words(segments), config.sentence_gap_seconds, config.language)


def _word_sentences(words: Sequence[Word], gap_seconds: float, language: str | None = None) -> list[_Sentence]:
    sentences: list[_Sentence] = []
    current: list[Word] = []

    def flush() -> None:
        text = join_words(current)
        if text:
            speaker = current[0].speaker
            question = is_question(text, language)
            sentences.append(_Sentence(current[0].start, current[-1].end, text, speaker, question))
        current.clear()

    for word in words:
        if current and (word.speaker != current[-1].speaker or word.start - current[-1].end > gap_seconds):
            flush()
        current.append(word)
        if _ENDS_SENTENCE.search(word.text):
            flush()
    flush()
    return sentences


def _timed_words(segments: Sequence[Segment]) -> list[Word]:
    """Every word in time order with its speaker; a segment without words yields one per sentence."""
    words: list[Word] = []
    for segment in sorted(segments, key=lambda s: (s.start, s.end)):
        if segment.words:
            words.extend(w if w.speaker is not None else w.with_speaker(segment.speaker) for w in segment.words)
        else:
            words.extend(_sentence_words(segment))
    return words


def _sentence_words(segment: Segment) -> list[Word]:
    """Stand-in words for a segment without word timings: one per sentence, times shared by length."""
    pieces = [m.group(0).strip() for m in _TEXT_SENTENCE.finditer(segment.text) if m.group(0).strip()]
    total = sum(len(p) for p in pieces) or 1
    span = segment.end - segment.start
    words, offset = [], 0
    for piece in pieces:
        start = segment.start + span * offset / total
        offset += len(piece)
        words.append(Word(start, segment.start + span * offset / total, piece, speaker=segment.speaker))
    return words


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(_lower(text))


def _lower(text: str) -> str:
    return text.lower().replace("’", "'")


def _skip_fillers(tokens: list[str], rules: languages.Language) -> list[str]:
    """Drop leading discourse fillers ("so,", "and", "well, you know,") before judging a sentence."""
    i = 0
    while i < len(tokens):
        phrase = next((p for p in rules.filler_phrases if tuple(tokens[i : i + len(p)]) == p), None)
        if phrase is not None and len(tokens) - i > len(phrase):
            i += len(phrase)
        elif tokens[i] in rules.fillers and len(tokens) - i > 1:
            i += 1
        else:
            break
    return tokens[i:]
