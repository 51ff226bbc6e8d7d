"""Video-level operations shared by the API and the tasks: create with steps, describe, delete."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils import db, steps


@dataclass(frozen=True)
class VideoRequest:
    """What a submission asks for one URL; validated before any row is written."""

    url: str
    resolution: str = "best"
    auto: bool = False
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
        num_speakers=video["num_speakers"],
        min_speakers=video["min_speakers"],
        max_speakers=video["max_speakers"],
    )


def video_dir(download_dir: Path, video_id: int) -> Path:
    return download_dir / str(video_id)


def describe(video: dict[str, Any], video_steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON shape of a video: its row, its steps in graph order and its derived status."""
    order = {name: index for index, name in enumerate(steps.PHASE1_STEPS)}
    ordered = sorted(video_steps, key=lambda step: order.get(step["name"], len(order)))
    described = dict(video)
    described["auto"] = bool(video["auto"])
    described["steps"] = [_describe_step(step) for step in ordered]
    described["status"] = steps.video_status(ordered)
    return described


def _describe_step(step: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "state", "progress", "attempts", "error", "queued_at", "started_at", "finished_at")
    return {key: step[key] for key in keys}


def describe_many(conn: sqlite3.Connection, videos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Describe a page of videos with one query for all their steps."""
    by_video: dict[int, list[dict[str, Any]]] = {video["id"]: [] for video in videos}
    for step in db.steps_of(conn, by_video):
        by_video[step["video_id"]].append(step)
    return [describe(video, by_video[video["id"]]) for video in videos]


def delete_video(conn: sqlite3.Connection, video_id: int, folders: list[Path]) -> bool:
    """Remove the rows (steps cascade), then the video's folders under each managed root."""
    with db.transaction(conn):
        deleted = db.delete_video(conn, video_id)
    if deleted:
        for root in folders:
            shutil.rmtree(video_dir(root, video_id), ignore_errors=True)
    return deleted
