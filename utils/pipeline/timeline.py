"""A video's exchanges as an editing timeline, for DaVinci Resolve, Final Cut Pro and Premiere.

OpenTimelineIO builds one track of the exchanges in order ("selects"), each a clip of the source video
from its start to its end, carrying a marker with the question and who asks and answers; its adapters
write it as OTIO JSON, FCPXML (Resolve, Final Cut) or a CMX 3600 EDL (Premiere, Avid). Times are whole
frames of the video's own frame rate, so an editor places each cut where Clipper did (to a frame).
"""

from __future__ import annotations

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
            name=f"{item.question or item.name} — {item.note}"[:250],  # an EDL keeps the name alone
            marked_range=otio.opentime.TimeRange(start, otio.opentime.RationalTime(0, rate)),
            color=otio.schema.MarkerColor.BLUE,
            metadata={"clipper": {"question": item.question, "speakers": item.note}},
        )
        marker.comment = item.note  # shown by editors that read comments (FCPXML notes, EDL LOC lines)
        clip.markers.append(marker)
        track.append(clip)
    return timeline


def write(timeline: otio.schema.Timeline, fmt: str) -> str:
    adapter, _mime = FORMATS[fmt]
    return otio.adapters.write_to_string(timeline, adapter)


def _frames(seconds: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(round(seconds * rate), rate)
