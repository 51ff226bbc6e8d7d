"""Hand labels of who speaks each second of a real video, and how a camera path fares against them.

A label file (bench/labels/*.txt) has one line per speaking face per second, `second who x1 y1 x2 y2` (the
face in source pixels at the middle of that second), or `second -` when nobody speaks; `#` starts a comment.
A second counts as framed when the speaking face (either, for two) is in the frame in at least half its
frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.framing import CameraPath, face_inside

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
