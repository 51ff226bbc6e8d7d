"""Clips cut from an exchange: files, captions and which are ready."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from store.engine import Database, as_records, now, one_or_none
from store.records import ClipRecord, VideoRecord


def ready_clip_counts(conn: Database, video_ids: Iterable[int]) -> dict[int, int]:
    """How many clips of each video are cut (have their MP4)."""
    ids = list(video_ids)
    marks = ", ".join("?" for _ in ids)
    sql = (
        f"SELECT exchanges.video_id, COUNT(*) FROM clips JOIN exchanges ON exchanges.id = clips.exchange_id "
        f"WHERE exchanges.video_id IN ({marks}) AND clips.path IS NOT NULL GROUP BY exchanges.video_id"
    )
    return {row[0]: row[1] for row in conn.execute(sql, ids)} if ids else {}


CLIP_FIELDS = (
    "position",
    "kind",
    "start_time",
    "end_time",
    "speaker",
    "note",
    "path",
    "srt_path",
    "vtt_path",
    "title",
)


def replace_clips(conn: Database, exchange_id: int, clips: Iterable[dict[str, Any]]) -> list[int]:
    conn.execute("DELETE FROM clips WHERE exchange_id = ?", (exchange_id,))
    ids = []
    sql = (
        f"INSERT INTO clips (exchange_id, {', '.join(CLIP_FIELDS)}, created_at) "
        f"VALUES (?, {', '.join('?' for _ in CLIP_FIELDS)}, ?) RETURNING id"
    )
    for clip in clips:
        values = conn.stored_fields({name: clip.get(name) for name in CLIP_FIELDS})
        ids.append(conn.insert(sql, [exchange_id, *values.values(), now()]))
    return ids


def update_clip(conn: Database, clip_id: int, **fields: Any) -> None:
    fields = conn.stored_fields(fields)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(f"UPDATE clips SET {assignments} WHERE id = ?", [*fields.values(), clip_id])


def mark_burned_captions_out_of_date(conn: Database, video_id: int, between: tuple[float, float] | None = None) -> int:
    """Clips of the video whose picture carries captions (those over `between` only, when given): their
    names, or words, are now wrong."""
    sql = (
        "UPDATE clips SET captions_out_of_date = 1 WHERE burned_captions = 1 AND exchange_id IN "
        "(SELECT id FROM exchanges WHERE video_id = ?)"
    )
    params: list[Any] = [video_id]
    if between is not None:
        sql += " AND start_time < ? AND end_time > ?"
        params += [between[1], between[0]]
    return conn.execute(sql, params).rowcount


def list_clips(conn: Database, exchange_id: int) -> list[ClipRecord]:
    rows = conn.execute("SELECT * FROM clips WHERE exchange_id = ? ORDER BY position", (exchange_id,))
    return as_records(conn, ClipRecord, rows)


def list_cut_clips(conn: Database, video_id: int | None = None, limit: int = 500) -> list[ClipRecord]:
    """Clips that have their MP4, newest first, of one video or of all."""
    sql = "SELECT clips.* FROM clips JOIN exchanges ON exchanges.id = clips.exchange_id WHERE clips.path IS NOT NULL"
    params: list[Any] = []
    if video_id is not None:
        sql += " AND exchanges.video_id = ?"
        params.append(video_id)
    rows = conn.execute(sql + " ORDER BY clips.created_at DESC, clips.id DESC LIMIT ?", [*params, limit])
    return as_records(conn, ClipRecord, rows)


def videos_with_clips(conn: Database) -> list[VideoRecord]:
    rows = conn.execute(
        "SELECT * FROM videos WHERE id IN (SELECT exchanges.video_id FROM clips JOIN exchanges ON "
        "exchanges.id = clips.exchange_id WHERE clips.path IS NOT NULL) ORDER BY created_at DESC, id DESC"
    )
    return as_records(conn, VideoRecord, rows)


def get_clip(conn: Database, clip_id: int) -> ClipRecord | None:
    return one_or_none(conn, ClipRecord, conn.execute("SELECT * FROM clips WHERE id = ?", (clip_id,)).fetchone())
