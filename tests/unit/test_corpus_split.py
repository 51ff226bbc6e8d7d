"""The speaker-count corpus (bench/corpus.py): a split by source, fixed in the script, and the per-half totals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.corpus import (
    DEVSET_SOURCES,
    HALF_OF_SOURCE,
    HELD_OUT,
    TUNE,
    CountRow,
    UnknownSource,
    corpus_entries,
    devset_entries,
    labelled,
    speakers_heard,
    totals,
)
from config import ROOT

MANIFEST = ROOT / "bench" / "labels" / "corpus.json"


def _manifest(tmp_path: Path, entries: list[tuple[str, str, int]]) -> Path:
    path = tmp_path / "corpus.json"
    rows = [{"id": name, "kind": "meeting (AMI)", "speakers": n, "source": {"repo": repo}} for name, repo, n in entries]
    path.write_text(json.dumps(rows))
    return path


def _devset(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "devset"
    folder.mkdir()
    truth = {"_note": "ignored", **{name: {"speakers": 2, "rttm": f"{Path(name).stem}.rttm"} for name in names}}
    (folder / "truth.json").write_text(json.dumps(truth))
    return folder


def test_every_recording_of_a_source_is_in_that_sources_half(tmp_path):
    manifest = _manifest(
        tmp_path,
        [("ami_a", "pyannote/pyannote-data", 3), ("ami_b", "pyannote/pyannote-data", 4), ("x", "X-LANCE/MSDWILD", 3)],
    )
    entries = labelled(manifest, tmp_path, _devset(tmp_path, ["ibm_interview1.wav", "lca_autorepairs49.wav"]))

    halves = {entry.name: entry.half for entry in entries}
    assert halves == {
        "ami_a": TUNE,
        "ami_b": TUNE,
        "lca_autorepairs49.wav": TUNE,
        "x": HELD_OUT,
        "ibm_interview1.wav": HELD_OUT,
    }
    assert [entry.half for entry in entries] == sorted(halves.values(), key=[TUNE, HELD_OUT].index)  # tune first
    assert entries[0].path == tmp_path / "ami_a.wav" and entries[0].rttm == tmp_path / "ami_a.rttm"
    assert entries[0].kind == "meeting"


def test_a_recording_from_a_source_without_a_half_is_refused(tmp_path):
    with pytest.raises(UnknownSource, match="someone/new-repo"):
        corpus_entries(_manifest(tmp_path, [("new", "someone/new-repo", 2)]), tmp_path)
    with pytest.raises(UnknownSource, match=r"new\.wav"):
        devset_entries(_devset(tmp_path, ["new.wav"]))


def test_the_committed_manifest_and_the_dev_set_files_all_have_a_half():
    entries = corpus_entries(MANIFEST, ROOT / "bench" / "corpus")
    assert len(entries) == 15
    assert {entry.source for entry in entries} | {source for source, _ in DEVSET_SOURCES.values()} == set(
        HALF_OF_SOURCE
    )


def test_each_half_holds_several_sources_kinds_and_counts():
    entries = corpus_entries(MANIFEST, ROOT / "bench" / "corpus")
    kinds = {entry.name: (entry.source, entry.kind, entry.speakers) for entry in entries}
    kinds |= {name: (source, kind, 4 if "radio" in name else 2) for name, (source, kind) in DEVSET_SOURCES.items()}
    for half in (TUNE, HELD_OUT):
        mine = [facts for facts in kinds.values() if HALF_OF_SOURCE[facts[0]] == half]
        assert len({source for source, _, _ in mine}) >= 3
        assert len({kind for _, kind, _ in mine}) >= 3
        assert {2, 4} <= {count for _, _, count in mine}


def test_totals_per_half_count_right_within_one_and_mean_der():
    rows = [
        CountRow("a", TUNE, "meeting", 3, 3, 0.2),
        CountRow("b", TUNE, "meeting", 4, 2, 0.6),
        CountRow("c", TUNE, "meeting", 2, 3, None),  # no reference turns: counted, not in the mean DER
        CountRow("d", HELD_OUT, "talk show", 3, 2, 0.1),
    ]

    result = totals(rows)

    tune, held_out, everything = result[TUNE], result[HELD_OUT], result["all"]
    assert (tune.files, tune.count_right, tune.within_one) == (3, pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert tune.mean_der == pytest.approx(0.4)
    assert (tune.too_many, tune.too_few) == (1, 1)
    assert (held_out.files, held_out.count_right, held_out.within_one, held_out.too_few) == (1, 0.0, 1.0, 1)
    assert everything.files == 4 and everything.mean_der == pytest.approx(0.3)


def test_speakers_heard_counts_only_those_with_enough_speech():
    reference = [(0.0, 1.5, "a"), (2.0, 2.6, "a"), (3.0, 9.0, "b"), (9.0, 9.4, "c")]
    assert speakers_heard(reference) == 2  # a: 2.1 s, b: 6 s, c: 0.4 s (a backchannel)
    assert speakers_heard(reference, seconds=0.1) == 3


def test_count_right_against_the_speakers_heard_falls_back_to_the_true_count_without_rttm():
    rows = [
        CountRow("trn05", TUNE, "meeting", 4, 1, 0.13, speakers_heard=1),
        CountRow("ibm", TUNE, "broadcast interview", 2, 2, None),
        CountRow("tst00", TUNE, "meeting", 4, 3, 0.6, speakers_heard=4),
    ]
    tune = totals(rows)[TUNE]
    assert tune.count_right == pytest.approx(1 / 3)
    assert tune.heard_right == pytest.approx(2 / 3)


def test_totals_of_an_empty_half_are_zero_not_an_error():
    empty = totals([CountRow("a", TUNE, "meeting", 2, 2, None)])[HELD_OUT]
    assert (empty.files, empty.count_right, empty.mean_der) == (0, 0.0, None)
