"""The one place that talks SQL: connections, migrations and the queries the app needs.

Each thread or process opens its own connection (`connect`); SQLite runs in WAL mode with a busy
timeout and foreign keys on. Queries are parameterised and kept here so that moving to another
database is a change to this module only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from utils.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 30_000

VIDEO_FIELDS = [
    "url",
    "title",
    "uploader",
    "duration",
    "thumbnail_url",
    "thumbnail_path",
    "resolution",
    "width",
    "height",
    "video_path",
    "audio_path",
    "language",
    "transcript_note",
    "exchanges_note",
    "auto",
    "num_speakers",
    "min_speakers",
    "max_speakers",
]


def now() -> str:
    """UTC timestamps as ISO text, which sort correctly as strings."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def connect(path: Path | str) -> sqlite3.Connection:
    """A new connection in autocommit mode; write through `transaction()`."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=True)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes the write lock up front, so read-then-write decisions are atomic."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations under the write lock, so web and workers can start in any order."""
    with transaction(conn):
        version = schema_version(conn)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    return schema_version(conn)


def open_database(path: Path | str) -> sqlite3.Connection:
    conn = connect(path)
    migrate(conn)
    return conn


def _as_dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


# ---- videos ----------------------------------------------------------------------------------


def insert_video(conn: sqlite3.Connection, **fields: Any) -> int:
    unknown = set(fields) - set(VIDEO_FIELDS)
    if unknown:
        raise ValueError(f"unknown video fields: {sorted(unknown)}")
    names = [*list(fields), "created_at"]
    marks = ", ".join("?" for _ in names)
    cursor = conn.execute(f"INSERT INTO videos ({', '.join(names)}) VALUES ({marks})", [*fields.values(), now()])
    return int(cursor.lastrowid)


def update_video(conn: sqlite3.Connection, video_id: int, **fields: Any) -> bool:
    unknown = set(fields) - set(VIDEO_FIELDS)
    if unknown:
        raise ValueError(f"unknown video fields: {sorted(unknown)}")
    if not fields:
        return True
    assignments = ", ".join(f"{name} = ?" for name in fields)
    cursor = conn.execute(f"UPDATE videos SET {assignments} WHERE id = ?", [*fields.values(), video_id])
    return cursor.rowcount > 0


def get_video(conn: sqlite3.Connection, video_id: int) -> dict[str, Any] | None:
    return _as_dict(conn.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone())


def list_videos(conn: sqlite3.Connection, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM videos ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", (limit, offset))
    return [dict(row) for row in rows]


def count_videos(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM videos").fetchone()[0]


def delete_video(conn: sqlite3.Connection, video_id: int) -> bool:
    return conn.execute("DELETE FROM videos WHERE id = ?", (video_id,)).rowcount > 0


# ---- steps -----------------------------------------------------------------------------------


def insert_steps(conn: sqlite3.Connection, video_id: int, names: Iterable[str], exchange_id: int | None = None) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO steps (video_id, exchange_id, name, updated_at) VALUES (?, ?, ?, ?)",
        [(video_id, exchange_id, name, now()) for name in names],
    )


def get_step(conn: sqlite3.Connection, step_id: int) -> dict[str, Any] | None:
    return _as_dict(conn.execute("SELECT * FROM steps WHERE id = ?", (step_id,)).fetchone())


def find_step(
    conn: sqlite3.Connection, video_id: int, name: str, exchange_id: int | None = None
) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM steps WHERE video_id = ? AND COALESCE(exchange_id, 0) = COALESCE(?, 0) AND name = ?",
        (video_id, exchange_id, name),
    ).fetchone()
    return _as_dict(row)


def steps_of(
    conn: sqlite3.Connection, video_ids: Iterable[int], exchange_id: int | None = None
) -> list[dict[str, Any]]:
    """Steps of several videos in one query (phase 1 when `exchange_id` is None)."""
    ids = list(video_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(
        f"SELECT * FROM steps WHERE video_id IN ({marks}) AND COALESCE(exchange_id, 0) = COALESCE(?, 0) ORDER BY id",
        [*ids, exchange_id],
    )
    return [dict(row) for row in rows]


def steps_in_states(conn: sqlite3.Connection, states: Iterable[str]) -> list[dict[str, Any]]:
    wanted = list(states)
    marks = ", ".join("?" for _ in wanted)
    rows = conn.execute(f"SELECT * FROM steps WHERE state IN ({marks}) ORDER BY id", wanted)
    return [dict(row) for row in rows]


def update_step(
    conn: sqlite3.Connection, step_id: int, where_states: Iterable[str] | None = None, **fields: Any
) -> bool:
    """Update a step, optionally only while it is in one of `where_states` (a compare-and-set)."""
    fields["updated_at"] = now()
    assignments = ", ".join(f"{name} = ?" for name in fields)
    sql = f"UPDATE steps SET {assignments} WHERE id = ?"
    params: list[Any] = [*fields.values(), step_id]
    if where_states is not None:
        states = list(where_states)
        sql += f" AND state IN ({', '.join('?' for _ in states)})"
        params += states
    return conn.execute(sql, params).rowcount > 0
