"""Editing timelines read back by OpenTimelineIO with the cuts where Clipper made them, at any frame rate,
with sound: a video track and an audio track of the same cuts in every format, and FCPXML valid by Apple's DTD."""

from pathlib import Path

import opentimelineio as otio
import pytest
from lxml import etree

from pipeline import timeline

ITEMS = [
    timeline.TimelineItem("Q&A 1", 3.2, 12.8, "Why boats?", "asked by Ann, answered by Bob"),
    timeline.TimelineItem("Q&A 2", 20.0, 31.04, "And then?", "asked by Ann, answered by Bob"),
]
READERS = {"edl": "cmx_3600", "fcpxml": "fcpx_xml", "otio": "otio_json"}
# Apple's DTD for the FCPXML version the adapter writes (its source is in the file's first comment)
FCPXML_DTD = etree.DTD(str(Path(__file__).parents[1] / "support" / "FCPXMLv1_8.dtd"))


def written(fmt: str, rate: float, channels: int | None = 2) -> str:
    built = timeline.build("Talk", "talk.mp4", 120.0, rate, ITEMS, audio_channels=channels, audio_rate=48000)
    return timeline.write(built, fmt)


def read(text: str, fmt: str, rate: float = 25.0) -> otio.schema.Timeline:
    return otio.adapters.read_from_string(text, READERS[fmt], **({"rate": rate} if fmt == "edl" else {}))


def edl_rate(rate: float) -> float:
    return min(timeline.FORMAT_RATES["edl"], key=lambda candidate: abs(candidate - rate))


def assert_cuts_within_a_frame(track: otio.schema.Track, frame: float, items=ITEMS) -> None:
    clips = list(track.find_clips())
    assert len(clips) == len(items), track.name
    for clip, item in zip(clips, items, strict=True):
        assert clip.source_range.start_time.to_seconds() == pytest.approx(item.start, abs=frame)
        assert clip.source_range.end_time_exclusive().to_seconds() == pytest.approx(item.end, abs=frame)


def assert_picture_and_sound(tracks, frame: float, items=ITEMS) -> None:
    """At least one video and one audio track, each with every cut where it was, in order."""
    kinds = [track.kind for track in tracks]
    assert otio.schema.TrackKind.Video in kinds and otio.schema.TrackKind.Audio in kinds, kinds
    for track in tracks:
        assert_cuts_within_a_frame(track, frame, items)


def fcpxml_problems(text: str) -> list[str]:
    document = etree.fromstring(text.encode())
    assert document.get("version") == "1.8"  # the DTD's version
    return [] if FCPXML_DTD.validate(document) else [str(error) for error in FCPXML_DTD.error_log]


@pytest.mark.parametrize("rate", [25.0, 30000 / 1001, 24000 / 1001, 15.0, 12.5, 120.0])
def test_an_edl_reads_back_within_a_frame_at_any_rate(rate):
    text = written("edl", rate)
    back = read(text, "edl", edl_rate(rate))
    assert_picture_and_sound(back.tracks, 1 / edl_rate(rate))
    assert [track.name for track in back.tracks] == ["V", "A1", "A2"]  # "AA/V": picture, audio 1 and 2
    assert text.isascii() and "WHY BOATS? - ASKED BY ANN, ANSWERED BY BOB" in text  # a LOC marker per Q&A


def test_an_edl_event_carries_picture_and_sound_together():
    """Premiere and Avid read the channel field: "AA/V" for a stereo (or unknown) source, "B" for mono."""
    for channels, code, tracks in (
        (2, "AA/V", ["V", "A1", "A2"]),
        (None, "AA/V", ["V", "A1", "A2"]),
        (1, "B", ["V", "A1"]),
    ):
        text = written("edl", 25.0, channels)
        events = [line for line in text.splitlines() if line[:3].isdigit()]
        assert [line.split()[2] for line in events] == [code, code], text
        assert events[0] == f"001  talk     {code:5} C        00:00:03:05 00:00:12:20 00:00:00:00 00:00:09:15"
        back = read(text, "edl")  # held: its tracks go with it
        assert [track.name for track in back.tracks] == tracks


@pytest.mark.parametrize("rate", [25.0, 30.0, 50.0, 60.0, 120.0])
def test_fcpxml_and_otio_read_back_within_a_frame_with_their_markers(rate):
    for fmt in ("fcpxml", "otio"):
        back = read(written(fmt, rate), fmt)
        assert_picture_and_sound(back.tracks, 1 / min(rate, 60.0))
        (picture,) = back.video_tracks()
        names = [clip.markers[0].name for clip in picture.find_clips()]
        assert names == [f"{item.question} - {item.note}" for item in ITEMS], fmt


def test_the_otio_timeline_has_an_audio_track_of_the_same_cuts():
    back = read(written("otio", 25.0), "otio")
    assert [(track.name, track.kind) for track in back.tracks] == [("Q&A", "Video"), ("Q&A sound", "Audio")]
    picture, sound = back.tracks
    assert [clip.source_range for clip in sound] == [clip.source_range for clip in picture]
    assert [clip.media_reference.target_url for clip in sound] == ["talk.mp4", "talk.mp4"]
    assert dict(sound[0].media_reference.metadata["clipper"]) == {"audio_channels": 2, "audio_rate": 48000}
    assert not any(clip.markers for clip in sound)  # one marker per Q&A, on its picture


@pytest.mark.parametrize("rate", [25.0, 30000 / 1001, 24000 / 1001, 60000 / 1001, 15.0, 120.0])
def test_fcpxml_is_valid_by_apples_dtd_and_each_clip_carries_its_sound(rate):
    text = written("fcpxml", rate)
    assert fcpxml_problems(text) == []
    document = etree.fromstring(text.encode())
    (asset,) = document.iter("asset")
    assert {key: asset.get(key) for key in ("name", "src", "hasVideo", "hasAudio")} == {
        "name": "talk.mp4",
        "src": "talk.mp4",
        "hasVideo": "1",
        "hasAudio": "1",
    }
    assert (asset.get("audioSources"), asset.get("audioChannels"), asset.get("audioRate")) == ("1", "2", "48000")
    clips = document.findall(".//spine/clip")
    assert len(clips) == len(ITEMS)
    for clip in clips:
        assert clip.find("video").get("ref") == asset.get("id")
        (connected,) = clip.findall("clip[@lane='-1']")  # the sound, connected below its picture
        assert connected.find(".//audio").get("ref") == asset.get("id")
        # it starts exactly where its picture does (the adapter alone is a frame early at NTSC rates)
        assert connected.get("offset") == clip.get("start", "0s")
        assert connected.get("start") == clip.get("start") and connected.get("duration") == clip.get("duration")
    assert len(document.findall("asset-clip")) == len(ITEMS)  # one browser clip per Q&A, not one per track


@pytest.mark.parametrize(("rate", "duration"), [(30000 / 1001, "1001/30000s"), (15.0, "1001/24000s")])
def test_fcpxml_counts_ntsc_frames_exactly(rate, duration):
    """OpenTimelineIO's FCPXML reader rounds NTSC rates down (29.97 → 29), so this checks the file itself:
    the frame duration an editor reads."""
    assert f'frameDuration="{duration}"' in written("fcpxml", rate)


def test_answers_from_several_videos_make_one_timeline_of_several_sources():
    """A person's answers: a clip per answer, each referencing its own video's file, one track each for
    picture and sound, however the videos' names begin."""
    first = timeline.Source("Interview_with_Ada_2024.mp4", 600.0, 2, 48000)
    second = timeline.Source("Interview_with_Ada_2025.webm", 900.0, 1, 44100)
    items = [
        timeline.TimelineItem("One's Q&A 1", 3.2, 12.8, "Why?", "asked by Ann, answered by Ada"),
        timeline.TimelineItem("Two - Q&A 4", 400.0, 431.0, "How?", "asked by Bo, answered by Ada"),
        timeline.TimelineItem("One's Q&A 2", 50.0, 61.0, None, "asked by Ann, answered by Ada"),
    ]
    built = timeline.assemble("Ada: answers", 25.0, [(first, items[0]), (second, items[1]), (first, items[2])])
    files = ["Interview_with_Ada_2024.mp4", "Interview_with_Ada_2025.webm", "Interview_with_Ada_2024.mp4"]
    for fmt in ("otio", "fcpxml", "edl"):
        text = timeline.write(built, fmt)
        back = read(text, fmt)
        if fmt == "edl":  # audio 2 holds the answers from the stereo video alone; the files are named below
            assert [track.name for track in back.tracks] == ["V", "A1", "A2"]
            assert_picture_and_sound(back.tracks[:2], 1 / 25, items)
            assert_cuts_within_a_frame(back.tracks[2], 1 / 25, [items[0], items[2]])
        else:
            assert_picture_and_sound(back.tracks, 1 / 25, items)
            for track in back.tracks:
                assert [clip.media_reference.target_url for clip in track.find_clips()] == files, fmt
    fcpxml = timeline.write(built, "fcpxml")
    assert fcpxml_problems(fcpxml) == []
    assets = {asset.get("src"): asset for asset in etree.fromstring(fcpxml.encode()).iter("asset")}
    assert [(a.get("audioChannels"), a.get("audioRate")) for a in assets.values()] == [("2", "48000"), ("1", "44100")]
    edl = timeline.write(built, "edl")
    events = [line.split() for line in edl.splitlines() if line[:3].isdigit()]
    assert [(event[1], event[2]) for event in events] == [("Intervie", "AA/V"), ("Inter001", "B"), ("Intervie", "AA/V")]
    assert [line for line in edl.splitlines() if line.startswith("* FROM CLIP:")] == [
        f"* FROM CLIP: {f}" for f in files
    ]


INJECTED = "Talk\r\n002  AX       V     C        00:00:00:00 00:00:10:00 00:00:00:00 00:00:10:00\n* FROM CLIP: /etc/x"


@pytest.mark.parametrize("fmt", ["edl", "fcpxml", "otio"])
def test_a_newline_in_a_title_or_a_name_adds_no_event_or_line(fmt):
    """A page's og:title or a speaker name with newlines: the file holds the same events as with plain names,
    and every name reads back on one line."""
    items = [timeline.TimelineItem(f"Q&A 1 {INJECTED}", 3.2, 12.8, f"Why?\u2028{INJECTED}", f"asked by {INJECTED}")]
    text = timeline.write(timeline.build(INJECTED, f"talk{INJECTED}.mp4", 120.0, 25.0, items), fmt)
    back = read(text, fmt)
    assert_picture_and_sound(back.tracks, 0.04, items)
    for clip in back.find_clips():
        names = [back.name, clip.name, clip.media_reference.target_url, *(marker.name for marker in clip.markers)]
        for name in names:
            assert "\n" not in name and "\r" not in name and "\u2028" not in name, name
    if fmt == "edl":
        lines = text.splitlines()
        assert len([line for line in lines if line[:3].isdigit()]) == 1, text  # one event, none injected
        assert len([line for line in lines if line.startswith("* FROM CLIP:")]) == 1, text
    if fmt == "fcpxml":
        assert fcpxml_problems(text) == []
