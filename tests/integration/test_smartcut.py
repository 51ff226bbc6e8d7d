"""Smart cutting with the real ffmpeg, x264 and PyAV: only the ends encoded, the rest the source's own
frames, every frame where it belongs, and anything that cannot be joined safely refused."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline import smartcut
from pipeline.media import ffmpeg_binary, probe
from pipeline.options import CutOptions
from tests.support.media_checks import FPS, decode_errors, first_frame_time, frames, ssim, top_level_atoms, video_frames
from tests.support.media_factory import make_video, run_ffmpeg

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
    sps = [
        bytes.fromhex(h)
        for h in (
            "6764001facd9405005bb011000000300100000030320f1831960",
            "6764001f4b2d00a00b7602200000030020000c8001e30654",
            "6764001f6b2d00a00b7602200000030020000c8001e30654",
        )
    ]
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


def _with_pps_id(pps: bytes, number: int) -> bytes:
    """The same picture parameter set under another id: its first Exp-Golomb field rewritten."""
    bits = "".join(f"{byte:08b}" for byte in pps[1:].replace(b"\x00\x00\x03", b"\x00\x00"))
    zeros = bits.index("1")
    rest = bits[2 * zeros + 1 :].rstrip("0")[:-1]  # after pps_id, without the stop bit and its padding
    code = f"{number + 1:b}"
    body = "0" * (len(code) - 1) + code + rest + "1"
    body += "0" * (-len(body) % 8)
    rbsp = bytes(int(body[at : at + 8], 2) for at in range(0, len(body), 8))
    escaped = bytearray()
    for byte in rbsp:  # emulation prevention, as an encoder writes it
        if len(escaped) >= 2 and escaped[-2:] == b"\x00\x00" and byte <= 3:
            escaped.append(3)
        escaped.append(byte)
    return pps[:1] + bytes(escaped)


def test_a_source_that_uses_every_parameter_set_id_is_encoded_in_full(source, ffmpeg, tmp_path):
    """A crafted but playable MP4 whose track lists PPS ids 1..31 leaves no id for the encoded ends:
    its clips are encoded in full, never an IndexError that fails every clip of the video."""
    crowded = tmp_path / "crowded.mp4"
    with av.open(str(source)) as original, av.open(str(crowded), "w", format="mp4") as output:
        video = original.streams.video[0]
        config = smartcut.AvcConfig.parse(bytes(video.codec_context.extradata))
        extra = [_with_pps_id(config.pps[0], number) for number in range(1, 32)]
        assert [smartcut.pps_id(nal) for nal in extra] == list(range(1, 32))
        out = output.add_stream_from_template(video)
        out.codec_context.extradata = config.with_sets([], extra).to_bytes()
        for packet in original.demux(video):
            if packet.dts is not None:
                packet.stream = out
                output.mux(packet)
    assert decode_errors(crowded, ffmpeg) == "", "the crafted source plays"
    assert smartcut.choose(crowded, [(2.37, 9.81)]) is None
    plan = smartcut.plan(source, 2.37, 9.81)  # a plan made for a source that had room, applied to this one
    assert smartcut.cut(crowded, tmp_path / "clip.mp4", plan, CutOptions(ffmpeg=ffmpeg)) is None
    clip = smartcut.cut_or_encode(crowded, tmp_path / "clip.mp4", 2.37, 9.81, plan, CutOptions(ffmpeg=ffmpeg))
    assert probe(clip).has_video and abs(probe(clip).duration - 7.44) <= 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "crowded.mp4"]


def test_a_configuration_record_cut_short_is_refused_not_raised():
    with pytest.raises(smartcut.SmartCutUnsupported):
        smartcut.AvcConfig.parse(bytes.fromhex("0164001fffe100196764"))
