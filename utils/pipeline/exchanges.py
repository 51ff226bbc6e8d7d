"""Question-and-answer exchanges in a speaker-labelled transcript (the output of `assign_speakers`).

The transcript is cut into sentences (word punctuation, speaker changes and long pauses end one) and
grouped into floors: consecutive sentences by one speaker. Short backchannels ("mm-hmm", "right")
are dropped first, so they neither break an answer nor start one. An exchange is a question by one
speaker answered by another; it runs from the question's first sentence to the answer's last one.
The answer ends at the next question, by anyone, when the asker takes the floor for a long turn, or
when the asker thanks the guest or moves on ("thank you for joining us", "let's move on");
a question its own speaker goes on to answer (an echo opening a reply, or a rhetorical one followed by
a long stretch of their own talk) is part of the speech around it, not a new question.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from utils.pipeline.alignment import join_words
from utils.pipeline.types import Exchange, Segment, Word

log = logging.getLogger(__name__)

BACKCHANNELS: tuple[str, ...] = (
    "mm-hmm", "mhm", "mm", "mmm", "hmm", "uh-huh", "uh huh", "huh", "yeah", "yes", "yep", "yup", "right",
    "okay", "ok", "alright", "all right", "sure", "exactly", "i see", "got it", "of course", "oh", "ah",
    "wow", "really", "true", "totally", "absolutely", "definitely", "indeed", "cool", "nice", "great",
    "interesting", "uh", "um", "ha", "haha", "oh my", "no way", "i know", "that's right",
)  # fmt: skip

INTERROGATIVES = frozenset({"what", "why", "how", "when", "where", "who", "which", "whose", "whom"})
AUXILIARIES = frozenset(
    "do does did is are was were am can could would will should shall have has had may might must "
    "don't doesn't didn't isn't aren't wasn't weren't can't couldn't wouldn't won't shouldn't "
    "haven't hasn't hadn't".split()
)
# Who or what an inverted auxiliary asks about: "do *you*", "is *it*", "did *the* band ...".
SUBJECTS = frozenset(
    "i you we they he she it this that there these those the your my our their his her its "
    "anyone anybody someone somebody everyone everybody people y'all".split()
)
# After a wh-word these start a clause, not a question: "when *I* was young", "what *a* day", "so what
# *they've* done is..." (a question inverts: "what have they done").
CLAUSE_OPENERS = frozenset(
    "i you we they he she it the a an this that my your our their his her "
    "i'm i've i'd i'll you're you've you'd you'll we're we've we'd we'll they're they've they'd they'll "
    "he's he'd he'll she's she'd she'll it's it'd it'll that's".split()
)
# "Which is why ..." and "which means ..." continue a statement.
WHICH_CONTINUATIONS = frozenset("is was means meant makes made explains brings leads led would will".split())
LEADING_FILLERS = frozenset(
    "so and but well okay ok um uh oh ah alright right anyway hmm yeah look listen actually".split()
)
LEADING_FILLER_PHRASES = (("i", "mean"), ("you", "know"), ("by", "the", "way"), ("all", "right"))
# The asker thanking the guest or turning to something else: the answer is over, however short the remark
# ("Brian, thank you very much."). Matched near the start of the asker's next sentence.
CLOSING_REMARKS = (
    "thank you", "thanks", "thanks so much", "many thanks", "let's move on", "moving on", "let's turn to",
    "let's go to", "let's talk about", "let me ask you", "let me turn to", "let me move on", "next question",
    "we have to leave it there", "we'll have to leave it there", "we'll leave it there", "that's all we have time",
    "we're out of time", "we'll be right back", "after the break", "stay with us",
)  # fmt: skip
CLOSING_REMARK_REACH = 3  # tokens allowed before the phrase: a name or a filler ("Brian, thank you")

_SO_DO_I = re.compile(
    rf"\W*(?:and\s+|but\s+)?so\s+(?:{'|'.join(sorted(AUXILIARIES))})\s+(?:{'|'.join(sorted(SUBJECTS))})\s*(?:[,.!;]|$)"
)
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_ENDS_QUESTION = re.compile(r"\?[\s\"'”’»)\]!.…]*$")
_ENDS_SENTENCE = re.compile(r"[.?!…][\s\"'”’»)\]]*$")
_TEXT_SENTENCE = re.compile(r"[^.?!…]+(?:[.?!…]+[\"'”’»)\]]*|$)")


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
    backchannels: tuple[str, ...] = BACKCHANNELS


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


def is_question(text: str) -> bool:
    """A sentence asks something: it ends in "?", or opens (after fillers) with an interrogative word
    or an inverted auxiliary ("do you", "is it"). Transcripts often drop the question mark."""
    if _ENDS_QUESTION.search(text):
        return True
    tokens = _skip_fillers(_tokens(text))
    if len(tokens) < 2:
        return False
    first, second = tokens[0], tokens[1]
    if first in INTERROGATIVES:
        return second not in CLAUSE_OPENERS and not (first == "which" and second in WHICH_CONTINUATIONS)
    if first in AUXILIARIES:
        return second in SUBJECTS and not (first in {"do", "have"} and second == "the") and not _so_do_i(text)
    return False


def is_closing_remark(text: str) -> bool:
    """A sentence that wraps up an answer or turns away from it: "Thank you very much", "Let's move on"."""
    tokens = _tokens(text)
    return any(
        tuple(tokens[at : at + len(phrase)]) == phrase
        for phrase in _phrases(CLOSING_REMARKS)
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
        start=short.start, end=following.end, question=f"{short.question} {following.question}",
        asker=short.asker, answerer=following.answerer, note="; ".join(filter(None, [short.note, note])),
    )  # fmt: skip


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
            if is_closing_remark(floor.sentences[0].text):
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
    return _covered_by(tokens, _phrases(config.backchannels))


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
    sentences: list[_Sentence] = []
    current: list[Word] = []

    def flush() -> None:
        text = join_words(current)
        if text:
            speaker = current[0].speaker
            sentences.append(_Sentence(current[0].start, current[-1].end, text, speaker, is_question(text)))
        current.clear()

    for word in _timed_words(segments):
        if current and (
            word.speaker != current[-1].speaker or word.start - current[-1].end > config.sentence_gap_seconds
        ):
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
    return _TOKEN.findall(text.lower().replace("’", "'"))


def _skip_fillers(tokens: list[str]) -> list[str]:
    """Drop leading discourse fillers ("so,", "and", "well, you know,") before judging a sentence."""
    i = 0
    while i < len(tokens):
        phrase = next((p for p in LEADING_FILLER_PHRASES if tuple(tokens[i : i + len(p)]) == p), None)
        if phrase is not None and len(tokens) - i > len(phrase):
            i += len(phrase)
        elif tokens[i] in LEADING_FILLERS and len(tokens) - i > 1:
            i += 1
        else:
            break
    return tokens[i:]


def _so_do_i(text: str) -> bool:
    """ "So do I", "and so did we, very much": agreement, not a question."""
    return _SO_DO_I.match(text.lower().replace("’", "'")) is not None
