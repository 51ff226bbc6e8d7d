"""Library operations shared by the API and the tasks: create a video with its steps, delete one."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.core import db, steps
from utils.core.layout import remove_video_files


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


def create_video(conn: sqlite3.Connection, request: VideoRequest) -> int:
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


def request_from_video(video: dict[str, Any], url: str) -> VideoRequest:
    """The same choices as an existing video, for another URL (playlist entries)."""
    return VideoRequest(
        url=url,
        resolution=video["resolution"],
        auto=bool(video["auto"]),
        clips=bool(video["clips"]),
        num_speakers=video["num_speakers"],
        min_speakers=video["min_speakers"],
        max_speakers=video["max_speakers"],
    )


def delete_video(conn: sqlite3.Connection, video_id: int, folders: list[Path]) -> bool:
    """Remove the rows (steps cascade), then the video's folders under each managed root."""
    with db.transaction(conn):
        deleted = db.delete_video(conn, video_id)
    if deleted:
        remove_video_files(video_id, folders)
    return deleted
