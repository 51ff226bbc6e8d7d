"""Clips people can publish, checked on what comes out: each shape at its platform size with sound at
−14 LUFS, captions of every style never in the corners a phone feed covers and never over two lines,
counted on rendered frames; the sound levelled on every way a clip is cut (full encode, smart cut, copied
out of one encode)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline import media, smartcut, subtitles
from pipeline.media import cut_clip, ffmpeg_binary, probe
from pipeline.options import CutOptions
from pipeline.types import Word
from tests.support.media_checks import top_level_atoms
from tests.support.media_factory import make_talk_video

ROOT = Path(__file__).resolve().parents[2]
DEVSET = ROOT.parent / "shared" / "devset"
SPEECH = "ibm_interview1.wav"  # a broadcast interview: peaky speech, 3.4 LU short of −14 with no limiter
BACKGROUND = np.array([0x40, 0x60, 0x80])  # make_talk_video's plain picture
TARGET = -14.0
SIZES = {"vertical": (1080, 1920), "square": (1080, 1080), "original": (1280, 720)}
FRAMES_DIR = Path(os.environ.get("CLIP_FRAMES_DIR", "")) if os.environ.get("CLIP_FRAMES_DIR") else None


@pytest.fixture(scope="module")
def speech() -> Path:
    if not (DEVSET / SPEECH).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the dev set is missing at {DEVSET} (CI runs with ../shared beside the checkout)")
        pytest.skip(f"the dev set is not at {DEVSET}")
    return DEVSET / SPEECH


@pytest.fixture(scope="module")
def talk_720p(tmp_path_factory, speech) -> Path:
    return make_talk_video(tmp_path_factory.mktemp("talk") / "talk720.mp4", speech, duration=30.0)


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return ffmpeg_binary()


def spoken_cues(duration: float) -> list[subtitles.Cue]:
    """A long answer said steadily over the whole clip, by a speaker with a long name."""
    text = (
        "Well I think the single most extraordinarily important consideration in this whole business was "
        "that we listened to our customers every single day and changed what did not work for them"
    )
    tokens = text.split()
    step = duration / len(tokens)
    words = tuple(Word(i * step, (i + 0.85) * step, f" {token}") for i, token in enumerate(tokens))
    return [subtitles.Cue(0.0, duration, f"Teri Longname: {text}", "Teri Longname", words)]


def loudness(path: Path, ffmpeg: str) -> float:
    """Integrated loudness of a file's sound by ffmpeg's EBU R128 meter, in LUFS."""
    result = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-vn", "-af", "ebur128",
                             "-f", "null", "-"], capture_output=True, text=True, check=True)  # fmt: skip
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", result.stderr)[-1])


def rgb_frames(path: Path, every: int = 10) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for n, frame in enumerate(container.decode(video=0)) if n % every == 0]


def caption_mask(picture: np.ndarray) -> np.ndarray:
    """Pixels the captions changed on the plain picture: text, outline, shadow or box."""
    return np.abs(picture.astype(int) - BACKGROUND).max(axis=2) > 40


def text_lines(picture: np.ndarray, font_pixels: int) -> int:
    """Lines of caption text, counted from the rows holding bright (text) pixels: runs of such rows taller
    than a third of the font size (an i's dot is not a line), apart by at least two rows."""
    luma = picture @ np.array([0.299, 0.587, 0.114])
    rows = (luma > 160).sum(axis=1) >= 3
    runs, start, gap = [], None, 0
    for index, bright in enumerate([*rows, False, False, False]):
        if bright:
            start, gap = (index if start is None else start), 0
        elif start is not None:
            gap += 1
            if gap > 2:
                runs.append(index - gap + 1 - start)
                start, gap = None, 0
    return sum(1 for height in runs if height >= font_pixels / 3)


@pytest.mark.parametrize("shape", ["vertical", "square", "original"])
@pytest.mark.parametrize("style", ["clean", "highlight", "pop"])
def test_every_shape_and_style_is_platform_sized_audible_and_captioned_clear_of_the_buttons(
    talk_720p, ffmpeg, tmp_path, shape, style
):
    width, height = SIZES[shape]
    layout = subtitles.CaptionLayout(width, height, "bottom", names=True)
    ass = tmp_path / "captions.ass"
    ass.write_text(subtitles.to_ass(spoken_cues(6.0), style, layout))
    options = CutOptions(ffmpeg=ffmpeg, shape=shape, crop_x=0.3)
    clip = cut_clip(talk_720p, tmp_path / f"{shape}-{style}.mp4", 4.0, 10.0, options, subtitles_path=ass)

    info = probe(clip)
    assert (info.width, info.height) == (width, height)
    assert info.has_audio and info.audio_rate == 48_000
    assert abs(info.duration - 6.0) <= 0.1
    assert abs(loudness(clip, ffmpeg) - TARGET) <= 1.0
    with av.open(str(clip)) as container:
        video = container.streams.video[0].codec_context
        assert (video.name, video.profile, video.pix_fmt) == ("h264", "High", "yuv420p")
        assert container.streams.audio[0].codec_context.name == "aac"
    atoms = top_level_atoms(clip)
    assert atoms.index("moov") < atoms.index("mdat"), "faststart: it plays while it downloads"

    font_pixels = round(subtitles.caption_style(style).size * min(width, height))
    pictures = rgb_frames(clip)
    captioned = 0
    for picture in pictures:
        drawn = caption_mask(picture)
        captioned += drawn.sum() > 200
        if shape == "vertical":  # Reels, TikTok and Shorts draw their buttons there
            assert not drawn[round(height * 0.8) :].any(), "a caption in the bottom fifth"
            assert not drawn[:, round(width * 0.85) :].any(), "a caption in the right 15%"
        assert text_lines(picture, font_pixels) <= 2
    assert captioned >= len(pictures) - 1, "captions all through the clip"
    if FRAMES_DIR:  # CLIP_FRAMES_DIR=...: keep a frame of each to look at
        FRAMES_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-ss", "2.3", "-i", str(clip), "-frames:v", "1",
                        str(FRAMES_DIR / f"{shape}-{style}.png")], check=True)  # fmt: skip


@pytest.mark.parametrize("position", ["top", "middle"])
def test_captions_placed_higher_stay_clear_of_the_buttons_too(talk_720p, ffmpeg, tmp_path, position):
    layout = subtitles.CaptionLayout(1080, 1920, position)
    ass = tmp_path / "captions.ass"
    ass.write_text(subtitles.to_ass(spoken_cues(4.0), "pop", layout))
    clip = cut_clip(
        talk_720p, tmp_path / "clip.mp4", 4.0, 8.0, CutOptions(ffmpeg=ffmpeg, shape="vertical"), subtitles_path=ass
    )
    rows = []
    for picture in rgb_frames(clip):
        drawn = caption_mask(picture)
        assert not drawn[round(1920 * 0.8) :].any() and not drawn[:, round(1080 * 0.85) :].any()
        assert not drawn[: round(1920 * 0.1)].any(), "clear of the feed's title bar at the top"
        rows += list(np.flatnonzero(drawn.any(axis=1)))
    middle = (min(rows) + max(rows)) / 2
    assert (middle < 1920 / 3) if position == "top" else (1920 / 3 < middle < 1920 * 2 / 3)


def test_a_720p_source_is_upscaled_with_lanczos_and_the_clip_says_so(talk_720p, ffmpeg):
    assert media.upscaled_from("vertical", 1280, 720) == 720
    assert media.upscaled_from("square", 1280, 720) == 720
    assert media.upscaled_from("square", 3840, 2160) is None
    assert media.upscaled_from("original", 1280, 720) is None
    filters = media.shape_filters(CutOptions(shape="vertical"), probe(talk_720p))
    assert filters[1:] == ["scale=1080:1920:flags=lanczos", "setsar=1"]


def test_a_60_fps_source_is_cut_at_30_and_a_25_fps_one_keeps_its_rate(talk_720p):
    fast = media.MediaInfo(10.0, 1920, 1080, True, True, frame_rate=59.94)
    assert media.shape_filters(CutOptions(), fast) == ["fps=29.970"]
    assert media.shape_filters(CutOptions(), probe(talk_720p)) == []


@pytest.mark.parametrize("how", ["encoded", "smart cut", "copied out of one encode"])
def test_the_sound_is_brought_to_minus_14_lufs_however_the_clip_is_cut(tmp_path, speech, ffmpeg, how):
    source = make_talk_video(tmp_path / "talk.mp4", speech, 640, 360, duration=40.0, keyframe_seconds=1.0)
    start, end = 5.3, 27.9
    options = CutOptions(ffmpeg=ffmpeg)
    before = loudness(source, ffmpeg)
    if how == "encoded":
        clip = cut_clip(source, tmp_path / "clip.mp4", start, end, options)
    elif how == "smart cut":
        plan = smartcut.plan(source, start, end)
        assert plan is not None
        clip = smartcut.cut(source, tmp_path / "clip.mp4", plan, options)
        assert clip is not None, "the smart cut went through (its sound levelled, its picture copied)"
    else:
        master = cut_clip(source, tmp_path / "whole.mp4", 1.0, 35.0, options, keyframes_at=[start - 1.0])
        own = lambda at, duration: media.clip_sound(source, tmp_path / "own.wav", 1.0 + at, duration, options)  # noqa: E731
        clip = media.copy_out(
            master, media.keyframes(master), tmp_path / "clip.mp4", start - 1.0, end - 1.0, ffmpeg, sound=own
        )
    info = probe(clip)
    assert info.has_audio and info.audio_rate == 48_000 and abs(info.duration - (end - start)) <= 0.1
    assert abs(before - TARGET) > 2, "the source itself is not at the target"
    assert abs(loudness(clip, ffmpeg) - TARGET) <= 1.0
    with av.open(str(clip)) as container:  # both tracks start together: the sound stays on the picture
        first_sound = next(container.decode(audio=0)).time
        container.seek(0)
        first_picture = next(container.decode(video=0)).time
    assert abs(first_sound - first_picture) <= 0.04
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".wav") == [], "no sound files left behind"


def test_loudness_off_leaves_the_sound_as_it_was(talk_720p, ffmpeg, tmp_path):
    clip = cut_clip(talk_720p, tmp_path / "clip.mp4", 2.0, 20.0, CutOptions(ffmpeg=ffmpeg, loudness=None))
    original = cut_clip(talk_720p, tmp_path / "copy.mp4", 2.0, 20.0, CutOptions(ffmpeg=ffmpeg, accurate=False))
    assert abs(loudness(clip, ffmpeg) - loudness(original, ffmpeg)) <= 0.5


def test_captions_are_drawn_in_the_projects_font_on_a_machine_without_fonts(talk_720p, ffmpeg, tmp_path, monkeypatch):
    """fontconfig told of no font at all: the captions still come out, from the font folder the project ships."""
    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    ass = tmp_path / "captions.ass"
    ass.write_text(subtitles.to_ass(spoken_cues(3.0), "highlight", subtitles.CaptionLayout(1080, 1920)))
    clip = cut_clip(
        talk_720p, tmp_path / "clip.mp4", 4.0, 7.0, CutOptions(ffmpeg=ffmpeg, shape="vertical"), subtitles_path=ass
    )
    picture = rgb_frames(clip)[3]
    assert text_lines(picture, round(0.06 * 1080)) >= 1, "white text drawn"


def test_a_preview_is_the_clips_frame_with_its_captions(talk_720p, ffmpeg, tmp_path):
    layout = subtitles.CaptionLayout(1080, 1920)
    cues = spoken_cues(6.0)
    ass = tmp_path / "preview.ass"
    ass.write_text(subtitles.to_ass(cues, "pop", layout))
    moment = subtitles.preview_moment(cues, "pop", layout)
    jpeg = media.render_preview(
        talk_720p,
        4.0 + moment,
        moment,
        CutOptions(ffmpeg=ffmpeg, shape="vertical"),
        tmp_path / "preview.jpg",
        subtitles_path=ass,
    )
    with av.open(str(jpeg)) as container:
        picture = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert picture.shape[:2] == (media.PREVIEW_HEIGHT, 360)
    assert caption_mask(picture).sum() > 100, "the caption is on it"
