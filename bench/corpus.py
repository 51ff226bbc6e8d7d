"""The labelled recordings for speaker counting (issue 28), split by source into a tuning half and a held-out half.

Two sets feed it: `bench/corpus/` (short real recordings with RTTMs, listed in bench/labels/corpus.json; how to
rebuild it: bench/corpus_fetch.md) and the dev set (../shared/devset). Every recording of one source sits in the
same half, so a setting chosen on the tuning half is judged on voices, rooms and microphones it never heard.

The split is fixed here, in `HALF_OF_SOURCE`, and nowhere else. Why each source is where it is:

- tune: pyannote/pyannote-data (13 AMI meeting excerpts: 2, 3 and 4 people, one room type, far-field microphones),
  the dev set's phone call (aws-samples: 8 kHz, two sides mixed; the codec split that `_merge_minor_echoes` in
  pipeline/diarization.py undoes was measured on it) and its street dialogue (AjinkyaASK: an MP3 with noise).
  Counts 2-4, three kinds of recording: the counting defaults can be tuned on something varied.
- held_out: one recording of each kind the issue reports miscounted on unseen files: the dev set's broadcast
  interview (watson-developer-cloud, 2 people; the issue's "read as 3"), MSDWild's talk show (3 people, two
  young male voices; the issue's "read as 2"), the dev set's radio phone-in (tyiannak/pyAudioAnalysis, 4 people
  and a phone line) and pyannote.audio's two-person sample. Counts 2-4, four sources, four kinds.

The halves are small (15 recordings, 11 minutes; 4 recordings, 2.5 minutes): a change that moves one held-out
file moves the held-out figures by a quarter, so read the per-file rows, not only the percentages.

The AMI excerpts are 30 s of far-field meeting audio, and many of their labelled speakers say next to nothing in
them (trn05: 23.8 s from one person, 1.4, 0.4 and 0.4 s from the other three). No counting that keeps a backchannel
from becoming a speaker can find those, so each row also gives `heard`: the reference speakers with at least
HEARD_SECONDS of speech, and the totals give the share of counts right against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TUNE = "tune"
HELD_OUT = "held_out"
HALVES = (TUNE, HELD_OUT)
HEARD_SECONDS = 2.0  # a reference speaker with less speech than this is not expected to be found

HALF_OF_SOURCE = {
    "pyannote/pyannote-data": TUNE,
    "aws-samples/amazon-transcribe-live-call-analytics": TUNE,
    "AjinkyaASK/Conversation-Analysis-using-Whisper-and-PyAnnote": TUNE,
    "watson-developer-cloud/speech-to-text-nodejs": HELD_OUT,
    "X-LANCE/MSDWILD": HELD_OUT,
    "tyiannak/pyAudioAnalysis": HELD_OUT,
    "pyannote/pyannote-audio": HELD_OUT,
}

# The dev set's files: where each came from (../shared/devset/README.md) and what kind of recording it is.
DEVSET_SOURCES = {
    "lca_autorepairs49.wav": ("aws-samples/amazon-transcribe-live-call-analytics", "phone call"),
    "ibm_interview1.wav": ("watson-developer-cloud/speech-to-text-nodejs", "broadcast interview"),
    "radio_phonein_paa.wav": ("tyiannak/pyAudioAnalysis", "radio phone-in"),
    "dialog_jane_mark.mp3": ("AjinkyaASK/Conversation-Analysis-using-Whisper-and-PyAnnote", "street dialogue"),
}


class UnknownSource(ValueError):
    """A recording whose source has no half: add the source to HALF_OF_SOURCE (by source, never by file)."""


@dataclass(frozen=True)
class Labelled:
    """One recording with its true speaker count, where it came from and the half that source is in."""

    name: str
    path: Path
    speakers: int
    rttm: Path | None
    kind: str
    source: str
    half: str


def half_of(source: str) -> str:
    if source not in HALF_OF_SOURCE:
        raise UnknownSource(f"{source}: no half for this source; add it to HALF_OF_SOURCE in bench/corpus.py")
    return HALF_OF_SOURCE[source]


def corpus_entries(manifest: Path, folder: Path) -> list[Labelled]:
    """bench/labels/corpus.json's recordings; each is `<folder>/<id>.wav` with `<id>.rttm` beside it."""
    entries = json.loads(manifest.read_text())
    return [
        Labelled(
            name=entry["id"],
            path=folder / f"{entry['id']}.wav",
            speakers=entry["speakers"],
            rttm=folder / f"{entry['id']}.rttm",
            kind=entry["kind"].split(" (")[0],
            source=entry["source"]["repo"],
            half=half_of(entry["source"]["repo"]),
        )
        for entry in entries
    ]


def devset_entries(devset: Path) -> list[Labelled]:
    """The dev set's recordings (truth.json); a file not in DEVSET_SOURCES is refused, not guessed."""
    truth = json.loads((devset / "truth.json").read_text())
    found = []
    for name, facts in truth.items():
        if name.startswith("_"):
            continue
        if name not in DEVSET_SOURCES:
            raise UnknownSource(f"{name}: the dev set has a file with no source here; add it to DEVSET_SOURCES")
        source, kind = DEVSET_SOURCES[name]
        rttm = devset / facts["rttm"] if facts.get("rttm") else None
        found.append(Labelled(name, devset / name, facts["speakers"], rttm, kind, source, half_of(source)))
    return found


def labelled(manifest: Path, folder: Path, devset: Path) -> list[Labelled]:
    """Both sets, tuning half first."""
    return sorted(corpus_entries(manifest, folder) + devset_entries(devset), key=lambda entry: HALVES.index(entry.half))


# ---- totals ------------------------------------------------------------------------------------


def speakers_heard(reference: list[tuple[float, float, str]], seconds: float = HEARD_SECONDS) -> int:
    """Reference speakers with at least `seconds` of speech, from (start, end, speaker) turns."""
    spoken: dict[str, float] = {}
    for start, end, speaker in reference:
        spoken[speaker] = spoken.get(speaker, 0.0) + max(0.0, end - start)
    return sum(total >= seconds for total in spoken.values())


@dataclass(frozen=True)
class CountRow:
    """One recording's result on one audio path: speakers found against the truth, DER where an RTTM exists."""

    name: str
    half: str
    kind: str
    speakers_true: int
    speakers_found: int
    der: float | None
    seconds: float = 0.0
    speakers_heard: int | None = None  # reference speakers with at least HEARD_SECONDS of speech (None: no RTTM)

    @property
    def heard_or_true(self) -> int:
        return self.speakers_true if self.speakers_heard is None else self.speakers_heard


@dataclass(frozen=True)
class HalfTotal:
    files: int
    count_right: float  # share of files with the right count
    heard_right: float  # share of files whose count is the number of speakers heard (the true count without RTTM)
    within_one: float  # share with at most one speaker too many or too few
    mean_der: float | None  # over the files with an RTTM
    too_many: int
    too_few: int


def totals(rows: list[CountRow]) -> dict[str, HalfTotal]:
    """Per half, and "all" over both."""
    return {half: _total([row for row in rows if half == "all" or row.half == half]) for half in (*HALVES, "all")}


def _total(rows: list[CountRow]) -> HalfTotal:
    ders = [row.der for row in rows if row.der is not None]
    errors = [row.speakers_found - row.speakers_true for row in rows]
    n = len(rows)
    return HalfTotal(
        files=n,
        count_right=sum(error == 0 for error in errors) / n if n else 0.0,
        heard_right=sum(row.speakers_found == row.heard_or_true for row in rows) / n if n else 0.0,
        within_one=sum(abs(error) <= 1 for error in errors) / n if n else 0.0,
        mean_der=sum(ders) / len(ders) if ders else None,
        too_many=sum(error > 0 for error in errors),
        too_few=sum(error < 0 for error in errors),
    )
