"""Smart cutting with the real ffmpeg, x264 and PyAV: only the ends encoded, the rest the source's own
frames, every frame where it belongs, and anything that cannot be joined safely refused."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from tests.support.media_checks import FPS, decode_errors, first_frame_time, frames, ssim, top_level_atoms, video_frames
from tests.support.media_factory import make_video, run_ffmpeg
from utils.pipeline import smartcut
from utils.pipeline.media import ffmpeg_binary, probe
from utils.pipeline.options import CutOptions

KEYFRAME_SECONDS = 1.0


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return ffmpeg_binary()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Encoded as sites encode: a keyframe every second, B-frames between."""
    folder = tmp_path_factory.mktemp("smart")
    return make_video(folder / "talk.mp4", duration=14.0, keyframe_seconds=KEYFRAME_SECONDS)


def first_shown(start: float) -> float:
    """The first frame shown at or after `start`, as cutting takes it."""
    return math.ceil(start * FPS - 1e-6) / FPS


@pytest.mark.parametrize(("start", "end"), [(2.37, 9.81), (3.0, 8.0), (0.5, 13.9)])
def test_a_smart_cut_copies_whole_groups_and_encodes_only_the_ends(source, ffmpeg, tmp_path, start, end):
    plan = smartcut.choose(source, [(start, end)])[0]
    assert plan is not None
    assert plan.encoded_seconds < KEYFRAME_SECONDS * 2 and plan.copied_seconds >= (end - start) - 2 * KEYFRAME_SECONDS
    clip = smartcut.cut(source, tmp_path / "clip.mp4", plan, CutOptions(ffmpeg=ffmpeg))
    assert clip is not None and sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]

    pictures = video_frames(clip)
    assert pictures[0].key_frame, "the clip opens on a keyframe, so every player can start it"
    assert abs(len(pictures) - (end - start) * FPS) <= 1.001, f"{len(pictures)} frames for {end - start:.2f} s"
    assert abs(first_frame_time(clip, source) - start) <= 1 / FPS
    assert decode_errors(clip, ffmpeg) == ""
    assert top_level_atoms(clip).index("moov") < top_level_atoms(clip).index("mdat")

    opening = round(first_shown(start) * FPS)
    original = frames(source)
    copied = range(
        round(plan.seconds(plan.copy_from - plan.first) * FPS), round(plan.seconds(plan.copy_to - plan.first) * FPS)
    )
    cut = frames(clip)
    assert all(np.array_equal(cut[n], original[opening + n]) for n in copied), "copied frames are the source's own"
    assert ssim(clip, source, first_shown(start), ffmpeg) >= 0.97

    info = probe(clip)
    assert info.has_audio and abs(info.duration - (end - start)) <= 1.5 / FPS
    with av.open(str(clip)) as container:  # both tracks start together: the sound stays in sync
        audio = next(container.decode(audio=0))
        extradata = container.streams.video[0].codec_context.extradata
    assert abs(audio.time - pictures[0].time) <= 1 / FPS
    config = smartcut.AvcConfig.parse(extradata)
    assert len(config.sps) == (1 + (plan.first < plan.copy_from) + (plan.copy_to < plan.end))


def test_the_exchange_and_its_speaker_clips_are_planned_together(source, tmp_path):
    spans = [(1.3, 12.6), (1.3, 6.2), (6.9, 12.6), (4.05, 4.6)]  # the last: no whole group inside it
    plans = smartcut.choose(source, spans)
    assert plans is not None and plans[-1] is None and all(plans[:-1])
    long_groups = make_video(tmp_path / "long.mp4", duration=14.0)  # one keyframe: nothing to copy
    assert smartcut.choose(long_groups, spans) is None


def test_a_source_that_is_not_h264_is_encoded_in_full(ffmpeg, tmp_path):
    mpeg4 = tmp_path / "mpeg4.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", "-c:v", "mpeg4", "-g", "25", str(mpeg4))
    assert smartcut.choose(mpeg4, [(1.2, 5.3)]) is None


def test_a_rotated_source_is_refused_and_leaves_nothing(source, ffmpeg, tmp_path):
    rotated = tmp_path / "rotated.mp4"
    run_ffmpeg("-i", str(source), "-c", "copy", "-metadata:s:v", "rotate=90", str(rotated))
    plan = smartcut.plan(rotated, 2.37, 9.81)
    assert plan is not None
    (tmp_path / "out").mkdir()
    assert smartcut.cut(rotated, tmp_path / "out" / "clip.mp4", plan, CutOptions(ffmpeg=ffmpeg)) is None
    assert list((tmp_path / "out").iterdir()) == []


def test_a_join_that_does_not_decode_is_caught(source, ffmpeg, tmp_path, monkeypatch):
    """Without the encoded pieces' parameter sets in the track, their slices cannot be read: refused."""
    plan = smartcut.plan(source, 2.37, 9.81)
    monkeypatch.setattr(smartcut.AvcConfig, "with_sets", lambda config, sps, pps: config)
    assert smartcut.cut(source, tmp_path / "clip.mp4", plan, CutOptions(ffmpeg=ffmpeg)) is None
    assert list(tmp_path.iterdir()) == []


def test_a_picture_that_decodes_wrong_is_caught(source, ffmpeg, tmp_path, monkeypatch):
    """A piece that decodes without an error but does not show the source's picture is refused too."""
    plan = smartcut.plan(source, 2.37, 9.81)
    encode = smartcut._encode

    def negative_of_the_source(*args):
        encoded = encode(*args)
        encoded.first_picture = 255 - encoded.first_picture
        return encoded

    monkeypatch.setattr(smartcut, "_encode", negative_of_the_source)
    assert smartcut.cut(source, tmp_path / "clip.mp4", plan, CutOptions(ffmpeg=ffmpeg)) is None


def test_parameter_set_ids_are_read_from_the_bitstream():
    """x264's SPS and PPS as a smart cut lists them: the source's under id 0, the two pieces' under 1 and 2."""
    sps = [bytes.fromhex(h) for h in ("6764001facd9405005bb011000000300100000030320f1831960",
                                      "6764001f4b2d00a00b7602200000030020000c8001e30654",
                                      "6764001f6b2d00a00b7602200000030020000c8001e30654")]  # fmt: skip
    pps = [bytes.fromhex(h) for h in ("68ef86f2c0", "684af0fcb0", "686ef0fcb0")]
    assert [smartcut.sps_id(nal) for nal in sps] == [0, 1, 2]
    assert [smartcut.pps_id(nal) for nal in pps] == [0, 1, 2]
    source = smartcut.AvcConfig(100, 0, 31, 4, (sps[0],), (pps[0],), bytes.fromhex("fdf8f800"))
    assert smartcut.AvcConfig.parse(source.to_bytes()) == source
    assert source.free_ids()[:2] == [1, 2]
    joined = source.with_sets(sps[1:], pps[1:])
    assert smartcut.AvcConfig.parse(joined.to_bytes()) == joined and joined.free_ids()[0] == 3


def test_sound_that_is_not_aac_is_encoded_and_stays_in_sync(source, ffmpeg, tmp_path):
    """AAC sound is copied; any other (MP3 here) is encoded as AAC, so every browser plays the clip."""
    mp3 = tmp_path / "mp3.mp4"
    run_ffmpeg("-i", str(source), "-c:v", "copy", "-c:a", "libmp3lame", str(mp3))
    start, end = 2.37, 9.81
    clip = smartcut.cut(mp3, tmp_path / "clip.mp4", smartcut.plan(mp3, start, end), CutOptions(ffmpeg=ffmpeg))
    assert clip is not None
    with av.open(str(clip)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        audio = next(container.decode(audio=0))
    assert abs(audio.time - video_frames(clip)[0].time) <= 1 / FPS
    assert abs(probe(clip).duration - (end - start)) <= 1.5 / FPS
