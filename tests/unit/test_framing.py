"""The vertical camera on plain values: faces into tracks and people, speaker labels tied to faces, and a
path that holds still within a turn, eases or cuts at a change of speaker, cuts with the shot, ignores
interjections, splits the frame for quick back-and-forth, and falls back when there is no face. Real
pictures are in tests/integration/test_framing.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline import framing, reframe
from pipeline.framing import FULL, ONE, TWO, CameraPath, FaceBox, Footage, Frame, View
from pipeline.types import Turn

W, H, FPS = 1280, 720, 25.0
CROP = framing.crop_size(W, H)
RED, BLUE, GREEN = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)


def face(cx: float, look=RED, size: float = 0.06, cy: float = 0.3, motion: tuple[float, ...] = ()) -> FaceBox:
    """A face `size` of the width across, centred at (cx, cy) (fractions of the picture)."""
    half_w, half_h = size / 2, size * W / H / 2
    mouth = float(np.mean(motion)) if motion else 0.0
    return FaceBox(cx - half_w, cy - half_h, cx + half_w, cy + half_h, 0.9, mouth, look, motion)


def talking(t: float, speaking: bool) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A sample's five frames of mouth motion and sound: a talking mouth follows a syllable-like sound."""
    times = [t + k / FPS for k in range(5)]
    sound = tuple(0.05 + 0.04 * math.sin(2 * math.pi * 4 * x) for x in times)
    motion = tuple(
        (8 * (s - 0.05) / 0.04 + 1.0) if speaking else 0.1 * math.cos(7 * x) for s, x in zip(sound, times, strict=False)
    )
    return motion, sound


def two_people(turns: list[Turn], duration: float, left=0.15, right=0.85, cuts=(), speakers=("A", "B")) -> Footage:
    """Two seated people (A left in red, B right in blue) filmed at 5 samples a second, each mouth moving
    in time with the sound while its owner's label talks."""
    frames = []
    for i in range(int(duration * 5)):
        t = i / 5
        active = {turn.speaker for turn in turns if turn.start <= t < turn.end}
        a_motion, sound = talking(t, speakers[0] in active)
        b_motion, _ = talking(t, speakers[1] in active)
        frames.append(Frame(t, (face(left, RED, motion=a_motion), face(right, BLUE, motion=b_motion)), sound))
    return Footage(W, H, FPS, duration, tuple(frames), tuple(cuts))


def xs(path: CameraPath, start: float, end: float) -> set[int]:
    return {view.x for view in path.views[int(start * FPS) : int(end * FPS)]}


def centre_x(path: CameraPath, t: float) -> float:
    return path.views[int(t * FPS)].x + path.crop[0] / 2


# ---- sizes, shots, tracks, people --------------------------------------------------------------------


def test_crop_and_split_sizes_are_even_9_16_and_9_8():
    assert framing.crop_size(1280, 720) == (404, 720)
    assert framing.crop_size(1920, 1080) == (606, 1080)
    width, height = framing.region_size(1280, 720)
    assert width % 2 == height % 2 == 0 and abs(width / height - 9 / 8) < 0.02


def test_a_cut_is_where_most_of_the_picture_changes_not_where_captions_do():
    rng = np.random.default_rng(1)
    shot_a, shot_b = rng.uniform(0, 255, (36, 64)), rng.uniform(0, 255, (36, 64))
    thumbs, times = [], []
    for i in range(50):
        thumb = (shot_a if i < 30 else shot_b).copy()
        if 10 <= i < 20:  # new captions: the bottom rows change
            thumb[30:, :] = 255
        thumbs.append(thumb + rng.normal(0, 1, thumb.shape))
        times.append(i / FPS)
    assert framing.shot_changes(times, thumbs) == (pytest.approx(30 / FPS),)


def test_faces_become_tracks_per_shot_and_people_across_shots():
    frames = [Frame(i / 5, (face(0.2 + 0.001 * i, RED), face(0.8, BLUE))) for i in range(25)]
    after_cut = [Frame(5 + i / 5, (face(0.75, BLUE, size=0.1), face(0.3, RED, size=0.1))) for i in range(25)]
    footage = Footage(W, H, FPS, 10.0, tuple(frames + after_cut), (5.0,))
    tracks = framing.track_faces(footage)
    assert len(tracks) == 4 and {track.shot for track in tracks} == {0, 1}
    person = framing.identities(tracks)
    red = {person[t.id] for t in tracks if t.boxes[0].look == RED}
    blue = {person[t.id] for t in tracks if t.boxes[0].look == BLUE}
    assert len(red) == len(blue) == 1 and red != blue


def test_a_face_seen_for_an_instant_is_no_track():
    frames = [Frame(i / 5, (face(0.2),) + ((face(0.6, GREEN),) if i == 3 else ())) for i in range(20)]
    assert len(framing.track_faces(Footage(W, H, FPS, 4.0, tuple(frames)))) == 1


def test_each_label_is_tied_to_the_face_whose_mouth_moves_with_its_words():
    turns = [Turn(0, 4, "B"), Turn(4, 8, "A"), Turn(8, 12, "B")]
    footage = two_people(turns, 12.0)
    tracks = framing.track_faces(footage)
    person = framing.identities(tracks)
    found = framing.speaker_identities(tracks, person, turns, footage.frames, FPS)
    left = next(person[t.id] for t in tracks if t.boxes[0].cx < 0.5)
    right = next(person[t.id] for t in tracks if t.boxes[0].cx > 0.5)
    assert found == {"A": left, "B": right}


def test_a_voice_diarization_split_in_two_joins_its_face():
    turns = [Turn(0, 3, "A"), Turn(3, 6, "B"), Turn(6, 9, "A2"), Turn(9, 12, "B")]
    footage = two_people([Turn(t.start, t.end, "A" if t.speaker == "A2" else t.speaker) for t in turns], 12.0)
    tracks = framing.track_faces(footage)
    person = framing.identities(tracks)
    found = framing.speaker_identities(tracks, person, turns, footage.frames, FPS)
    assert found["A"] == found["A2"] != found["B"]


# ---- the path ---------------------------------------------------------------------------------------


def test_the_crop_holds_still_within_a_turn_and_cuts_to_the_far_speaker():
    turns = [Turn(0, 5, "A"), Turn(5, 10, "B")]
    path = framing.plan(two_people(turns, 10.0, left=0.25, right=0.75), turns)
    assert len(path.views) == 250 and all(view.layout == ONE for view in path.views)
    assert len(xs(path, 0, 4.9)) == 1 and len(xs(path, 5.2, 10)) == 1
    assert abs(centre_x(path, 2) - 0.25 * W) < 5 and abs(centre_x(path, 8) - 0.75 * W) < 5
    assert framing.steadiness(path) == 0
    assert any(abs(change - 5.0) < 0.1 for change in path.changes)


def test_a_near_speaker_is_eased_to_and_one_already_in_frame_is_not_chased():
    options = framing.FramingOptions()
    turns = [Turn(0, 5, "A"), Turn(5, 10, "B")]
    near = framing.plan(two_people(turns, 10.0, left=0.40, right=0.52), turns, options=options)
    moves = [abs(a.x - b.x) for a, b in zip(near.views, near.views[1:], strict=False)]
    moving = [i for i, step in enumerate(moves) if step]
    assert moving and (moving[-1] - moving[0] + 1) / FPS <= options.ease_seconds + 0.05  # eased, not cut
    assert max(moves) < 0.5 * CROP[0]
    inside = framing.plan(two_people(turns, 10.0, left=0.45, right=0.50), turns)
    assert len(xs(inside, 0, 10)) == 1  # both faces fit: the camera never moves


def test_an_interjection_does_not_move_the_camera_but_a_reply_does():
    turns = [Turn(0, 4, "A"), Turn(4, 4.5, "B"), Turn(4.5, 8, "A"), Turn(8, 12, "B")]
    path = framing.plan(two_people(turns, 12.0, left=0.25, right=0.75), turns)
    assert len(xs(path, 0, 7.9)) == 1
    assert abs(centre_x(path, 10) - 0.75 * W) < 5


def test_a_shot_change_cuts_the_crop_to_where_the_speaker_now_is():
    turns = [Turn(0, 10, "A")]
    frames = [
        Frame(i / 5, (face(0.2 if i < 25 else 0.7, RED, motion=talking(i / 5, True)[0]),), talking(i / 5, True)[1])
        for i in range(50)
    ]
    path = framing.plan(Footage(W, H, FPS, 10.0, tuple(frames), (5.0,)), turns)
    assert abs(centre_x(path, 4.9) - 0.2 * W) < 5 and abs(centre_x(path, 5.0) - 0.7 * W) < 5
    assert framing.steadiness(path) == 0


def test_a_face_moving_within_a_turn_is_followed_a_few_pixels_a_frame():
    turns = [Turn(0, 10, "A")]
    frames = []
    for i in range(50):
        motion, sound = talking(i / 5, True)
        frames.append(Frame(i / 5, (face(0.2 + 0.5 * i / 50, RED, motion=motion),), sound))
    path = framing.plan(Footage(W, H, FPS, 10.0, tuple(frames)), turns)
    steps = [abs(a.x - b.x) for a, b in zip(path.views, path.views[1:], strict=False)]
    assert 0 < max(steps) <= framing.FramingOptions.max_drift_px
    assert framing.face_inside(path.views[-1], path, (0.66 * W, 0.2 * H, 0.72 * W, 0.3 * H))


def test_quick_back_and_forth_gets_the_split_layout_with_the_left_face_on_top():
    turns = [Turn(0, 3, "A")] + [Turn(3 + i, 4 + i, "B" if i % 2 == 0 else "A") for i in range(6)] + [Turn(9, 14, "A")]
    path = framing.plan(two_people(turns, 14.0), turns)
    layouts = [view.layout for view in path.views]
    assert layouts[int(1 * FPS)] == ONE and layouts[int(6 * FPS)] == TWO and layouts[int(12 * FPS)] == ONE
    split = path.views[int(6 * FPS)]
    assert split.top[0] < split.bottom[0]
    assert framing.face_inside(split, path, (0.12 * W, 0.25 * H, 0.18 * W, 0.35 * H))
    assert framing.face_inside(split, path, (0.82 * W, 0.25 * H, 0.88 * W, 0.35 * H))


def test_the_camera_goes_to_the_next_speaker_in_the_pause_before_their_first_word():
    turns = [Turn(0, 4, "A"), Turn(4.3, 8, "B"), Turn(10, 14, "A")]  # a short pause, then a long one
    path = framing.plan(two_people(turns, 14.0, left=0.25, right=0.75), turns)
    lead_in = framing.FramingOptions.lead_in
    assert abs(centre_x(path, 3.9) - 0.25 * W) < 5 and abs(centre_x(path, 4.1) - 0.75 * W) < 5
    assert abs(centre_x(path, 10 - lead_in - 0.2) - 0.75 * W) < 5  # a long pause holds the last speaker...
    assert abs(centre_x(path, 10 - lead_in + 0.1) - 0.25 * W) < 5  # ...until just before the next one talks
    assert framing.steadiness(path) == 0


def test_a_face_talking_under_another_label_gets_the_split_layout_until_the_labels_agree():
    heard = [Turn(0, 4, "A"), Turn(4, 7, "B"), Turn(7, 12, "A")]  # who really talks (their mouths move)
    labelled = [Turn(0, 4, "A"), Turn(4, 5, "B"), Turn(5, 9, "A"), Turn(9, 12, "B")]  # B's edges wrong
    path = framing.plan(two_people(heard, 12.0, left=0.2, right=0.8), labelled)
    layouts = [view.layout for view in path.views]
    assert layouts[int(2 * FPS)] == ONE and abs(centre_x(path, 2) - 0.2 * W) < 5
    assert layouts[int(6 * FPS)] == TWO  # labels say A, B's mouth moves: both are shown
    assert layouts[int(11 * FPS)] == ONE
    split = path.views[int(6 * FPS)]
    assert framing.face_inside(split, path, (0.17 * W, 0.25 * H, 0.23 * W, 0.35 * H))
    assert framing.face_inside(split, path, (0.77 * W, 0.25 * H, 0.83 * W, 0.35 * H))
    switches = sum(a.layout != b.layout for a, b in zip(path.views, path.views[1:], strict=False))
    assert switches <= 4 and framing.steadiness(path) == 0


def test_no_face_shows_the_whole_picture_or_a_centred_crop():
    frames = tuple(Frame(i / 5, ()) for i in range(25))
    footage = Footage(W, H, FPS, 5.0, frames)
    assert {view.layout for view in framing.plan(footage, []).views} == {FULL}
    centred = framing.plan(footage, [], options=framing.FramingOptions(no_face=ONE))
    assert {view.x for view in centred.views} == {(W - CROP[0]) // 2}


def test_fixed_and_split_framings():
    turns = [Turn(0, 5, "A"), Turn(5, 10, "B")]
    footage = two_people(turns, 10.0)
    fixed = framing.plan(footage, turns, "fixed", crop_x=1.0)
    assert {view.x for view in fixed.views} == {W - CROP[0]}
    split = framing.plan(footage, turns, "split")
    assert {view.layout for view in split.views} == {TWO}


def test_face_inside_needs_most_of_the_face_in_the_frame():
    path = CameraPath(FPS, W, H, CROP, framing.region_size(W, H), (View(ONE, 100),))
    assert framing.face_inside(path.views[0], path, (150, 100, 250, 200))
    assert not framing.face_inside(path.views[0], path, (480, 100, 580, 200))  # mostly right of the crop


# ---- the ffmpeg filter ------------------------------------------------------------------------------


def test_one_layout_is_one_crop_moved_by_sendcmd_at_its_frames():
    views = tuple(View(ONE, 0 if i < 50 else 876) for i in range(100))
    path = CameraPath(FPS, W, H, CROP, framing.region_size(W, H), views)
    graph = reframe.crop_filter(path)
    assert "streamselect" not in graph and graph.count("crop@one") == 2
    assert "sendcmd=c='1.9800 crop@one x 876'" in graph  # half a frame before frame 50 (2.00 s)
    assert graph.endswith("scale=1080:1920:flags=lanczos,setsar=1")


def test_several_layouts_are_switched_by_streamselect():
    views = (View(ONE, 10),) * 10 + (View(TWO, top=(0, 0), bottom=(600, 0)),) * 10 + (View(FULL),) * 5
    path = CameraPath(FPS, W, H, CROP, framing.region_size(W, H), views)
    graph = reframe.crop_filter(path)
    assert "split=3[onein][twoin][fullin]" in graph and "streamselect@pick=inputs=3:map=0" in graph
    assert "streamselect@pick map 1, crop@top x 0, crop@top y 0, crop@bottom x 600, crop@bottom y 0" in graph
    assert "streamselect@pick map 2" in graph


def test_clip_turns_count_from_the_clip_start():
    turns = [Turn(0, 5, "A"), Turn(5, 12, "B"), Turn(20, 30, "A")]
    assert reframe.clip_turns(turns, 4.0, 10.0) == [Turn(0, 1, "A"), Turn(1, 6, "B")]


def test_a_square_clip_crops_1_1_and_splits_into_2_1_halves():
    assert framing.crop_size(1280, 720, (1, 1)) == (720, 720)
    width, height = framing.region_size(1280, 720, (1, 1))
    assert abs(width / height - 2) < 0.02


def test_a_fixed_framing_leaves_the_crop_to_media():
    assert reframe.shape_crop("no-such.mp4", 0.0, 5.0, [], "fixed") is None


def test_a_still_is_framed_as_its_moment_of_the_path():
    views = (View(ONE, 0),) * 25 + (View(TWO, top=(0, 0), bottom=(600, 0)),) * 25
    path = CameraPath(FPS, W, H, CROP, framing.region_size(W, H), views)
    assert reframe.still_filter(path, 0.5).startswith("crop@one=w=404:h=720:x=0:y=0")
    split = reframe.still_filter(path, 1.5)
    assert "crop@bottom=w=648:h=576:x=600:y=0" in split and "sendcmd" not in split
