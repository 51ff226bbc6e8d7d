"""Editing timelines (OpenTimelineIO): a video's Q&As, or a person's answers across their videos."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import store.speakers
import store.videos
from operations import exchanges, lookup, presenters
from operations.unit_of_work import UnitOfWork
from pipeline import media, timeline
from pipeline.clips import shorten
from store.records import ExchangeRecord, PersonRecord, VideoRecord

log = logging.getLogger(__name__)


def timeline_of(uow: UnitOfWork, video: VideoRecord) -> timeline.otio.schema.Timeline:
    """The video's exchanges in order as an OpenTimelineIO timeline with sound (pipeline/timeline.py)."""
    source, rate = timeline_source(video)
    names = presenters.speaker_names(store.speakers.get_speakers(uow.conn, video.id))
    items = [
        _timeline_item(exchange, names, presenters.exchange_title(exchange.label))
        for exchange in exchanges.qas_of(uow, video.id)
    ]
    return timeline.assemble(video.title or f"Video {video.id}", rate, [(source, item) for item in items])


def answers_timeline(
    uow: UnitOfWork, person: PersonRecord, exchange_ids: list[int] | None = None
) -> timeline.otio.schema.Timeline | None:
    """The person's answers (all, or those asked for) as one timeline: a clip of its own video per answer,
    counted at the frame rate most of their videos share; None when there is no answer to show."""
    conn = uow.conn
    chosen = [
        e for e in store.speakers.answers_of_person(conn, person.id) if exchange_ids is None or e.id in exchange_ids
    ]
    if not chosen:
        return None
    videos = {video_id: lookup.existing_video(conn, video_id) for video_id in dict.fromkeys(e.video_id for e in chosen)}
    sources = {video_id: timeline_source(video) for video_id, video in videos.items()}
    names = {video_id: presenters.speaker_names(store.speakers.get_speakers(conn, video_id)) for video_id in videos}
    rates = Counter(rate for _source, rate in sources.values() if rate)
    placed = []
    for exchange in chosen:
        title = (videos[exchange.video_id].title or f"Video {exchange.video_id}")[:60]
        name = f"{title} - {presenters.exchange_title(exchange.label)}"
        placed.append((sources[exchange.video_id][0], _timeline_item(exchange, names[exchange.video_id], name)))
    rate = rates.most_common(1)[0][0] if rates else None
    return timeline.assemble(f"{person.name}: answers", rate, placed)


def timeline_source(video: VideoRecord) -> tuple[timeline.Source, float | None]:
    """The video as timelines reference it: the name its source download is saved under, with its sound,
    and its frame rate, read from the file while it is here (else the timeline counts at 25 fps)."""
    info = None
    if video.video_path and Path(video.video_path).is_file():
        try:
            info = media.probe(video.video_path)
        except media.MediaError:
            log.warning("video %s: cannot read %s for its timeline", video.id, video.video_path, exc_info=True)
    source = timeline.Source(
        presenters.source_file_name(video),
        video.duration or (info.duration if info else 0.0),
        info.audio_channels if info else None,
        info.audio_rate if info else None,
    )
    return source, info.frame_rate if info else None


def _timeline_item(exchange: ExchangeRecord, names: dict[str, str], name: str) -> timeline.TimelineItem:
    """A clip named as the Clips page titles it: "Q&A 3: How real is AI?" (the question at most 60 characters)."""
    return timeline.TimelineItem(
        name=f"{name}: {shorten(exchange.question)}" if exchange.question else name,
        start=exchange.start_time,
        end=exchange.end_time,
        question=exchange.question,
        note=f"asked by {names.get(exchange.asker or '', exchange.asker or 'someone')}, "
        f"answered by {names.get(exchange.answerer or '', exchange.answerer or 'someone')}",
    )
