"""Steps: one row per pipeline step of a video or a Q&A, its state, progress and error; the error log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from store.engine import Database, as_records, now, one_or_none
from store.records import ErrorRecord, StepRecord


def insert_steps(conn: Database, video_id: int, names: Iterable[str], exchange_id: int | None = None) -> None:
    conn.executemany(
        "INSERT INTO steps (video_id, exchange_id, name, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(video_id, exchange_id, name, now()) for name in names],
    )


def get_step(conn: Database, step_id: int) -> StepRecord | None:
    return one_or_none(conn, StepRecord, conn.execute("SELECT * FROM steps WHERE id = ?", (step_id,)).fetchone())


def find_step(conn: Database, video_id: int, name: str, exchange_id: int | None = None) -> StepRecord | None:
    row = conn.execute(
        "SELECT * FROM steps WHERE video_id = ? AND COALESCE(exchange_id, 0) = COALESCE(?, 0) AND name = ?",
        (video_id, exchange_id, name),
    ).fetchone()
    return one_or_none(conn, StepRecord, row)


def steps_of(conn: Database, video_ids: Iterable[int], exchange_id: int | None = None) -> list[StepRecord]:
    """Steps of several videos in one query (phase 1 when `exchange_id` is None)."""
    ids = list(video_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(
        f"SELECT * FROM steps WHERE video_id IN ({marks}) AND COALESCE(exchange_id, 0) = COALESCE(?, 0) ORDER BY id",
        [*ids, exchange_id],
    )
    return as_records(conn, StepRecord, rows)


def steps_of_video(conn: Database, video_id: int) -> list[StepRecord]:
    """Every step of a video, phase 1 and phase 2."""
    rows = conn.execute("SELECT * FROM steps WHERE video_id = ? ORDER BY id", (video_id,))
    return as_records(conn, StepRecord, rows)


def steps_in_states(conn: Database, states: Iterable[str]) -> list[StepRecord]:
    wanted = list(states)
    marks = ", ".join("?" for _ in wanted)
    rows = conn.execute(f"SELECT * FROM steps WHERE state IN ({marks}) ORDER BY id", wanted)
    return as_records(conn, StepRecord, rows)


def finished_step_times(conn: Database, names: Iterable[str], limit: int) -> list[tuple[str, str, str, float]]:
    """The latest finished runs of these phase-1 steps, newest first: (name, started_at, finished_at, the
    video's duration in seconds); runs that took no time (an upload's download) are left out."""
    wanted = list(names)
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    rows = conn.execute(
        "SELECT steps.name, steps.started_at, steps.finished_at, videos.duration FROM steps "
        "JOIN videos ON videos.id = steps.video_id "
        f"WHERE steps.exchange_id IS NULL AND steps.state IN ('done', 'stale') AND steps.name IN ({marks}) "
        "AND steps.started_at < steps.finished_at AND videos.duration > 0 "
        "ORDER BY steps.finished_at DESC LIMIT ?",
        [*wanted, limit],
    )
    return [(row[0], row[1], row[2], float(row[3])) for row in rows]


def update_step(
    conn: Database,
    step_id: int,
    where_states: Iterable[str] | None = None,
    task_id_is: str | None = None,
    **fields: Any,
) -> bool:
    """Update a step, optionally only while in `where_states` and owned by `task_id_is` (compare-and-set)."""
    fields["updated_at"] = now()
    assignments = ", ".join(f"{name} = ?" for name in fields)
    sql = f"UPDATE steps SET {assignments} WHERE id = ?"
    params: list[Any] = [*fields.values(), step_id]
    if where_states is not None:
        states = list(where_states)
        sql += f" AND state IN ({', '.join('?' for _ in states)})"
        params += states
    if task_id_is is not None:
        sql += " AND task_id = ?"
        params.append(task_id_is)
    return conn.execute(sql, params).rowcount > 0


def exchange_steps(conn: Database, exchange_ids: Iterable[int]) -> list[StepRecord]:
    ids = list(exchange_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(f"SELECT * FROM steps WHERE exchange_id IN ({marks}) ORDER BY id", ids)
    return as_records(conn, StepRecord, rows)


def phase2_steps_of(conn: Database, video_ids: Iterable[int]) -> list[StepRecord]:
    """Every exchange's steps for several videos in one query."""
    ids = list(video_ids)
    marks = ", ".join("?" for _ in ids)
    sql = f"SELECT * FROM steps WHERE video_id IN ({marks}) AND exchange_id IS NOT NULL ORDER BY id"
    return as_records(conn, StepRecord, conn.execute(sql, ids)) if ids else []


def count_errors(conn: Database) -> int:
    return conn.execute("SELECT COUNT(*) FROM steps WHERE state = 'error'").fetchone()[0]


def error_steps(conn: Database, limit: int = 500) -> list[ErrorRecord]:
    """Steps in error across all videos, newest first, with the video title and exchange label."""
    rows = conn.execute(
        "SELECT steps.*, videos.title AS video_title, videos.url AS video_url, exchanges.label AS exchange_label "
        "FROM steps JOIN videos ON videos.id = steps.video_id "
        "LEFT JOIN exchanges ON exchanges.id = steps.exchange_id "
        "WHERE steps.state = 'error' ORDER BY steps.finished_at DESC, steps.id DESC LIMIT ?",
        (limit,),
    )
    return as_records(conn, ErrorRecord, rows)
