"""Editing timelines read back by OpenTimelineIO with the cuts where Clipper made them, at any frame rate."""

import opentimelineio as otio
import pytest

from utils.pipeline import timeline

ITEMS = [timeline.TimelineItem("Q&A 1", 3.2, 12.8, "Why boats?", "asked by Ann, answered by Bob"),
         timeline.TimelineItem("Q&A 2", 20.0, 31.04, "And then?", "asked by Ann, answered by Bob")]  # fmt: skip


def written(fmt: str, rate: float) -> str:
    return timeline.write(timeline.build("Talk", "talk.mp4", 120.0, rate, ITEMS), fmt)


def assert_cuts_within_a_frame(back: otio.schema.Timeline, frame: float) -> None:
    clips = list(back.find_clips())
    assert len(clips) == len(ITEMS)
    for clip, item in zip(clips, ITEMS, strict=True):
        assert clip.source_range.start_time.to_seconds() == pytest.approx(item.start, abs=frame)
        assert clip.source_range.end_time_exclusive().to_seconds() == pytest.approx(item.end, abs=frame)


@pytest.mark.parametrize("rate", [25.0, 30000 / 1001, 24000 / 1001, 15.0, 12.5, 120.0])
def test_an_edl_reads_back_within_a_frame_at_any_rate(rate):
    counted = min(timeline.FORMAT_RATES["edl"], key=lambda candidate: abs(candidate - rate))
    text = written("edl", rate)
    assert_cuts_within_a_frame(otio.adapters.read_from_string(text, "cmx_3600", rate=counted), 1 / counted)
    assert text.isascii() and "WHY BOATS? - ASKED BY ANN, ANSWERED BY BOB" in text  # a LOC marker per Q&A


@pytest.mark.parametrize("rate", [25.0, 30.0, 50.0, 60.0, 120.0])
def test_fcpxml_and_otio_read_back_within_a_frame_with_their_markers(rate):
    for fmt, adapter in (("fcpxml", "fcpx_xml"), ("otio", "otio_json")):
        back = otio.adapters.read_from_string(written(fmt, rate), adapter)
        assert_cuts_within_a_frame(back, 1 / min(rate, 60.0))
        names = [clip.markers[0].name for clip in back.find_clips()]
        assert names == [f"{item.question} - {item.note}" for item in ITEMS], fmt


@pytest.mark.parametrize(("rate", "duration"), [(30000 / 1001, "1001/30000s"), (15.0, "1001/24000s")])
def test_fcpxml_counts_ntsc_frames_exactly(rate, duration):
    """OpenTimelineIO's FCPXML reader rounds NTSC rates down (29.97 → 29), so this checks the file itself:
    the frame duration an editor reads."""
    assert f'frameDuration="{duration}"' in written("fcpxml", rate)


INJECTED = "Talk\r\n002  AX       V     C        00:00:00:00 00:00:10:00 00:00:00:00 00:00:10:00\n* FROM CLIP: /etc/x"


@pytest.mark.parametrize("fmt", ["edl", "fcpxml", "otio"])
def test_a_newline_in_a_title_or_a_name_adds_no_event_or_line(fmt):
    """A page's og:title or a speaker name with newlines: the file holds the same events as with plain names,
    and every name reads back on one line."""
    items = [timeline.TimelineItem("Q&A 1", 3.2, 12.8, f"Why?\u2028{INJECTED}", f"asked by {INJECTED}")]
    text = timeline.write(timeline.build(INJECTED, f"talk{INJECTED}.mp4", 120.0, 25.0, items), fmt)
    reader = {"edl": ("cmx_3600", {"rate": 25.0}), "fcpxml": ("fcpx_xml", {}), "otio": ("otio_json", {})}[fmt]
    back = otio.adapters.read_from_string(text, reader[0], **reader[1])
    clips = list(back.find_clips())
    assert len(clips) == 1 and clips[0].source_range.start_time.to_seconds() == pytest.approx(3.2, abs=0.04)
    for name in [back.name, clips[0].name, *(marker.name for marker in clips[0].markers)]:
        assert "\n" not in name and "\r" not in name and "\u2028" not in name
    if fmt == "edl":
        lines = text.splitlines()
        assert len([line for line in lines if line[:3].isdigit()]) == 1, text  # one event, none injected
        assert len([line for line in lines if line.startswith("* FROM CLIP:")]) == 1, text
