"""A smart cut clip plays in Chromium from its first frame to its last: the encoded head, the copied
middle and the encoded tail, each under its own parameter sets, decode without a corrupted frame."""

from __future__ import annotations

import pytest

from pipeline import smartcut
from pipeline.media import ffmpeg_binary
from pipeline.options import CutOptions
from tests.support.media_factory import MediaServer, make_video

PAGE = """<!doctype html><html lang="en"><title>clip</title>
<video id="clip" src="clip.mp4" muted playsinline preload="auto"></video></html>"""


@pytest.fixture(scope="module")
def served_clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smart-clip")
    source = make_video(folder / "source.mp4", 1280, 720, duration=12.0, keyframe_seconds=2)
    plan = smartcut.plan(source, 1.37, 10.61)
    assert plan is not None and plan.first < plan.copy_from < plan.copy_to < plan.end, "a head, a middle, a tail"
    assert smartcut.cut(source, folder / "clip.mp4", plan, CutOptions(ffmpeg=ffmpeg_binary())) is not None
    (folder / "index.html").write_text(PAGE)
    with MediaServer(folder) as server:
        yield server, plan


def test_a_smart_cut_clip_plays_through_its_joins_in_chromium(browser, served_clip):
    """Every frame's presentation is recorded (requestVideoFrameCallback) while the clip plays at its own
    speed: frames keep coming across both joins, none is corrupted, and the clip ends where it should."""
    server, plan = served_clip
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/index.html")
        page.wait_for_function("document.getElementById('clip').readyState >= 2", timeout=20_000)
        assert page.evaluate("[clip.videoWidth, clip.videoHeight]") == [1280, 720]
        page.evaluate(
            "window.shown = []; const record = (now, frame) => { shown.push(frame.mediaTime);"
            " clip.requestVideoFrameCallback(record); }; clip.requestVideoFrameCallback(record); clip.play()"
        )
        page.wait_for_function("clip.ended", timeout=30_000)
        outcome = page.evaluate(
            "({error: clip.error && clip.error.message, corrupted: clip.getVideoPlaybackQuality().corruptedVideoFrames,"
            " duration: clip.duration, shown: window.shown})"
        )
    finally:
        context.close()
    assert outcome["error"] is None and outcome["corrupted"] == 0, outcome
    assert abs(outcome["duration"] - (10.61 - 1.37)) < 0.1
    shown = sorted(outcome["shown"])
    joins = [plan.seconds(plan.copy_from - plan.first), plan.seconds(plan.copy_to - plan.first)]
    assert shown[0] < 0.1 and shown[-1] > outcome["duration"] - 0.2, (shown[0], shown[-1])
    for join in joins:  # the picture keeps moving across each join: no frozen or missing stretch
        around = [time for time in shown if join - 0.5 <= time <= join + 0.5]
        assert len(around) >= 20, (join, around)
