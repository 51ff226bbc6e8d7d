"""Videos: one row per link or upload, with its media files and the options it was submitted with."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline import languages
from store.engine import Database, as_records, now, one_or_none
from store.records import VideoRecord

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
    "transcript_model",
    "transcript_note",
    "exchanges_note",
    "wants_whole_pipeline",
    "wants_clips",
    "num_speakers",
    "min_speakers",
    "max_speakers",
]


def insert_video(conn: Database, **fields: Any) -> int:
    unknown = set(fields) - set(VIDEO_FIELDS)
    if unknown:
        raise ValueError(f"unknown video fields: {sorted(unknown)}")
    fields = conn.stored_fields(fields)
    names = [*list(fields), "created_at"]
    marks = ", ".join("?" for _ in names)
    sql = f"INSERT INTO videos ({', '.join(names)}) VALUES ({marks}) RETURNING id"
    return conn.insert(sql, [*fields.values(), now()])


def update_video(conn: Database, video_id: int, **fields: Any) -> bool:
    unknown = set(fields) - set(VIDEO_FIELDS)
    if unknown:
        raise ValueError(f"unknown video fields: {sorted(unknown)}")
    if not fields:
        return True
    fields = conn.stored_fields(fields)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    cursor = conn.execute(f"UPDATE videos SET {assignments} WHERE id = ?", [*fields.values(), video_id])
    if "language" in fields:  # the transcript is searched in its language from now on
        search = languages.search_config(fields["language"])
        conn.execute("UPDATE segments SET search_config = ? WHERE video_id = ?", (search, video_id))
    return cursor.rowcount > 0


def get_video(conn: Database, video_id: int) -> VideoRecord | None:
    return one_or_none(conn, VideoRecord, conn.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone())


def list_videos(conn: Database, limit: int = 50, offset: int = 0) -> list[VideoRecord]:
    rows = conn.execute("SELECT * FROM videos ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", (limit, offset))
    return as_records(conn, VideoRecord, rows)


def videos_with_urls(conn: Database, urls: Iterable[str]) -> dict[str, int]:
    """Which of these links are in the library already: link → the oldest video made from it."""
    wanted = list(urls)
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = conn.execute(f"SELECT url, MIN(id) FROM videos WHERE url IN ({marks}) GROUP BY url", wanted)
    return {row[0]: row[1] for row in rows}


def count_videos(conn: Database) -> int:
    return conn.execute("SELECT COUNT(*) FROM videos").fetchone()[0]


def delete_video(conn: Database, video_id: int) -> bool:
    return conn.execute("DELETE FROM videos WHERE id = ?", (video_id,)).rowcount > 0
