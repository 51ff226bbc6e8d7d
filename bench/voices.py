"""Calibrate voice matching on real speech: which similarity means "this is the same person".

A speaker library suggests a known person for a new video's speaker when their voiceprints
(pipeline/voiceprints.py) are at least MATCH_SIMILARITY alike. This script measures, on real
recordings, how often such a suggestion names the right person (precision) and how many returning people
get one (recall), for a range of thresholds, the way the app decides: each query voice is compared with
every enrolled person, and the most similar one is suggested when it reaches the threshold.

Real voices only:
- the dev set's conversations with turn references (../shared/devset: a phone call and a radio phone-in)
  and pyannote.audio's two-speaker sample, each cut in two halves: a speaker is enrolled from the first
  half and queried with the second, the way an interview series repeats its people;
- with `--extra DIR` (Resemblyzer's audio_data folder: `git archive` of resemble-ai/Resemblyzer, kept out
  of the repository under bench/output/voices/): LibriSpeech test-other, 10 people with 10 recordings each
  (enrolled from one, queried with the other nine), one person across 12 different recordings
  (donald_trump/real: speeches and interviews from different years), and 251 LibriSpeech speakers heard
  once, who must get no suggestion at all.

    .venv/bin/python bench/voices.py [--devset ../shared/devset] [--extra bench/output/voices/audio_data]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import ROOT, Report
from pipeline import media, voiceprints
from pipeline.types import Turn
from tests.support.speech_samples import read_rttm, sample_dir

THRESHOLDS = [round(x, 2) for x in np.arange(0.30, 0.91, 0.05)]
PRECISION_TARGET = 0.95


@dataclass
class Voice:
    person: str | None  # None: heard once, must never be named
    source: str
    vector: np.ndarray


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devset", type=Path, default=ROOT.parent / "shared" / "devset")
    parser.add_argument("--extra", type=Path, default=ROOT / "bench" / "output" / "voices" / "audio_data")
    return parser.parse_args()


def whole(path: Path) -> tuple[np.ndarray, list[Turn]]:
    samples = media.read_samples(path)
    return samples, [Turn(0.0, len(samples) / media.MODEL_SAMPLE_RATE, "ONE")]


def print_of(samples: np.ndarray, turns: list[Turn], speaker: str) -> np.ndarray | None:
    found = voiceprints.voiceprints(samples, [t for t in turns], device="cpu").get(speaker)
    return np.asarray(found.vector) if found else None


def halves(name: str, audio: Path, rttm: Path) -> tuple[list[Voice], list[Voice]]:
    """Speakers of the first half (to enrol) and of the second (to query), from the reference turns."""
    samples = media.read_samples(audio)
    middle = len(samples) / media.MODEL_SAMPLE_RATE / 2
    turns = list(read_rttm(rttm))
    enrol, query = [], []
    for part, keep in ((enrol, lambda t: t.end <= middle), (query, lambda t: t.start >= middle)):
        chosen = [turn for turn in turns if keep(turn)]
        for speaker in sorted({turn.speaker for turn in chosen}):
            vector = print_of(samples, chosen, speaker)
            if vector is not None:
                part.append(Voice(f"{name}:{speaker}", f"{name} {'first' if part is enrol else 'second'} half", vector))
    return enrol, query


def conversations(devset: Path) -> tuple[list[Voice], list[Voice]]:
    truth = json.loads((devset / "truth.json").read_text())
    pairs = [
        (name, devset / name, devset / facts["rttm"])
        for name, facts in truth.items()
        if isinstance(facts, dict) and facts.get("rttm")
    ]
    pairs.append(("sample", sample_dir() / "sample.wav", sample_dir() / "sample.rttm"))
    enrol, query = [], []
    for name, audio, rttm in pairs:
        first, second = halves(name, audio, rttm)
        enrol += first
        query += second
    return enrol, query


def recordings(extra: Path) -> tuple[list[Voice], list[Voice]]:
    enrol, query = [], []
    groups = [*sorted((extra / "librispeech_test-other").iterdir()), extra / "donald_trump" / "real"]
    for folder in groups:
        files = sorted(folder.glob("*.*"))
        person = f"{folder.parent.name}/{folder.name}"
        for n, path in enumerate(files):
            vector = print_of(*whole(path), "ONE")
            if vector is not None:
                (enrol if n == 0 else query).append(Voice(person, path.name, vector))
    for path in sorted((extra / "librispeech_train-clean-100").glob("*.flac")):
        vector = print_of(*whole(path), "ONE")
        if vector is not None:
            query.append(Voice(None, path.name, vector))
    return enrol, query


def score(enrol: list[Voice], query: list[Voice], threshold: float) -> tuple[int, int, int, int]:
    """(suggestions, right ones, queries of enrolled people, wrong names)."""
    people = sorted({voice.person for voice in enrol})
    matrix = np.stack([voice.vector for voice in enrol])
    suggested = right = 0
    for voice in query:
        similarities = matrix @ voice.vector
        best = int(np.argmax(similarities))
        if similarities[best] >= threshold:
            suggested += 1
            right += enrol[best].person == voice.person
    known = sum(voice.person in people for voice in query)
    return suggested, right, known, suggested - right


def main() -> int:
    args = parse_args()
    enrol, query = conversations(args.devset)
    sources = ["dev set conversations (halves)"]
    if args.extra.is_dir():
        more_enrol, more_query = recordings(args.extra)
        enrol += more_enrol
        query += more_query
        sources.append("LibriSpeech test-other ×10, one voice across 12 recordings, 251 LibriSpeech voices heard once")
    report = Report("voices")
    rows, chosen = [], None
    for threshold in THRESHOLDS:
        suggested, right, known, wrong = score(enrol, query, threshold)
        precision = right / suggested if suggested else 1.0
        recall = right / known if known else 0.0
        rows.append([threshold, suggested, right, wrong, round(precision, 3), round(recall, 3)])
        if chosen is None and precision >= PRECISION_TARGET:
            chosen = (threshold, precision, recall)
    report.table(
        "Suggestions by threshold", ["similarity ≥", "suggested", "right", "wrong", "precision", "recall"], rows
    )
    same = [float(a.vector @ b.vector) for a in enrol for b in query if a.person == b.person]
    other = [float(a.vector @ b.vector) for a in enrol for b in query if a.person != b.person]
    report.add("data", "enrolled people", len({voice.person for voice in enrol}))
    report.add(
        "data",
        "query voices (of enrolled people / never enrolled)",
        f"{sum(v.person is not None and v.person in {e.person for e in enrol} for v in query)} / "
        f"{sum(v.person is None for v in query)}",
    )
    report.add(
        "similarity", "same person: median / 5th percentile", f"{np.median(same):.3f} / {np.percentile(same, 5):.3f}"
    )
    same_line = [
        float(a.vector @ b.vector) for n, a in enumerate(enrol) for b in enrol[n + 1 :] if a.source == b.source
    ]
    if same_line:
        report.add("similarity", "two people in one recording (same room or line): max", f"{max(same_line):.3f}")
    report.add(
        "similarity",
        "different people: median / 99th percentile",
        f"{np.median(other):.3f} / {np.percentile(other, 99):.3f}",
    )
    current = voiceprints.MATCH_SIMILARITY
    suggested, right, known, _wrong = score(enrol, query, current)
    report.add(
        "at MATCH_SIMILARITY",
        f"precision at {current}",
        right / suggested if suggested else 1.0,
        "",
        f"≥ {PRECISION_TARGET}",
        (right / suggested if suggested else 1.0) >= PRECISION_TARGET,
    )
    report.add("at MATCH_SIMILARITY", f"recall at {current}", right / known if known else 0.0)
    if chosen:
        report.add(
            "calibration",
            "lowest threshold with precision ≥ 0.95",
            chosen[0],
            "",
            note=f"precision {chosen[1]:.3f}, recall {chosen[2]:.3f}",
        )
    report.notes.append("sources: " + "; ".join(sources))
    report.emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
