"""Use cases on videos: submit links, add uploads and add them again, change a link, list, read and delete;
and what follows a finished step (the rules by which a video goes on by itself)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import store.engine
import store.exchanges
import store.steps
import store.videos
from operations import lookup, presenters, status_words, steps, uploads
from operations.layout import remove_video_files, video_dir
from operations.step_service import StepService
from operations.steps import ACTIVE, PHASE1_STEPS, QueueUnavailable, StepBlocked
from operations.unit_of_work import UnitOfWork
from pipeline.download import Downloaded
from pipeline.media import MediaInfo
from store.engine import Database
from store.records import ErrorRecord, StepRecord, VideoRecord

# ---- what a new video is made of ---------------------------------------------------------------


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
    wants_whole_pipeline: bool = False
    wants_clips: bool = False
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None


def create_video(conn: Database, request: VideoRequest) -> int:
    """Insert the video and one pending row per phase-1 step; call inside a transaction."""
    video_id = store.videos.insert_video(
        conn,
        url=request.url,
        resolution=request.resolution,
        wants_whole_pipeline=int(request.wants_whole_pipeline),
        wants_clips=int(request.wants_clips),
        num_speakers=request.num_speakers,
        min_speakers=request.min_speakers,
        max_speakers=request.max_speakers,
    )
    store.steps.insert_steps(conn, video_id, steps.PHASE1_STEPS)
    return video_id


def request_from_video(video: VideoRecord, url: str) -> VideoRequest:
    """The same choices as an existing video, for another URL (playlist entries)."""
    return VideoRequest(
        url=url,
        resolution=video.resolution,
        wants_whole_pipeline=video.wants_whole_pipeline,
        wants_clips=video.wants_clips,
        num_speakers=video.num_speakers,
        min_speakers=video.min_speakers,
        max_speakers=video.max_speakers,
    )


def remove_video(conn: Database, video_id: int, folders: list[Path]) -> bool:
    """Remove the rows (steps cascade), then the video's folders under each managed root."""
    with store.engine.transaction(conn):
        deleted = store.videos.delete_video(conn, video_id)
    if deleted:
        remove_video_files(video_id, folders)
    return deleted


# ---- links -------------------------------------------------------------------------------------


def known_links(uow: UnitOfWork, urls: list[str]) -> dict[str, int]:
    """Links already in the library, with their video's id."""
    return store.videos.videos_with_urls(uow.conn, urls)


def submit_links(uow: UnitOfWork, requests: list[VideoRequest]) -> list[int]:
    """One new video per request, each with its download queued. When the queue cannot be reached, the
    videos just made are removed again (QueueUnavailable is raised): a submission is all or nothing."""
    with uow.transaction():
        ids = [create_video(uow.conn, request) for request in requests]
    try:
        for video_id in ids:
            uow.steps.request(video_id, "download")
    except QueueUnavailable:
        for video_id in ids:
            remove_video(uow.conn, video_id, [])
        raise
    return ids


def change_link(uow: UnitOfWork, video_id: int, url: str) -> None:
    """A corrected link, before the download is retried; refused while the download runs."""
    with uow.transaction():
        download = store.steps.find_step(uow.conn, video_id, "download")
        if download is not None and download.state in ACTIVE:
            raise StepBlocked("the download is under way: cancel it before changing the link")
        store.videos.update_video(uow.conn, video_id, url=url)
        uow.changed("video", video_id)


# ---- the download step's results (written by its task) -----------------------------------------


def record_download(
    uow: UnitOfWork, video_id: int, result: Downloaded, info: MediaInfo, thumbnail: Path | None
) -> None:
    """What a download found: the file, what the site says about it and what ffmpeg measured."""
    with uow.transaction():
        store.videos.update_video(
            uow.conn,
            video_id,
            title=result.title,
            uploader=result.uploader,
            duration=result.duration or info.duration,
            thumbnail_url=result.thumbnail_url,
            thumbnail_path=str(thumbnail) if thumbnail else None,
            width=info.width,
            height=info.height,
            video_path=str(result.path),
        )
        uow.changed("video", video_id)


def expand_playlist(uow: UnitOfWork, video: VideoRecord, entries: list[str], title: str | None) -> VideoRecord:
    """A playlist's video becomes its first entry, and every other entry a new video with the same
    choices, its download queued; returns the first entry's video as it now is."""
    first, *others = entries
    with uow.transaction():
        store.videos.update_video(uow.conn, video.id, url=first, title=title)
        new_ids = [create_video(uow.conn, request_from_video(video, url)) for url in others]
    for video_id in new_ids:
        uow.steps.request(video_id, "download")
    expanded = store.videos.get_video(uow.conn, video.id)
    assert expanded is not None  # this task's own video, which a deletion would have stopped
    return expanded


# ---- uploads -----------------------------------------------------------------------------------


def add_uploaded_video(
    uow: UnitOfWork, request: VideoRequest, upload: UploadedFile, download_dir: Path
) -> tuple[int, list[str], str | None]:
    """A finished upload (or a stored one added again) becomes a video whose download is done, and goes on
    as after a download; its id, the steps queued and any warning about those that could not be."""
    with uow.transaction():
        video_id = _video_from_file(uow.conn, request, upload, download_dir)
    done = _download_step(uow.conn, video_id)
    uow.steps.announce(done)  # the step, then the video (announced at once: no transaction is open)
    uow.changed("video", video_id)
    return (video_id, *continue_after(uow, done))


def add_upload_again(
    uow: UnitOfWork, video: VideoRecord, request: VideoRequest, download_dir: Path, min_free_bytes: int
) -> tuple[int, list[str], str | None]:
    """An upload has no link to fetch again: the new video starts from the same file (a second name for
    it, moved into the new video's folder), its download done; only the steps after it run."""
    source = Path(video.video_path or "")
    copy = uploads.second_name(download_dir, source, min_free_bytes)
    upload = UploadedFile(
        path=copy,
        extension=source.suffix.lstrip(".") or "mp4",
        title=video.title or source.stem,
        duration=video.duration,
        width=video.width,
        height=video.height,
    )
    try:
        return add_uploaded_video(uow, request, upload, download_dir)
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)  # its own spool folder, emptied by the move


def _video_from_file(conn: Database, request: VideoRequest, upload: UploadedFile, download_dir: Path) -> int:
    """The file moves into the new video's folder under the name its own container gives it; inside the
    caller's transaction, the folder removed again if anything fails."""
    video_id = create_video(conn, request)
    folder = video_dir(download_dir, video_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"video.{upload.extension}"
        os.replace(upload.path, target)
        store.videos.update_video(
            conn,
            video_id,
            title=upload.title,
            duration=upload.duration,
            width=upload.width,
            height=upload.height,
            video_path=str(target),
        )
        StepService(conn).record_done(_download_step(conn, video_id).id)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return video_id


def _download_step(conn: Database, video_id: int) -> StepRecord:
    """Every video is made with one (create_video); its absence is a bug, not a request to refuse."""
    step = store.steps.find_step(conn, video_id, "download")
    if step is None:
        raise LookupError(f"video {video_id} has no download step")
    return step


# ---- after a step is done ----------------------------------------------------------------------


def continue_after(uow: UnitOfWork, done: StepRecord) -> tuple[list[str], str | None]:
    """Queue what a done step unblocked when the video goes on by itself; the steps queued and any warning."""
    if not _goes_on(uow.conn, done):
        return [], None
    return uow.steps.queue_ready_dependents(done)


def _goes_on(conn: Database, done: StepRecord) -> bool:
    """A video that wants the whole pipeline runs phase 1 through; phase 2 goes on when clips were wanted or
    "process all" was asked."""
    video = store.videos.get_video(conn, done.video_id)
    if video is None or (not video.wants_whole_pipeline and done.exchange_id is None):
        return False
    if done.exchange_id is None:
        return True
    exchange = store.exchanges.get_exchange(conn, done.exchange_id)
    return bool(exchange and (exchange.chain or video.wants_clips))


# ---- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoPage:
    """One page of the library as the list shows it, and how many videos there are in all."""

    videos: list[dict[str, Any]]
    total: int


def page_of_videos(uow: UnitOfWork, page: int, per_page: int) -> VideoPage:
    """Newest first, each video described with its steps (one query for all their steps)."""
    rows = store.videos.list_videos(uow.conn, limit=per_page, offset=(page - 1) * per_page)
    return VideoPage(presenters.describe_many(uow.conn, rows), store.videos.count_videos(uow.conn))


def describe_video(uow: UnitOfWork, video: VideoRecord) -> dict[str, Any]:
    """The video as its page shows it: its steps, with its standing (status in words, time left)."""
    video_steps = store.steps.steps_of(uow.conn, [video.id])
    where = status_words.standings(uow.conn, [video], {video.id: video_steps})[video.id]
    return presenters.describe(video, video_steps, where)


def error_log(uow: UnitOfWork) -> list[ErrorRecord]:
    """Steps in error across the library, for the error log."""
    return store.steps.error_steps(uow.conn)


# ---- steps asked for by a person ---------------------------------------------------------------


def request_step(uow: UnitOfWork, video: VideoRecord, name: str) -> StepRecord:
    """Run a phase-1 step of the video (again); an upload has nothing to download again."""
    if name not in PHASE1_STEPS:
        raise steps.StepNotFound(f"unknown step {name!r}; steps are {', '.join(PHASE1_STEPS)}")
    if name == "download" and video.url.startswith(uploads.URL_PREFIX):
        raise StepBlocked(
            f"video {video.id} was uploaded, so there is nothing to download again: run its audio step, or "
            "process it again"
        )
    return uow.steps.request(video.id, name)


def cancel_step(
    uow: UnitOfWork, video_id: int, name: str, exchange_id: int | None = None
) -> tuple[StepRecord, str | None]:
    """A queued or running step back to pending; returns it and the task the caller must stop."""
    return uow.steps.cancel(video_id, name, exchange_id)


# ---- deleting ----------------------------------------------------------------------------------


def delete_video(uow: UnitOfWork, video_id: int, folders: list[Path]) -> list[str]:
    """Remove the video, its steps and its files; returns the tasks of its steps under way, which the
    caller stops (their task ids no longer match, so nothing they write afterwards sticks)."""
    with uow.transaction():
        running = [step.task_id for step in store.steps.steps_of_video(uow.conn, video_id) if step.state in ACTIVE]
        deleted = store.videos.delete_video(uow.conn, video_id)
        uow.changed("video_deleted", video_id)
    if deleted:
        remove_video_files(video_id, folders)
    uow.steps.announce_errors()  # its steps in error went with it
    return [task_id for task_id in running if task_id]


def remove_files_if_deleted(uow: UnitOfWork, video_id: int, folders: list[Path]) -> bool:
    """A video deleted while a task of it ran: what the task wrote after the deletion goes too."""
    if lookup.video(uow, video_id) is not None:
        return False
    remove_video_files(video_id, folders)
    return True
