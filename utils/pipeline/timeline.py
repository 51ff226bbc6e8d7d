"""A video's exchanges as an editing timeline, for DaVinci Resolve, Final Cut Pro and Premiere.

OpenTimelineIO builds one track of the exchanges in order ("selects"), each a clip of the source video
from its start to its end, carrying a marker with the question and who asks and answers; its adapters
write it as OTIO JSON, FCPXML (Resolve, Final Cut) or a CMX 3600 EDL (Premiere, Avid). Times are whole
frames of the video's own frame rate, so an editor places each cut where Clipper did (to a frame).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import opentimelineio as otio

FORMATS = {"otio": ("otio_json", "application/json"), "fcpxml": ("fcpx_xml", "application/xml"),
           "edl": ("cmx_3600", "text/plain")}  # fmt: skip
DEFAULT_RATE = 25.0  # when the source does not say


@dataclass(frozen=True)
class TimelineItem:
    name: str  # "Q&A 3"
    start: float  # seconds in the source video
    end: float
    question: str | None
    note: str  # who asks and who answers


def build(
    title: str, media_name: str, duration: float, rate: float | None, items: list[TimelineItem]
) -> otio.schema.Timeline:
    """One video track of the items in order; `media_name` is what the editor relinks to (the file saved)."""
    rate = rate or DEFAULT_RATE
    items = [_exportable(item) for item in items]
    title, media_name = one_line(title), one_line(media_name)
    timeline = otio.schema.Timeline(name=title)
    track = otio.schema.Track(name="Q&A", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), _frames(duration, rate))
    for item in items:
        reference = otio.schema.ExternalReference(target_url=media_name, available_range=available)
        start = _frames(item.start, rate)
        clip = otio.schema.Clip(
            name=item.name,
            media_reference=reference,
            source_range=otio.opentime.TimeRange(start, _frames(item.end, rate) - start),
        )
        marker = otio.schema.Marker(
            name=f"{item.question or item.name} - {item.note}"[:250],  # an EDL keeps the name alone (in ASCII)
            marked_range=otio.opentime.TimeRange(start, otio.opentime.RationalTime(0, rate)),
            color=otio.schema.MarkerColor.BLUE,
            metadata={"clipper": {"question": item.question, "speakers": item.note}},
        )
        marker.comment = item.note  # shown by editors that read comments (FCPXML notes, EDL LOC lines)
        clip.markers.append(marker)
        track.append(clip)
    return timeline


def one_line(text: str) -> str:
    """A name as every format may carry it: control characters (a newline would start a new EDL event or
    comment line in a CMX 3600 file) and line or paragraph separators become spaces."""
    kept = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text)
    return re.sub(r"\s+", " ", kept).strip()


def _exportable(item: TimelineItem) -> TimelineItem:
    question = one_line(item.question) if item.question else item.question
    return TimelineItem(one_line(item.name), item.start, item.end, question, one_line(item.note))


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
    return otio.adapters.write_to_string(timeline, adapter, **({"rate": rate} if fmt == "edl" else {}))


def at_rate(timeline: otio.schema.Timeline, rates: tuple[float, ...]) -> tuple[otio.schema.Timeline, float]:
    """The timeline counted at the nearest of `rates` (a 15 fps screen recording's EDL counts at 23.976)."""
    clips = list(timeline.find_clips())
    rate = clips[0].source_range.start_time.rate if clips else DEFAULT_RATE
    chosen = min(rates, key=lambda candidate: abs(candidate - rate))
    if chosen == rate:
        return timeline, rate
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
