"""Q&A as an editing timeline, with sound, for DaVinci Resolve, Final Cut Pro and Premiere.

OpenTimelineIO builds a video track of the exchanges in order ("selects") and an audio track of the same
clips, each a range of its source video, the video clip carrying a marker with the question and who asks
and answers; its adapters write it as OTIO JSON, FCPXML (Resolve, Final Cut) or a CMX 3600 EDL (Premiere,
Avid). Times are whole frames of the video's own frame rate, so an editor places each cut where Clipper did
(to a frame). One video's Q&A reference one source; a person's answers across videos reference several.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree import ElementTree

import opentimelineio as otio

FORMATS = {
    "otio": ("otio_json", "application/json"),
    "fcpxml": ("fcpx_xml", "application/xml"),
    "edl": ("cmx_3600", "text/plain"),
}
DEFAULT_RATE = 25.0  # when the source does not say


@dataclass(frozen=True)
class TimelineItem:
    name: str  # "Q&A 3"
    start: float  # seconds in the source video
    end: float
    question: str | None
    note: str  # who asks and who answers


@dataclass(frozen=True)
class Source:
    """A source video as a timeline references it: the file an editor relinks to (the name the source
    download is saved under), its length, and its sound where known (FCPXML's asset states it)."""

    media_name: str
    duration: float
    audio_channels: int | None = None
    audio_rate: int | None = None  # samples per second


def build(
    title: str,
    media_name: str,
    duration: float,
    rate: float | None,
    items: list[TimelineItem],
    audio_channels: int | None = None,
    audio_rate: int | None = None,
) -> otio.schema.Timeline:
    """One video's items in order; `media_name` is what the editor relinks to (the file saved)."""
    source = Source(media_name, duration, audio_channels, audio_rate)
    return assemble(title, rate, [(source, item) for item in items])


def assemble(title: str, rate: float | None, placed: list[tuple[Source, TimelineItem]]) -> otio.schema.Timeline:
    """A video track and an audio track of the same clips, one per item in order, each a range of its
    source counted at `rate` (at least one frame long)."""
    rate = rate or DEFAULT_RATE
    timeline = otio.schema.Timeline(name=one_line(title))
    picture = otio.schema.Track(name="Q&A", kind=otio.schema.TrackKind.Video)
    sound = otio.schema.Track(name="Q&A sound", kind=otio.schema.TrackKind.Audio)
    timeline.tracks.append(picture)
    timeline.tracks.append(sound)
    longest: dict[Source, float] = {}  # a source of unknown length lasts at least to its last cut
    for source, item in placed:
        longest[source] = max(longest.get(source, source.duration), source.duration, item.end)
    for source, item in placed:
        item = _exportable(item)
        clip = _clip(source, longest[source], item, rate)
        sound.append(clip.deepcopy())
        clip.markers.append(_marker(item, clip.source_range.start_time))
        picture.append(clip)
    return timeline


def _clip(source: Source, duration: float, item: TimelineItem, rate: float) -> otio.schema.Clip:
    known = {"audio_channels": source.audio_channels, "audio_rate": source.audio_rate}
    reference = otio.schema.ExternalReference(
        target_url=one_line(source.media_name),
        available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), _frames(duration, rate)),
        metadata={"clipper": {key: value for key, value in known.items() if value}},
    )
    start = _frames(item.start, rate)
    end = max(_frames(item.end, rate), start + otio.opentime.RationalTime(1, rate))
    return otio.schema.Clip(
        name=item.name, media_reference=reference, source_range=otio.opentime.TimeRange(start, end - start)
    )


def _marker(item: TimelineItem, start: otio.opentime.RationalTime) -> otio.schema.Marker:
    marker = otio.schema.Marker(
        name=f"{item.question or item.name} - {item.note}"[:250],  # an EDL keeps the name alone (in ASCII)
        marked_range=otio.opentime.TimeRange(start, otio.opentime.RationalTime(0, start.rate)),
        color=otio.schema.MarkerColor.BLUE,
        metadata={"clipper": {"question": item.question, "speakers": item.note}},
    )
    marker.comment = item.note  # shown by editors that read comments (FCPXML notes, EDL LOC lines)
    return marker


def one_line(text: str) -> str:
    """A name as every format may carry it: control characters (a newline would start a new EDL event or
    comment line in a CMX 3600 file) and line or paragraph separators become spaces."""
    kept = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text)
    return re.sub(r"\s+", " ", kept).strip()


def _exportable(item: TimelineItem) -> TimelineItem:
    question = one_line(item.question) if item.question else item.question
    # the FCPXML adapter looks clips up by name in a quoted XPath, which a straight apostrophe would end
    name = one_line(item.name).replace("'", "\u2019")
    return TimelineItem(name, item.start, item.end, question, one_line(item.note))


# The frame rates each format can count in (SMPTE timecode for an EDL, the adapter's table for FCPXML);
# a video at another rate is written at the nearest of these, each cut within a frame of where it was.
FORMAT_RATES = {
    "edl": (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48000 / 1001, 48.0, 50.0, 60000 / 1001, 60.0),
    "fcpxml": (23.98, 24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0),
}


def write(timeline: otio.schema.Timeline, fmt: str) -> str:
    adapter, _mime = FORMATS[fmt]
    if fmt not in FORMAT_RATES:
        return otio.adapters.write_to_string(timeline, adapter)
    timeline, rate = at_rate(timeline, FORMAT_RATES[fmt])
    if fmt == "edl":
        return _edl_with_sound(timeline, rate)
    return _fcpxml_with_sound(otio.adapters.write_to_string(timeline, adapter), timeline)


def at_rate(timeline: otio.schema.Timeline, rates: tuple[float, ...]) -> tuple[otio.schema.Timeline, float]:
    """The timeline counted at the nearest of `rates` (a 15 fps screen recording's EDL counts at 23.976)."""
    clips = list(timeline.find_clips())
    rate = clips[0].source_range.start_time.rate if clips else DEFAULT_RATE
    chosen = min(rates, key=lambda candidate: abs(candidate - rate))
    if all(clip.source_range.start_time.rate == chosen for clip in clips):
        return timeline, chosen
    copied = timeline.deepcopy()
    for clip in copied.find_clips():
        start = clip.source_range.start_time.rescaled_to(chosen).round()
        end = clip.source_range.end_time_exclusive().rescaled_to(chosen).round()
        clip.source_range = otio.opentime.TimeRange(start, end - start)
        available = clip.media_reference.available_range
        clip.media_reference.available_range = otio.opentime.TimeRange(
            available.start_time.rescaled_to(chosen).round(), available.duration.rescaled_to(chosen).round()
        )
        for marker in clip.markers:
            marker.marked_range = otio.opentime.TimeRange(start, otio.opentime.RationalTime(0, chosen))
    return copied, chosen


def _frames(seconds: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(round(seconds * rate), rate)


# ---- sound in each format ------------------------------------------------------------------------
# The OTIO JSON keeps both tracks as built. The two adapters need help, each described where it is given.


def _video_clips(timeline: otio.schema.Timeline) -> list[otio.schema.Clip]:
    return [clip for track in timeline.video_tracks() for clip in track.find_clips()]


def _sound_of(clip: otio.schema.Clip) -> dict:
    return dict(clip.media_reference.metadata.get("clipper", {}))


# an event line as the adapter writes it: "001  talk     V     C        00:00:03:05 ..." (reels set below)
EVENT_CHANNEL = re.compile(r"^(\d{3,}  [A-Za-z0-9]{1,8} +)V {4}(?= [CD] )")


def _edl_with_sound(timeline: otio.schema.Timeline, rate: float) -> str:
    """A CMX 3600 event carries picture and sound together in its channel field: "AA/V" (video, audio 1
    and 2) or "B" (video and audio 1, a mono source). The adapter writes the video track's events alone,
    as "V": each becomes the event of both tracks (the audio track's clips are the same cuts). Each
    source gets a reel of its own (the adapter's own reel is the file name cut to 8 letters, which two
    titles may share)."""
    timeline = timeline.deepcopy()
    clips = _video_clips(timeline)
    reels = _reels(clip.media_reference.target_url for clip in clips)
    for clip in clips:
        clip.metadata["cmx_3600"] = {"reel": reels[clip.media_reference.target_url]}
    text = otio.adapters.write_to_string(timeline, "cmx_3600", rate=rate)
    channels = iter(["B" if _sound_of(clip).get("audio_channels") == 1 else "AA/V" for clip in clips])
    lines = []
    for line in text.split("\n"):
        match = EVENT_CHANNEL.match(line)
        lines.append(f"{match.group(1)}{next(channels):5}{line[match.end() :]}" if match else line)
    return "\n".join(lines)


def _reels(names: Iterable[str]) -> dict[str, str]:
    """Each file name's reel: its letters and digits without the extension, 8 at most, or 5 of them and a
    number where two files would share one."""
    reels: dict[str, str] = {}
    for name in dict.fromkeys(names):
        stem = re.sub(r"[^A-Za-z0-9]+", "", re.sub(r"[.][A-Za-z0-9]+$", "", name)) or "SRC"
        numbered = (f"{stem[:5]}{number:03d}" for number in itertools.count(1))
        reels[name] = (
            stem[:8] if stem[:8] not in reels.values() else next(r for r in numbered if r not in reels.values())
        )
    return reels


def _fcpxml_with_sound(text: str, timeline: otio.schema.Timeline) -> str:
    """The adapter writes the audio track as clips connected below each video clip (lane -1, the sound
    of the same asset) and marks the asset hasAudio="1". Added here: the asset's sound (audioSources,
    audioChannels, audioRate) and its file's name; each connected clip placed exactly where its video clip
    starts (the adapter counts NTSC rates in whole frames per second: up to a frame early); and one
    browser clip per Q&A rather than one per track."""
    root = ElementTree.fromstring(text.encode())
    sounds = {clip.media_reference.target_url: _sound_of(clip) for clip in _video_clips(timeline)}
    for asset in root.iter("asset"):
        src = asset.get("src")
        sound = sounds.get(src, {})
        if src is not None:  # the adapter gives every asset one; a missing src is not written as "None"
            asset.set("name", src)
        if asset.get("hasAudio") == "1" and sound.get("audio_channels"):
            asset.set("audioSources", "1")
            asset.set("audioChannels", str(sound["audio_channels"]))
        if asset.get("hasAudio") == "1" and sound.get("audio_rate"):
            asset.set("audioRate", str(sound["audio_rate"]))
    for spine in root.iter("spine"):
        for picture in spine.findall("clip"):
            for connected in picture.findall("clip[@lane='-1']"):
                connected.set("offset", picture.get("start", "0s"))
    seen = set()
    for holder in [root, *root.iter("event")]:
        for browser_clip in holder.findall("asset-clip"):
            key = (browser_clip.get("name"), browser_clip.get("ref"))
            if key in seen:
                holder.remove(browser_clip)
            seen.add(key)
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n\n{body}\n'
