"""Hand labels of who speaks each second of a real video, and how a camera path fares against them.

A label file (bench/labels/*.txt) has one line per speaking face per second, `second who x1 y1 x2 y2` (the
face in source pixels at the middle of that second), or `second -` when nobody speaks; `#` starts a comment.
A second counts as framed when the speaking face (either, for two) is in the frame in at least half its
frames.

A cut file (bench/labels/*.cuts.json) lists a video's hand-labelled camera cuts (`cuts`: the first frame of
each new shot and its time) and the changes that look like one but are not (`not_cuts`: captions, gestures,
pans, exposure); `how` says how they were found.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.framing import TWO, CameraPath, FramingOptions, face_inside
from pipeline.types import Turn

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Score:
    seconds: int  # speech seconds labelled
    framed: int  # of which the speaking face was in the frame
    misses: tuple[int, ...]  # the seconds it was not

    @property
    def share(self) -> float:
        return self.framed / self.seconds if self.seconds else 1.0


def read_labels(path: Path) -> dict[int, list[tuple[str, Box]]]:
    labels: dict[int, list[tuple[str, Box]]] = {}
    for line in path.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        second = int(fields[0])
        labels.setdefault(second, [])
        if fields[1] != "-":
            x1, y1, x2, y2 = (float(value) for value in fields[2:6])
            labels[second].append((fields[1], (x1, y1, x2, y2)))
    return labels


def score(path: CameraPath, labels: dict[int, list[tuple[str, Box]]]) -> Score:
    """How many labelled speech seconds show the speaking face (80 % of it) in at least half their frames."""
    framed, misses = 0, []
    speech = {second: faces for second, faces in labels.items() if faces}
    for second, faces in sorted(speech.items()):
        first, last = int(second * path.fps), min(int((second + 1) * path.fps), len(path.views))
        shown = sum(any(face_inside(path.views[i], path, box) for _, box in faces) for i in range(first, last))
        if last > first and shown * 2 >= last - first:
            framed += 1
        else:
            misses.append(second)
    return Score(len(speech), framed, tuple(misses))


def read_cuts(path: Path) -> tuple[float, ...]:
    """The labelled cut times of a cut file, in seconds."""
    return tuple(float(cut["t"]) for cut in json.loads(path.read_text())["cuts"])


@dataclass(frozen=True)
class CutScore:
    labelled: int
    found: int
    matched: int  # found cuts within the tolerance of a labelled one (each labelled cut matched once)
    invented: tuple[float, ...]  # found, not labelled
    missed: tuple[float, ...]  # labelled, not found

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.labelled if self.labelled else 1.0


def score_cuts(found: Sequence[float], labelled: Sequence[float], tolerance: float) -> CutScore:
    """Found shot changes against labelled cuts, each matched at most once within `tolerance` seconds
    (two frames: a detector may put the cut on the frame either side)."""
    left = sorted(labelled)
    invented = []
    for t in sorted(found):
        near = [cut for cut in left if abs(cut - t) <= tolerance]
        if near:
            left.remove(min(near, key=lambda cut: abs(cut - t)))
        else:
            invented.append(t)
    matched = len(found) - len(invented)
    return CutScore(len(labelled), len(found), matched, tuple(invented), tuple(left))


def jumps(path: CameraPath, most_px: float = FramingOptions.max_drift_px) -> list[float]:
    """When the view jumps: the layout changes, or the crop moves more than `most_px` in a frame (a drift
    within a turn moves less); a move over consecutive frames (an ease) counts once, at its first frame."""
    out: list[float] = []
    moving = False
    for i in range(1, len(path.views)):
        a, b = path.views[i - 1], path.views[i]
        moved = a.layout != b.layout or abs(a.x - b.x) > most_px or a.top != b.top or a.bottom != b.bottom
        if moved and not moving:
            out.append(i / path.fps)
        moving = moved
    return out


@dataclass(frozen=True)
class Jumps:
    """A path's jumps by what they happen at (seconds)."""

    at_cut: tuple[float, ...]  # a labelled cut, ± two frames
    at_speaker: tuple[float, ...]  # a speaker change: a turn's start or end, from the lead-in before it
    to_split: tuple[float, ...]  # neither: into or out of the split layout where the picture doubts the labels
    other: tuple[float, ...]  # neither, and the crop moved: what the rule forbids


def explain_jumps(
    path: CameraPath,
    cuts: Sequence[float],
    turns: Sequence[Turn],
    frames: int = 2,
    lead_in: float = FramingOptions.lead_in,
) -> Jumps:
    """Each jump of a path put down to a labelled cut (± `frames`), a speaker change (a turn's start or end,
    from `lead_in` before it: the camera goes to the next speaker in the pause before them), a switch to
    or from the split a doubt opens (`framing._doubt_spans`: another mouth moves clearly more), or nothing."""
    slack = frames / path.fps
    edges = [t for turn in turns for t in (turn.start, turn.end)]
    found: dict[str, list[float]] = {"at_cut": [], "at_speaker": [], "to_split": [], "other": []}
    for t in jumps(path):
        i = round(t * path.fps)
        if any(abs(t - cut) <= slack for cut in cuts):
            found["at_cut"].append(t)
        elif any(edge - lead_in - slack <= t <= edge + slack for edge in edges):
            found["at_speaker"].append(t)
        elif TWO in (path.views[i - 1].layout, path.views[i].layout):
            found["to_split"].append(t)
        else:
            found["other"].append(t)
    return Jumps(**{key: tuple(times) for key, times in found.items()})


def shared_face_video():
    """../shared/faces/msdwild_00001.mp4 for the framing tests: missing fails CI (which has ../shared), else skips."""
    import os

    import pytest

    path = Path(__file__).resolve().parents[2].parent / "shared" / "faces" / "msdwild_00001.mp4"
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the face video is missing at {path} (CI runs with ../shared beside the checkout)")
        pytest.skip(f"no face video at {path}")
    return path
