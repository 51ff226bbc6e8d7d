"""Video-level operations shared by the API and the tasks: create with steps, describe, delete."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils import db, steps
from utils.redact import redact_url


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


def video_dir(download_dir: Path, video_id: int) -> Path:
    return download_dir / str(video_id)


def describe(video: dict[str, Any], video_steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON shape of a video: its row, its steps in graph order and its derived status."""
    order = {name: index for index, name in enumerate(steps.PHASE1_STEPS)}
    ordered = sorted(video_steps, key=lambda step: order.get(step["name"], len(order)))
    described = dict(video)
    described["url"] = redact_url(video["url"])  # the stored URL keeps credentials for the download only
    described["auto"] = bool(video["auto"])
    described["clips"] = bool(video["clips"])
    states = {step["name"]: step["state"] for step in ordered}
    described["steps"] = [_describe_step(step, states, states) for step in ordered]
    described["status"] = steps.video_status(ordered)
    described["progress"] = steps.weighted_progress(ordered)
    described["exchanges_waiting"] = steps.phase2_waiting(states)
    return described


def _describe_step(step: dict[str, Any], states: dict[str, str], video_states: dict[str, str]) -> dict[str, Any]:
    """A step for the API and pages, with its title and what may be done with it now (so no page
    re-derives the step rules)."""
    keys = ("id", "name", "state", "progress", "attempts", "error", "queued_at", "started_at", "finished_at")
    described = {key: step[key] for key in keys}
    described["title"] = steps.STEP[step["name"]].title
    described["action"] = steps.step_action(step["name"], step["state"], states, video_states)
    return described


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
        remove_video_files(video_id, folders)
    return deleted


def remove_video_files(video_id: int, folders: list[Path]) -> None:
    for root in folders:
        shutil.rmtree(video_dir(root, video_id), ignore_errors=True)


def exchange_dir(clips_dir: Path, video_id: int, exchange_id: int) -> Path:
    return clips_dir / str(video_id) / str(exchange_id)


def remove_exchange_files(clips_dir: Path, video_id: int, exchange_ids: list[int]) -> None:
    """Clip files of exchanges that no longer exist, so re-running leaves no orphans."""
    for exchange_id in exchange_ids:
        shutil.rmtree(exchange_dir(clips_dir, video_id, exchange_id), ignore_errors=True)


SPEAKER_COLORS = ("#0d6efd", "#d63384", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#dc3545", "#0aa2c0")


def describe_speakers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Label, display name (the label until renamed) and a stable colour per speaker."""
    return [
        {"label": row["label"], "name": row["name"] or row["label"], "color": SPEAKER_COLORS[i % len(SPEAKER_COLORS)]}
        for i, row in enumerate(rows)
    ]


def speaker_names(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {speaker["label"]: speaker["name"] for speaker in describe_speakers(rows)}


def describe_exchanges(
    exchanges: list[dict[str, Any]], exchange_steps: list[dict[str, Any]], video_steps: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Exchanges for the API and pages; `video_steps` (phase 1) decide whether their first step may run."""
    order = {name: index for index, name in enumerate(steps.PHASE2_STEPS)}
    video_states = {step["name"]: step["state"] for step in video_steps}
    by_exchange: dict[int, list[dict[str, Any]]] = {exchange["id"]: [] for exchange in exchanges}
    for step in exchange_steps:
        by_exchange.setdefault(step["exchange_id"], []).append(step)
    described = []
    for exchange in exchanges:
        rows = sorted(by_exchange[exchange["id"]], key=lambda step: order.get(step["name"], len(order)))
        states = {step["name"]: step["state"] for step in rows}
        own = [_describe_step(step, states, video_states) for step in rows]
        described.append(
            {
                "id": exchange["id"],
                "label": exchange["label"],
                "kind": exchange["kind"],
                "start": exchange["start_time"],
                "end": exchange["end_time"],
                "question": exchange["question"],
                "asker": exchange["asker"],
                "answerer": exchange["answerer"],
                "note": exchange["note"],
                "steps": own,
                "status": steps.video_status(own),
                "progress": steps.weighted_progress(own),
            }
        )
    return described
