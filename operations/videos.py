"""Use cases on videos: submit links, add a video again, change its link, list and delete."""

from __future__ import annotations

import store.steps
import store.videos
from operations import library
from operations.library import VideoRequest
from operations.steps import ACTIVE, QueueUnavailable, StepBlocked
from operations.unit_of_work import UnitOfWork


def known_links(uow: UnitOfWork, urls: list[str]) -> dict[str, int]:
    """Links already in the library, with their video's id."""
    return store.videos.videos_with_urls(uow.conn, urls)


def submit_links(uow: UnitOfWork, requests: list[VideoRequest]) -> list[int]:
    """One new video per request, each with its download queued. When the queue cannot be reached, the
    videos just made are removed again (QueueUnavailable is raised): a submission is all or nothing."""
    with uow.transaction():
        ids = [library.create_video(uow.conn, request) for request in requests]
    try:
        for video_id in ids:
            uow.steps.request(video_id, "download")
    except QueueUnavailable:
        for video_id in ids:
            library.delete_video(uow.conn, video_id, [])
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
