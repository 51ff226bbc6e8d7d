"""The vertical camera on a real video: MSDWild's clip 00001 (three people seated in a row, a punch-in and a
jump cut, human face boxes and speaker turns, in ../shared/faces). Faces are found where people drew them,
the hand-labelled cuts are the changes of shot, the speaking face is in the frame in nearly every speech
second, the crop jumps only at a cut or a change of speaker and never jitters, and the cut clip shows,
frame for frame, the crop the path asked for."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import av
import numpy as np
import pytest

from config import ROOT
from pipeline import faces, framing, media, reframe
from pipeline.framing import ONE, CameraPath, View
from pipeline.options import CutOptions
from tests.support.framing_labels import explain_jumps, read_cuts, read_labels, score, score_cuts, shared_face_video
from tests.support.speech_samples import read_rttm

pytestmark = pytest.mark.integration

FACES = ROOT.parent / "shared" / "faces"
LABELS = ROOT / "bench" / "labels" / "msdwild_00001.txt"
CUTS = ROOT / "bench" / "labels" / "msdwild_00001.cuts.json"


@pytest.fixture(scope="module")
def video() -> Path:
    return shared_face_video()


@pytest.fixture(scope="module")
def footage(video: Path) -> framing.Footage:
    return faces.analyse(video)


def human_boxes() -> dict[int, list[tuple[int, int, int, int]]]:
    boxes = defaultdict(list)
    with (FACES / "msdwild_00001.faces.csv").open() as handle:
        for row in csv.reader(handle):
            boxes[int(row[0])].append(tuple(int(value) for value in row[3:7]))
    return boxes


def overlap(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    shared = iw * ih
    return shared / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - shared)


def test_the_model_takes_any_picture_size():
    detect = faces.detector()
    assert detect is faces.detector()  # loaded once per process
    for height, width in ((180, 320), (720, 1280), (301, 533)):
        assert detect(np.zeros((height, width, 3), dtype=np.uint8)) == []


def test_faces_are_found_where_people_drew_them(footage: framing.Footage):
    truth = human_boxes()
    found = total = 0
    for frame in footage.frames:
        index = round(frame.t * footage.fps)
        boxes = [(f.x1 * 1280, f.y1 * 720, f.x2 * 1280, f.y2 * 720) for f in frame.faces]
        for drawn in truth.get(index, []):
            total += 1
            found += any(overlap(drawn, box) >= 0.5 for box in boxes)
    assert total > 300 and found / total >= 0.95


def test_the_labelled_cuts_are_the_changes_of_shot_and_captions_are_not(footage: framing.Footage):
    result = score_cuts(footage.cuts, read_cuts(CUTS), 2 / footage.fps)
    assert result.labelled == 2 and result.precision == result.recall == 1.0, result


def test_the_speaking_face_is_in_the_frame_and_the_crop_never_jitters(footage: framing.Footage):
    turns = read_rttm(FACES / "msdwild_00001.rttm")
    path = framing.plan(footage, turns)
    result = score(path, read_labels(LABELS))
    assert result.share >= 0.95, result
    assert framing.steadiness(path) <= 3
    jumps = explain_jumps(path, read_cuts(CUTS), turns)
    assert jumps.at_speaker and not jumps.to_split and not jumps.other, jumps
    host, centre = path.speakers["2"], path.speakers["0"]  # the RTTM's ids are the faces' ids
    tracks = framing.track_faces(footage)
    person = framing.identities(tracks)
    assert {round(np.median([b.cx for b in t.boxes]) * 1280) // 100 for t in tracks if person[t.id] == host} <= {3, 4}
    assert {round(np.median([b.cx for b in t.boxes]) * 1280) // 100 for t in tracks if person[t.id] == centre} == {7}


def test_the_cut_clip_shows_the_crop_the_path_asked_for_at_the_exact_frame(video: Path, tmp_path: Path):
    """x jumps at frame 40 and the layout splits at frame 80: each output frame matches the source cropped
    where its view says, not where the view of the frame before says."""
    width, height = 1280, 720
    crop, region = framing.crop_size(width, height), framing.region_size(width, height)
    views = [View(ONE, 0)] * 40 + [View(ONE, 876)] * 40 + [View("two", top=(300, 100), bottom=(620, 100))] * 20
    path = CameraPath(25.0, width, height, crop, region, tuple(views))
    options = CutOptions(ffmpeg=media.ffmpeg_binary(), shape="vertical", loudness=None, preset="ultrafast")
    clip = media.cut_clip(video, tmp_path / "follow.mp4", 12.0, 16.0, options, crop=reframe.crop_filter(path))
    info = media.probe(clip)
    assert (info.width, info.height) == (1080, 1920) and abs(info.duration - 4.0) < 0.1
    source, output = _frames(video, 12.0, 100), _frames(clip, 0.0, 100)
    for index, other in ((39, 40), (40, 39), (41, 39), (79, 80), (80, 79)):
        expected = [_region(source[index], views[index], crop, region, k) for k in (0, 1)]
        wrong = [_region(source[index], views[other], crop, region, k) for k in (0, 1)]
        got = [output[index][:960], output[index][960:]]
        assert _difference(got, expected) < _difference(got, wrong) / 2, index


def _frames(path: Path, start: float, count: int) -> list[np.ndarray]:
    pictures = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for picture in container.decode(stream):
            if picture.time is not None and picture.time + 0.02 >= start + (container.start_time or 0) / av.time_base:
                pictures.append(picture.to_ndarray(format="gray"))
            if len(pictures) == count:
                break
    return pictures


def _region(picture: np.ndarray, view: View, crop, region, half: int) -> np.ndarray:
    """What the output's top (0) or bottom (1) half should show, at 1080×960, from a source frame."""
    if view.layout == ONE:
        part = picture[:, view.x : view.x + crop[0]]
        rows = part.shape[0] // 2
        part = part[:rows] if half == 0 else part[rows : 2 * rows]
    else:
        x, y = view.top if half == 0 else view.bottom
        part = picture[y : y + region[1], x : x + region[0]]
    return part


def _difference(got: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """Mean absolute difference after shrinking both to 54×48 blocks (scaling filters differ in detail)."""
    total = 0.0
    for a, b in zip(got, expected, strict=True):
        total += float(np.abs(_shrink(a) - _shrink(b)).mean())
    return total


def _shrink(picture: np.ndarray, size=(48, 54)) -> np.ndarray:
    rows = np.linspace(0, picture.shape[0], size[0] + 1).astype(int)
    cols = np.linspace(0, picture.shape[1], size[1] + 1).astype(int)
    return np.array(
        [[picture[rows[i] : rows[i + 1], cols[j] : cols[j + 1]].mean() for j in range(size[1])] for i in range(size[0])]
    )
