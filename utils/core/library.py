"""Library operations shared by the API and the tasks: create a video with its steps, delete one."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.core import db, presenters, steps
from utils.core.db import Database
from utils.core.layout import remove_exchange_files, remove_video_files, video_dir
from utils.core.records import ClipRecord, ExchangeRecord, VideoRecord
from utils.core.steps import StepService
from utils.pipeline import subtitles, timeline
from utils.pipeline.download import Downloaded
from utils.pipeline.media import MediaInfo
from utils.pipeline.types import Exchange


@dataclass(frozen=True)
class UploadedFile:
    """An upload checked by ffmpeg, ready to become a video."""

    path: Path
    extension: str  # from the container ffmpeg found, never the user's file name
    title: str
    duration: float | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class VideoRequest:
    """What a submission asks for one URL; validated before any row is written."""

    url: str
    resolution: str = "best"
    auto: bool = False
    clips: bool = False
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None


def create_video(conn: Database, request: VideoRequest) -> int:
    """Insert the video and one pending row per phase-1 step; call inside a transaction."""
    video_id = db.insert_video(
        conn,
        url=request.url,
        resolution=request.resolution,
        auto=int(request.auto),
        clips=int(request.clips),
        num_speakers=request.num_speakers,
        min_speakers=request.min_speakers,
        max_speakers=request.max_speakers,
    )
    db.insert_steps(conn, video_id, steps.PHASE1_STEPS)
    return video_id


def request_from_video(video: VideoRecord, url: str) -> VideoRequest:
    """The same choices as an existing video, for another URL (playlist entries)."""
    return VideoRequest(
        url=url,
        resolution=video.resolution,
        auto=bool(video.auto),
        clips=bool(video.clips),
        num_speakers=video.num_speakers,
        min_speakers=video.min_speakers,
        max_speakers=video.max_speakers,
    )


def delete_exchange(conn: Database, exchange: ExchangeRecord, clips_dir: Path) -> None:
    """Remove the exchange (its steps and clips cascade), then its clip files."""
    with db.transaction(conn):
        db.delete_exchange(conn, exchange.id)
    remove_exchange_files(clips_dir, exchange.video_id, [exchange.id])


def replace_auto_exchanges(
    conn: Database, video_id: int, found: list[Exchange], note: str | None, clips_dir: Path
) -> list[int]:
    """The exchanges found anew replace the ones found before (manual ones stay), with the note that
    explains what was left out; the old ones' clip files go too. Returns the new exchanges' ids."""
    with db.transaction(conn):
        removed = db.delete_exchanges(conn, video_id, "auto")
        new_ids = [
            create_exchange(conn, video_id, f"spkchg_{number}", "auto", exchange)
            for number, exchange in enumerate(found, start=1)
        ]
        db.update_video(conn, video_id, exchanges_note=note)
    remove_exchange_files(clips_dir, video_id, removed)
    return new_ids


def delete_video(conn: Database, video_id: int, folders: list[Path]) -> bool:
    """Remove the rows (steps cascade), then the video's folders under each managed root."""
    with db.transaction(conn):
        deleted = db.delete_video(conn, video_id)
    if deleted:
        remove_video_files(video_id, folders)
    return deleted


def create_exchange(
    conn: Database, video_id: int, label: str, kind: str, exchange: Exchange, chain: bool = False
) -> int:
    """Insert an exchange and one pending row per phase-2 step; call inside a transaction.
    `chain` runs its steps one after another once the first is queued."""
    exchange_id = db.insert_exchange(conn, video_id, label, kind, exchange, chain=chain)
    db.insert_steps(conn, video_id, steps.PHASE2_STEPS, exchange_id=exchange_id)
    return exchange_id


def next_manual_label(conn: Database, video_id: int) -> str:
    """`man_N`, one past the highest manual exchange of the video."""
    numbers = [
        int(row.label[4:]) for row in db.list_exchanges(conn, video_id)
        if row.kind == "manual" and row.label[4:].isdigit()
    ]  # fmt: skip
    return f"man_{max(numbers, default=0) + 1}"


def add_uploaded_video(conn: Database, request: VideoRequest, upload: UploadedFile, download_dir: Path) -> int:
    """A finished upload becomes a video whose download step is already done: the file moves into the
    video's folder under the name the media's own container gives it. Call inside a transaction; the
    folder is removed again if anything fails."""
    video_id = create_video(conn, request)
    folder = video_dir(download_dir, video_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"video.{upload.extension}"
        os.replace(upload.path, target)
        db.update_video(
            conn, video_id, title=upload.title, duration=upload.duration, width=upload.width,
            height=upload.height, video_path=str(target),
        )  # fmt: skip
        StepService(conn).record_done(db.find_step(conn, video_id, "download").id)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return video_id


def record_download(conn: Database, video_id: int, result: Downloaded, info: MediaInfo, thumbnail: Path | None) -> None:
    """What a download found: the file, what the site says about it and what ffmpeg measured."""
    db.update_video(
        conn, video_id, title=result.title, uploader=result.uploader, duration=result.duration or info.duration,
        thumbnail_url=result.thumbnail_url, thumbnail_path=str(thumbnail) if thumbnail else None,
        width=info.width, height=info.height, video_path=str(result.path),
    )  # fmt: skip


def expand_playlist(conn: Database, video: VideoRecord, entries: list[str], title: str | None) -> list[int]:
    """A playlist's video becomes its first entry, and every other entry a new video with the same
    choices; returns the new videos' ids. Call inside a transaction."""
    first, *others = entries
    db.update_video(conn, video.id, url=first, title=title)
    return [create_video(conn, request_from_video(video, url)) for url in others]


def subtitle_cues(conn: Database, video_id: int) -> list[subtitles.Cue]:
    """The video's captions with the speakers' current names ("Ada: ..."), for its clips' subtitles."""
    names = presenters.speaker_names(db.get_speakers(conn, video_id))
    return subtitles.transcript_cues(db.get_segments(conn, video_id), names)


def rewrite_clip_subtitles(conn: Database, video_id: int) -> int:
    """After a rename, every cut clip's SRT and VTT carry the new names at once, and clips with captions
    burned into the picture are marked out of date (only cutting again changes a picture); returns how
    many clips' subtitles were rewritten."""
    with db.transaction(conn):
        db.mark_burned_captions_out_of_date(conn, video_id)
    cues = subtitle_cues(conn, video_id)
    rewritten = 0
    for exchange in db.list_exchanges(conn, video_id):
        for clip in db.list_clips(conn, exchange.id):
            if clip.srt_path and clip.vtt_path and Path(clip.srt_path).parent.is_dir():
                subtitles.write_clip_subtitles(
                    cues, clip.start_time, clip.end_time, Path(clip.srt_path), Path(clip.vtt_path)
                )
                rewritten += 1
    return rewritten


@dataclass(frozen=True)
class ClipInLibrary:
    """A cut clip with what the Clips page shows about it: its Q&A, its video and the video's speakers."""

    clip: ClipRecord
    exchange: ExchangeRecord
    video: VideoRecord
    speakers_by_label: dict[str, dict]

    @property
    def speaker_name(self) -> str | None:
        speaker = self.speakers_by_label.get(self.clip.speaker or "")
        return speaker["name"] if speaker else self.clip.speaker


def clips_in_library(conn: Database, video_id: int | None = None, limit: int = 500) -> list[ClipInLibrary]:
    """Cut clips across the library (or of one video), newest first, each with its Q&A, video and speakers."""
    found, exchanges, videos, speakers = [], {}, {}, {}
    for clip in db.list_cut_clips(conn, video_id, limit):
        if clip.exchange_id not in exchanges:
            exchanges[clip.exchange_id] = db.get_exchange(conn, clip.exchange_id)
        exchange = exchanges[clip.exchange_id]
        if exchange.video_id not in videos:
            videos[exchange.video_id] = db.get_video(conn, exchange.video_id)
            rows = db.get_speakers(conn, exchange.video_id)
            speakers[exchange.video_id] = {item["label"]: item for item in presenters.describe_speakers(rows)}
        found.append(ClipInLibrary(clip, exchange, videos[exchange.video_id], speakers[exchange.video_id]))
    return found


def spoken_by(conn: Database, items: list[ClipInLibrary], name: str) -> list[ClipInLibrary]:
    """The clips of a speaker of that name (as shown: "Ada", or "Speaker 2") and the whole-Q&A clips in
    which they speak."""
    return [item for item in items if _speaks(conn, item, name)]


def _speaks(conn: Database, item: ClipInLibrary, name: str) -> bool:
    if item.clip.kind == "speaker":
        return item.speaker_name == name
    labels = {span.speaker for span in db.get_exchange_segments(conn, item.exchange.id)}
    return any(item.speakers_by_label.get(label, {}).get("name") == name for label in labels)


# ---- the speaker library -------------------------------------------------------------------------


def describe_answers(conn: Database, person_id: int) -> list[dict[str, Any]]:
    """A person's answers across videos: each exchange as the details page shows it, with its video, the
    asker's name and the whole-exchange clip once cut."""
    answers = db.answers_of_person(conn, person_id)
    by_video: dict[int, list[ExchangeRecord]] = {}
    for exchange in answers:
        by_video.setdefault(exchange.video_id, []).append(exchange)
    described = []
    for video_id, exchanges in by_video.items():
        video = db.get_video(conn, video_id)
        names = presenters.speaker_names(db.get_speakers(conn, video_id))
        rows = presenters.describe_exchanges(
            exchanges, db.exchange_steps(conn, [e.id for e in exchanges]), db.steps_of(conn, [video_id])
        )
        for exchange, row in zip(exchanges, rows, strict=True):
            whole = next((clip for clip in db.list_clips(conn, exchange.id) if clip.kind == "exchange"), None)
            described.append({
                **row, "video_id": video_id, "video_title": video.title,
                "asker_name": names.get(exchange.asker or "", exchange.asker),
                "answerer_name": names.get(exchange.answerer or "", exchange.answerer),
                "clip_id": whole.id if whole and whole.path else None,
            })  # fmt: skip
    return described


def answer_clips(conn: Database, person_id: int, exchange_ids: list[int] | None) -> list[ClipInLibrary]:
    """The whole-exchange clips already cut of the person's answers (all, or those asked for)."""
    chosen = [e for e in db.answers_of_person(conn, person_id) if exchange_ids is None or e.id in exchange_ids]
    wanted = {exchange.id for exchange in chosen}
    videos = {exchange.video_id for exchange in chosen}
    items = [item for video_id in videos for item in clips_in_library(conn, video_id)]
    return [item for item in items if item.exchange.id in wanted and item.clip.kind == "exchange"]


def process_exchanges(
    conn: Database, service: StepService, exchanges: list[ExchangeRecord], keep_cut: bool = False
) -> tuple[list, list[int]]:
    """Run each exchange through phase 2 to its clips (process, define, cut), each step queueing the next;
    with `keep_cut`, exchanges already cut are left as they are (their clips are not cut again). Returns the
    steps queued and the ids of the exchanges left alone."""
    if keep_cut:
        done = {step.exchange_id for step in db.exchange_steps(conn, [e.id for e in exchanges])
                if step.name == steps.PHASE2_STEPS[-1] and step.state == steps.DONE}  # fmt: skip
    else:
        done = set()
    todo = [exchange for exchange in exchanges if exchange.id not in done]
    with db.transaction(conn):
        for exchange in todo:
            db.update_exchange(conn, exchange.id, chain=1)
    queued = [service.request(exchange.video_id, steps.PHASE2_STEPS[0], exchange.id) for exchange in todo]
    return queued, sorted(done)


# ---- search ------------------------------------------------------------------------------------


def search(conn: Database, text: str, **filters: Any) -> list[dict[str, Any]]:
    """Search hits as the API and the Search page show them: the sentence, who said it, in which video,
    when, and the Q&A that holds it (to cut it), if any."""
    found = []
    for hit in db.search_segments(conn, text, **filters):
        exchange = db.exchange_at(conn, hit.video_id, hit.start_time, hit.end_time)
        found.append({
            "segment_id": hit.segment_id, "video_id": hit.video_id, "video_title": hit.video_title,
            "video_added": hit.video_created_at, "start": hit.start_time, "end": hit.end_time, "text": hit.text,
            "speaker": hit.speaker,
            "speaker_name": hit.speaker_name or (presenters.speaker_placeholder(hit.speaker) if hit.speaker else None),
            "person_id": hit.person_id,
            "exchange": {"id": exchange.id, "label": exchange.label, "title": presenters.exchange_title(exchange.label)}
            if exchange else None,
        })  # fmt: skip
    return found


# ---- editing timelines ---------------------------------------------------------------------------


def timeline_of(conn: Database, video: VideoRecord, rate: float | None) -> timeline.otio.schema.Timeline:
    """The video's exchanges in order as an OpenTimelineIO timeline (utils/pipeline/timeline.py)."""
    names = presenters.speaker_names(db.get_speakers(conn, video.id))
    items = [
        timeline.TimelineItem(
            name=presenters.exchange_title(exchange.label), start=exchange.start_time, end=exchange.end_time,
            question=exchange.question,
            note=f"asked by {names.get(exchange.asker or '', exchange.asker or 'someone')}, "
                 f"answered by {names.get(exchange.answerer or '', exchange.answerer or 'someone')}",
        )
        for exchange in db.list_exchanges(conn, video.id)
    ]  # fmt: skip
    return timeline.build(
        video.title or f"Video {video.id}", presenters.source_file_name(video), video.duration or 0.0, rate, items
    )
