"""Shot changes on frames of a real video (MSDWild's clip 00001, in ../shared/faces): its hand-labelled cut
and jump cut are found and its caption changes, the boy leaning in and an exposure step are not; frames of
it spliced, punched in and out, panned across and brightened make the cuts an editor would, and the moves
a camera would."""

from __future__ import annotations

import av
import numpy as np
import pytest

from config import ROOT
from pipeline import faces, framing
from tests.support.framing_labels import read_cuts, score_cuts, shared_face_video

FPS = 25.0
TWO_FRAMES = 2 / FPS
CUTS = ROOT / "bench" / "labels" / "msdwild_00001.cuts.json"  # a cut at 5.6 s and a jump cut at 18.04 s


@pytest.fixture(scope="module")
def greys() -> list[np.ndarray]:
    """Every frame of the video as a grey picture at half size (640×360)."""
    with av.open(str(shared_face_video())) as container:
        return [picture.to_ndarray(format="gray")[::2, ::2] for picture in container.decode(video=0)]


def cuts_of(pictures: list[np.ndarray]) -> tuple[float, ...]:
    return framing.shot_changes([i / FPS for i in range(len(pictures))], [faces.thumbnail(p) for p in pictures])


def at(second: float) -> int:
    return round(second * FPS)


def punched(picture: np.ndarray, share: float) -> np.ndarray:
    """A digital punch-in: the middle `share` of the picture scaled back up to its size (nearest pixel)."""
    height, width = picture.shape
    h, w = round(height * share), round(width * share)
    rows = (height - h) // 2 + np.arange(height) * h // height
    cols = (width - w) // 2 + np.arange(width) * w // width
    return picture[rows][:, cols]


def test_the_labelled_cut_and_jump_cut_are_found_and_nothing_else(greys: list[np.ndarray]):
    labelled = read_cuts(CUTS)
    assert labelled == pytest.approx((5.6, 18.04))
    result = score_cuts(cuts_of(greys), labelled, TWO_FRAMES)
    assert result.precision == result.recall == 1.0, result


def test_a_jump_cut_in_the_same_framing_is_a_shot_change(greys: list[np.ndarray]):
    """1-4 s then 14.5-17.5 s of the same camera: people jump, the wall stays; captions change in both."""
    spliced = greys[at(1) : at(4)] + greys[at(14.5) : at(17.5)]
    assert cuts_of(spliced) == pytest.approx((3.0,), abs=TWO_FRAMES)


@pytest.mark.parametrize("share", [0.75, 0.9])
def test_a_digital_punch_in_and_back_out_are_shot_changes(greys: list[np.ndarray], share: float):
    """20-24 s with no gap in time, punched in (to `share` of the picture) over 21-22.5 s."""
    pictures = [punched(p, share) if at(21) <= i < at(22.5) else p for i, p in enumerate(greys[: at(24)])]
    assert cuts_of(pictures[at(20) :]) == pytest.approx((1.0, 2.5), abs=TWO_FRAMES)


def test_a_camera_pan_a_zoom_and_an_exposure_change_are_not(greys: list[np.ndarray]):
    """19-24 s (the boy talks, gestures, captions change) through a window that pans 2 px a frame, then
    zooms in slowly, with the picture brightened by 12 levels at 22 s."""
    pictures = []
    for k, picture in enumerate(greys[at(19) : at(24)]):
        shift = min(k, 60) * 2
        window = picture[:, shift : shift + 480]
        if k > 60:
            window = punched(window, 1 - 0.004 * (k - 60))
        if k >= at(3):
            window = np.clip(window.astype(np.int16) + 12, 0, 255).astype(np.uint8)
        pictures.append(window)
    assert cuts_of(pictures) == ()


def test_a_cut_between_scenes_is_found_wherever_the_shots_meet(greys: list[np.ndarray]):
    """A shot of the video, then the same shot upside down (another scene with the same light and
    texture), then the first again: two cuts, each on the frame of the splice."""
    upside_down = [p[::-1, ::-1] for p in greys[at(6) : at(7.2)]]
    pictures = greys[at(2) : at(3)] + upside_down + greys[at(3) : at(4)]
    assert cuts_of(pictures) == pytest.approx((1.0, 2.2), abs=0.5 / FPS)


def test_no_pictures_or_one_are_no_shot_change():
    assert framing.shot_changes([], []) == ()
    assert framing.shot_changes([0.0], [np.zeros((36, 64))]) == ()
