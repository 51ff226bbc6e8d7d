"""Cutting clips with the real ffmpeg: exact lengths, both tracks, faststart, subtitles, clean failures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.media import MediaError, cut_clip, ffmpeg_binary, probe
from pipeline.options import CutOptions
from pipeline.subtitles import CaptionLayout, Cue, to_ass, to_srt
from tests.support.media_checks import FPS, first_frame_time, frames, ssim, top_level_atoms, video_frames
from tests.support.media_factory import make_video


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return ffmpeg_binary()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("source") / "talk.mp4", duration=12.0)


@pytest.fixture(scope="module")
def source_720p(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("source720") / "talk720.mp4", 1280, 720, duration=8.0)


def assert_no_leftovers(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == []


# ---- accurate cuts -----------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [(3.37, 8.61), (0.52, 4.03), (7.13, 11.9)])
def test_accurate_cut_has_the_defined_length_and_both_tracks(source, ffmpeg, tmp_path, start, end):
    clip = cut_clip(source, tmp_path / "clip.mp4", start, end, CutOptions(ffmpeg=ffmpeg))
    info = probe(clip)
    assert abs(info.duration - (end - start)) <= 0.1
    assert info.has_video and info.has_audio
    assert (info.width, info.height) == (640, 360)


def test_accurate_cut_starts_on_the_asked_frame_not_the_keyframe(source, ffmpeg, tmp_path):
    clip = cut_clip(source, tmp_path / "clip.mp4", 5.21, 7.5, CutOptions(ffmpeg=ffmpeg))
    assert abs(first_frame_time(clip, source) - 5.21) <= 1.5 / FPS


def test_accurate_cut_at_720p(source_720p, ffmpeg, tmp_path):
    clip = cut_clip(source_720p, tmp_path / "clip720.mp4", 2.33, 6.47, CutOptions(ffmpeg=ffmpeg))
    info = probe(clip)
    assert abs(info.duration - 4.14) <= 0.1
    assert (info.width, info.height) == (1280, 720) and info.has_audio


def test_accurate_cut_is_web_ready(source, ffmpeg, tmp_path):
    clip = cut_clip(source, tmp_path / "clip.mp4", 1.1, 4.6, CutOptions(ffmpeg=ffmpeg))
    atoms = top_level_atoms(clip)
    assert atoms.index("moov") < atoms.index("mdat")
    with av.open(str(clip)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert audio.codec_context.name == "aac"


def test_progress_reaches_one_and_the_clip_appears_only_when_complete(source, ffmpeg, tmp_path):
    dest, seen = tmp_path / "clip.mp4", []

    def progress(fraction: float) -> None:
        seen.append((fraction, dest.exists()))

    cut_clip(source, dest, 2.0, 9.0, CutOptions(ffmpeg=ffmpeg), progress=progress)
    fractions = [fraction for fraction, _ in seen]
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert not any(exists for fraction, exists in seen if fraction < 1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_cutting_again_replaces_the_clip(source, ffmpeg, tmp_path):
    dest = tmp_path / "clip.mp4"
    cut_clip(source, dest, 1.0, 7.0, CutOptions(ffmpeg=ffmpeg))
    cut_clip(source, dest, 1.0, 4.0, CutOptions(ffmpeg=ffmpeg))
    assert abs(probe(dest).duration - 3.0) <= 0.1


# ---- stream copy -------------------------------------------------------------------------------


def test_stream_copy_cut_works_and_starts_at_a_keyframe(source, ffmpeg, tmp_path):
    clip = cut_clip(source, tmp_path / "copy.mp4", 3.37, 8.61, CutOptions(ffmpeg=ffmpeg, accurate=False))
    info = probe(clip)
    assert info.has_video and info.has_audio
    assert info.duration >= 8.61 - 3.37 - 0.1  # keyframe-aligned: it may start earlier, never later
    atoms = top_level_atoms(clip)
    assert atoms.index("moov") < atoms.index("mdat")


def test_stream_copy_cannot_burn_subtitles(source, ffmpeg, tmp_path):
    subtitles = tmp_path / "clip.srt"
    subtitles.write_text(to_srt([Cue(0.0, 1.0, "hi")]))
    with pytest.raises(MediaError, match="accurate"):
        cut_clip(
            source, tmp_path / "copy.mp4", 1.0, 4.0, CutOptions(ffmpeg=ffmpeg, accurate=False), subtitles_path=subtitles
        )


# ---- burned-in subtitles -----------------------------------------------------------------------


def test_burned_subtitles_render_even_with_awkward_file_names(source, ffmpeg, tmp_path):
    folder = tmp_path / "it's [a], test; dir:x"
    folder.mkdir()
    subtitles = folder / "clip 1's subs.srt"
    subtitles.write_text(to_srt([Cue(0.0, 3.0, "Alice: HELLO WORLD, this is burned in")]))
    plain = cut_clip(source, tmp_path / "plain.mp4", 2.0, 5.0, CutOptions(ffmpeg=ffmpeg))
    burned = cut_clip(source, tmp_path / "burned.mp4", 2.0, 5.0, CutOptions(ffmpeg=ffmpeg), subtitles_path=subtitles)
    info = probe(burned)
    assert abs(info.duration - 3.0) <= 0.1 and info.has_audio
    with_text, without = frames(burned, 10)[-1], frames(plain, 10)[-1]
    height = with_text.shape[0]
    bottom = np.abs(with_text[height * 2 // 3 :] - without[height * 2 // 3 :]).mean()
    top = np.abs(with_text[: height // 3] - without[: height // 3]).mean()
    assert bottom > 2 * top + 1.0  # the captions changed the lower part of the picture


HOSTILE_NAME = '<font size="90" color="#ff0000">{\\an8}Mallory</font>'


def test_markup_in_a_name_is_burned_as_text_not_obeyed(source, ffmpeg, tmp_path):
    """A speaker named with SRT font tags and an ASS override: the caption stays small, white and at the
    bottom (obeyed, `{\\an8}` would move it to the top and the tag would paint it large and red)."""
    captions = tmp_path / "clip.ass"
    captions.write_text(to_ass([Cue(0.0, 3.0, f"{HOSTILE_NAME}: HELLO WORLD")], "clean", CaptionLayout(640, 360)))
    plain = cut_clip(source, tmp_path / "plain.mp4", 2.0, 5.0, CutOptions(ffmpeg=ffmpeg))
    burned = cut_clip(source, tmp_path / "burned.mp4", 2.0, 5.0, CutOptions(ffmpeg=ffmpeg), subtitles_path=captions)
    with_text, without = _last_rgb(burned), _last_rgb(plain)
    height = with_text.shape[0]
    changed = np.abs(with_text - without).max(axis=2) > 40
    assert changed[height * 2 // 3 :].sum() > 50, "the caption is drawn at the bottom"
    assert changed[: height * 2 // 3].sum() < 20, "at its usual size: two lines, nothing above the bottom third"
    white = (with_text[height * 2 // 3 :] > 200).all(axis=2) & changed[height * 2 // 3 :]
    assert white.sum() > 50, "in white"


def _last_rgb(clip: Path) -> np.ndarray:
    with av.open(str(clip)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)][-1].astype(int)


def test_markup_in_a_downloaded_srt_reads_as_text(ffmpeg, tmp_path):
    """Players read SubRip tags (ffmpeg's reader here, as players built on it do): the name stays text."""
    srt = tmp_path / "clip.srt"
    srt.write_text(to_srt([Cue(0.0, 3.0, f"{HOSTILE_NAME}: HELLO")]))
    subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(srt), str(tmp_path / "read.ass")], check=True)
    event = (tmp_path / "read.ass").read_text().splitlines()[-1]
    assert "{\\" not in event and "\\an8" not in event.replace("{\u200b\\an8}", ""), event
    assert "Mallory" in event and event.replace("\u200b", "").endswith(f"{HOSTILE_NAME}: HELLO")


def test_missing_subtitle_file_is_reported(source, ffmpeg, tmp_path):
    with pytest.raises(MediaError, match="subtitle file is missing"):
        cut_clip(
            source, tmp_path / "clip.mp4", 1.0, 4.0, CutOptions(ffmpeg=ffmpeg), subtitles_path=tmp_path / "none.srt"
        )


# ---- failures ----------------------------------------------------------------------------------


def test_missing_source_says_to_download_again(ffmpeg, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(MediaError, match="downloaded video is missing from disk: run Download again"):
        cut_clip(tmp_path / "gone.mp4", out / "clip.mp4", 1.0, 4.0, CutOptions(ffmpeg=ffmpeg))
    assert not out.exists()


def test_a_failed_cut_leaves_no_file(source, ffmpeg, tmp_path):
    with pytest.raises(MediaError, match="ffmpeg failed"):
        cut_clip(source, tmp_path / "clip.mp4", 1.0, 4.0, CutOptions(ffmpeg=ffmpeg, preset="no-such-preset"))
    assert_no_leftovers(tmp_path)


def test_a_clip_past_the_end_of_the_video_is_refused(source, ffmpeg, tmp_path):
    with pytest.raises(MediaError, match="does not fit"):
        cut_clip(source, tmp_path / "clip.mp4", 12.5, 15.0, CutOptions(ffmpeg=ffmpeg))
    with pytest.raises(MediaError, match="does not fit"):
        cut_clip(source, tmp_path / "clip.mp4", 4.0, 3.0, CutOptions(ffmpeg=ffmpeg))
    assert_no_leftovers(tmp_path)


def test_an_unreadable_source_is_reported(ffmpeg, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError, match="cannot read"):
        cut_clip(broken, tmp_path / "clip.mp4", 0.0, 1.0, CutOptions(ffmpeg=ffmpeg))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4"]


def test_a_vertical_clip_is_1080_by_1920_placed_where_asked_and_plays(source, ffmpeg, tmp_path):
    from pipeline.media import _cut_command

    clip = cut_clip(
        source, tmp_path / "vertical.mp4", 1.0, 4.0, CutOptions(ffmpeg=ffmpeg, shape="vertical", crop_x=0.0)
    )
    media = probe(clip)
    assert media.has_video and (media.width, media.height) == (1080, 1920)
    assert media.duration == pytest.approx(3.0, abs=0.1)
    command = _cut_command(
        source, tmp_path / "x.mp4", 1.0, 3.0, CutOptions(shape="vertical", crop_x=1.0, accurate=False), None
    )
    assert "libx264" in command, "a crop is always encoded again, even in copy mode"
    assert any("crop=" in part and "x='(iw-ow)*1.000'" in part and "lanczos" in part for part in command)


# ---- one encode, clips copied out of it ---------------------------------------------------------


def test_clips_copied_out_of_one_encode_start_on_their_keyframe_exact_to_a_frame(source, ffmpeg, tmp_path):
    from pipeline.media import copy_out, keyframes

    first, last = 1.0, 11.0
    inside = [(2.37, 5.81), (5.81, 9.1), (6.4, 10.96)]  # speaker clips: none on a frame edge, two overlapping
    master = cut_clip(
        source,
        tmp_path / "whole.mp4",
        first,
        last,
        CutOptions(ffmpeg=ffmpeg),
        keyframes_at=[start - first for start, _ in inside],
    )
    assert ssim(master, source, first, ffmpeg) >= 0.97
    keys = keyframes(master)
    for n, (start, end) in enumerate(inside):
        clip = copy_out(master, keys, tmp_path / f"clip{n}.mp4", start - first, end - first, ffmpeg)
        assert clip is not None, f"no keyframe at {start}"
        pictures = video_frames(clip)
        assert pictures[0].key_frame, "a copied clip opens on a keyframe, so every player can start it"
        assert abs(len(pictures) - (end - start) * FPS) <= 1.001, f"{len(pictures)} frames for {end - start:.2f} s"
        assert abs(first_frame_time(clip, source) - start) <= 1 / FPS
        info = probe(clip)
        assert info.has_audio and abs(info.duration - (end - start)) <= 1.5 / FPS
        with av.open(str(clip)) as container:  # both tracks start together: the sound stays in sync
            audio = next(container.decode(audio=0))
        assert abs(audio.time - pictures[0].time) <= 1 / FPS
        assert ssim(clip, source, start, ffmpeg) >= 0.97


def test_a_clip_with_no_keyframe_where_it_starts_is_not_copied(source, ffmpeg, tmp_path):
    from pipeline.media import copy_out, keyframes

    master = cut_clip(source, tmp_path / "whole.mp4", 1.0, 11.0, CutOptions(ffmpeg=ffmpeg), keyframes_at=[3.0])
    assert copy_out(master, keyframes(master), tmp_path / "clip.mp4", 5.5, 8.0, ffmpeg) is None
    assert not (tmp_path / "clip.mp4").exists()


# ---- posters -----------------------------------------------------------------------------------


def test_a_poster_is_the_frame_at_one_second_320_wide(source, tmp_path):
    from pipeline.media import grab_frame

    poster = grab_frame(source, tmp_path / "poster.jpg", at_seconds=1.0)
    assert poster is not None and poster.read_bytes()[:2] == b"\xff\xd8"
    with av.open(str(poster)) as image:
        picture = next(image.decode(video=0))
    assert (picture.width, picture.height) == (320, 180)
    small = picture.to_ndarray(format="gray").astype(np.int16)
    originals = [
        frame.reformat(width=320, height=180).to_ndarray(format="gray").astype(np.int16)
        for frame in video_frames(source)[:50]
    ]
    assert int(np.argmin([np.abs(small - original).mean() for original in originals])) == FPS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poster.jpg"]


def test_a_short_video_gets_its_middle_frame_and_no_picture_gets_no_poster(ffmpeg, tmp_path):
    from pipeline.media import grab_frame

    short = make_video(tmp_path / "short.mp4", duration=1.2)
    assert grab_frame(short, tmp_path / "short.jpg", at_seconds=3.0) is not None
    mute = tmp_path / "sound.m4a"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=duration=2", str(mute)], check=True)
    assert grab_frame(mute, tmp_path / "sound.jpg") is None
    assert not (tmp_path / "sound.jpg").exists()


# ---- the encoder -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ffmpeg_exits", "wanted", "expected"),
    [
        (0, "auto", "h264_nvenc"),
        (1, "auto", "libx264"),
        (1, "h264_nvenc", "libx264"),
        (0, "libx264", "libx264"),
    ],
)
def test_nvenc_is_chosen_only_where_it_encodes(tmp_path, caplog, ffmpeg_exits, wanted, expected):
    """ffmpeg builds list NVENC with or without a GPU: the choice rests on a trial encode (here a stand-in
    ffmpeg that succeeds or fails), and x264 on the CPU is the fallback."""
    from pipeline.media import video_encoder

    fake = tmp_path / "ffmpeg"
    fake.write_text(f"#!/bin/sh\nexit {ffmpeg_exits}\n")
    fake.chmod(0o755)
    assert video_encoder(str(fake), wanted) == expected
    assert ("NVENC does not encode here" in caplog.text) == (wanted == "h264_nvenc" and expected == "libx264")


def test_the_encoders_command_lines(source, tmp_path):
    from pipeline.media import _cut_command

    x264 = _cut_command(source, tmp_path / "a.mp4", 1.0, 2.0, CutOptions(preset="superfast", crf=21), None)
    assert x264[x264.index("-c:v") : x264.index("-c:v") + 6] == [
        "-c:v",
        "libx264",
        "-preset",
        "superfast",
        "-crf",
        "21",
    ]
    nvenc = _cut_command(source, tmp_path / "a.mp4", 1.0, 2.0, CutOptions(crf=21, encoder="h264_nvenc"), None, [0.5])
    assert "h264_nvenc" in nvenc and nvenc[nvenc.index("-cq") + 1] == "21" and "libx264" not in nvenc
    assert nvenc[nvenc.index("-force_key_frames") + 1] == "0.500" and "-forced-idr" in nvenc
