"""The one place that talks SQL: connections, migrations and the queries the app needs.

Each thread or process opens its own connection (`connect`); SQLite runs in WAL mode with a busy
timeout and foreign keys on. Queries are parameterised and kept here so that moving to another
database is a change to this module only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from utils.core.migrations import MIGRATIONS
from utils.core.records import (
    ClipRecord,
    ErrorRecord,
    ExchangeRecord,
    ExchangeSegmentRecord,
    Record,
    SpeakerRecord,
    StepRecord,
    VideoRecord,
)
from utils.pipeline.types import Exchange, Segment, Transcript, Turn, Word, transcript_from_dict, transcript_to_dict

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
    "clips",
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


R = TypeVar("R", bound=Record)


def _one(record: type[R], row: sqlite3.Row | None) -> R | None:
    return record.from_row(row) if row is not None else None


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


def get_video(conn: sqlite3.Connection, video_id: int) -> VideoRecord | None:
    return _one(VideoRecord, conn.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone())


def list_videos(conn: sqlite3.Connection, limit: int = 50, offset: int = 0) -> list[VideoRecord]:
    rows = conn.execute("SELECT * FROM videos ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", (limit, offset))
    return [VideoRecord.from_row(row) for row in rows]


def videos_with_urls(conn: sqlite3.Connection, urls: Iterable[str]) -> dict[str, int]:
    """Which of these links are in the library already: link → the oldest video made from it."""
    wanted = list(urls)
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = conn.execute(f"SELECT url, MIN(id) FROM videos WHERE url IN ({marks}) GROUP BY url", wanted)
    return {row[0]: row[1] for row in rows}


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


def get_step(conn: sqlite3.Connection, step_id: int) -> StepRecord | None:
    return _one(StepRecord, conn.execute("SELECT * FROM steps WHERE id = ?", (step_id,)).fetchone())


def find_step(conn: sqlite3.Connection, video_id: int, name: str, exchange_id: int | None = None) -> StepRecord | None:
    row = conn.execute(
        "SELECT * FROM steps WHERE video_id = ? AND COALESCE(exchange_id, 0) = COALESCE(?, 0) AND name = ?",
        (video_id, exchange_id, name),
    ).fetchone()
    return _one(StepRecord, row)


def steps_of(conn: sqlite3.Connection, video_ids: Iterable[int], exchange_id: int | None = None) -> list[StepRecord]:
    """Steps of several videos in one query (phase 1 when `exchange_id` is None)."""
    ids = list(video_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(
        f"SELECT * FROM steps WHERE video_id IN ({marks}) AND COALESCE(exchange_id, 0) = COALESCE(?, 0) ORDER BY id",
        [*ids, exchange_id],
    )
    return [StepRecord.from_row(row) for row in rows]


def steps_of_video(conn: sqlite3.Connection, video_id: int) -> list[StepRecord]:
    """Every step of a video, phase 1 and phase 2."""
    rows = conn.execute("SELECT * FROM steps WHERE video_id = ? ORDER BY id", (video_id,))
    return [StepRecord.from_row(row) for row in rows]


def steps_in_states(conn: sqlite3.Connection, states: Iterable[str]) -> list[StepRecord]:
    wanted = list(states)
    marks = ", ".join("?" for _ in wanted)
    rows = conn.execute(f"SELECT * FROM steps WHERE state IN ({marks}) ORDER BY id", wanted)
    return [StepRecord.from_row(row) for row in rows]


def update_step(
    conn: sqlite3.Connection,
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


# ---- transcript --------------------------------------------------------------------------------


def replace_segments(conn: sqlite3.Connection, video_id: int, segments: Iterable[Segment]) -> None:
    """Store a video's transcript, replacing the previous one; call inside a transaction."""
    conn.execute("DELETE FROM segments WHERE video_id = ?", (video_id,))
    append_segments(conn, video_id, segments, first_position=0)


def append_segments(conn: sqlite3.Connection, video_id: int, segments: Iterable[Segment], first_position: int) -> None:
    """Add segments after the ones stored, as transcription produces them."""
    for position, segment in enumerate(segments, start=first_position):
        segment_id = conn.execute(
            "INSERT INTO segments (video_id, position, start_time, end_time, text, speaker) VALUES (?, ?, ?, ?, ?, ?)",
            (video_id, position, segment.start, segment.end, segment.text, segment.speaker),
        ).lastrowid
        conn.executemany(
            "INSERT INTO words (segment_id, video_id, position, start_time, end_time, text, probability, speaker) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (segment_id, video_id, index, word.start, word.end, word.text, word.probability, word.speaker)
                for index, word in enumerate(segment.words)
            ],
        )


def get_segments(conn: sqlite3.Connection, video_id: int) -> list[Segment]:
    words_by_segment: dict[int, list[Word]] = {}
    for row in conn.execute(
        "SELECT * FROM words WHERE video_id = ? ORDER BY segment_id, position", (video_id,)
    ):  # fmt: skip
        word = Word(row["start_time"], row["end_time"], row["text"], row["probability"], row["speaker"])
        words_by_segment.setdefault(row["segment_id"], []).append(word)
    rows = conn.execute("SELECT * FROM segments WHERE video_id = ? ORDER BY position", (video_id,))
    return [
        Segment(
            row["start_time"], row["end_time"], row["text"], tuple(words_by_segment.get(row["id"], ())), row["speaker"]
        )
        for row in rows
    ]


def segment_ids(conn: sqlite3.Connection, video_id: int) -> list[int]:
    return [row[0] for row in conn.execute("SELECT id FROM segments WHERE video_id = ? ORDER BY position", (video_id,))]


# ---- diarization -------------------------------------------------------------------------------


def replace_turns(conn: sqlite3.Connection, video_id: int, turns: Iterable[Turn]) -> None:
    conn.execute("DELETE FROM turns WHERE video_id = ?", (video_id,))
    conn.executemany(
        "INSERT INTO turns (video_id, start_time, end_time, speaker) VALUES (?, ?, ?, ?)",
        [(video_id, turn.start, turn.end, turn.speaker) for turn in turns],
    )


def save_raw_transcript(conn: sqlite3.Connection, video_id: int, transcript: Transcript) -> None:
    data = json.dumps(transcript_to_dict(transcript))
    conn.execute("INSERT OR REPLACE INTO raw_transcripts (video_id, data) VALUES (?, ?)", (video_id, data))


def get_raw_transcript(conn: sqlite3.Connection, video_id: int) -> Transcript | None:
    """The transcript before speaker alignment; None for videos transcribed before it was kept here."""
    row = conn.execute("SELECT data FROM raw_transcripts WHERE video_id = ?", (video_id,)).fetchone()
    return transcript_from_dict(json.loads(row["data"])) if row else None


def get_turns(conn: sqlite3.Connection, video_id: int) -> list[Turn]:
    rows = conn.execute("SELECT * FROM turns WHERE video_id = ? ORDER BY start_time, id", (video_id,))
    return [Turn(row["start_time"], row["end_time"], row["speaker"]) for row in rows]


def ensure_speakers(conn: sqlite3.Connection, video_id: int, labels: Iterable[str]) -> None:
    """Add rows for new labels; names given by the user to existing labels are kept."""
    conn.executemany(
        "INSERT OR IGNORE INTO speakers (video_id, label) VALUES (?, ?)", [(video_id, label) for label in labels]
    )


def get_speakers(conn: sqlite3.Connection, video_id: int) -> list[SpeakerRecord]:
    rows = conn.execute("SELECT label, name FROM speakers WHERE video_id = ? ORDER BY label", (video_id,))
    return [SpeakerRecord.from_row(row) for row in rows]


def rename_speaker(conn: sqlite3.Connection, video_id: int, label: str, name: str | None) -> bool:
    cursor = conn.execute("UPDATE speakers SET name = ? WHERE video_id = ? AND label = ?", (name, video_id, label))
    return cursor.rowcount > 0


# ---- exchanges ---------------------------------------------------------------------------------


def insert_exchange(
    conn: sqlite3.Connection, video_id: int, label: str, kind: str, exchange: Exchange, chain: bool = False
) -> int:
    """`chain`: once a phase-2 step is done, queue the next one (process all)."""
    cursor = conn.execute(
        "INSERT INTO exchanges (video_id, label, kind, start_time, end_time, question, asker, answerer, chain, "
        "note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (video_id, label, kind, exchange.start, exchange.end, exchange.question, exchange.asker, exchange.answerer,
         int(chain), exchange.note or None, now()),
    )  # fmt: skip
    return int(cursor.lastrowid)


EXCHANGE_SETTABLE = (
    "chain", "burn_subtitles", "note", "asker", "answerer", "start_time", "end_time", "question", "shape", "crop_x",
    "caption_style",
)  # fmt: skip


def update_exchange(conn: sqlite3.Connection, exchange_id: int, **fields: Any) -> None:
    unknown = set(fields) - set(EXCHANGE_SETTABLE)
    if unknown:
        raise ValueError(f"unknown exchange fields: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(f"UPDATE exchanges SET {assignments} WHERE id = ?", [*fields.values(), exchange_id])


def delete_exchanges(conn: sqlite3.Connection, video_id: int, kind: str) -> list[int]:
    ids = [row[0] for row in conn.execute("SELECT id FROM exchanges WHERE video_id = ? AND kind = ?", (video_id, kind))]
    conn.execute("DELETE FROM exchanges WHERE video_id = ? AND kind = ?", (video_id, kind))
    return ids


def list_exchanges(conn: sqlite3.Connection, video_id: int) -> list[ExchangeRecord]:
    rows = conn.execute("SELECT * FROM exchanges WHERE video_id = ? ORDER BY start_time, id", (video_id,))
    return [ExchangeRecord.from_row(row) for row in rows]


def get_exchange(conn: sqlite3.Connection, exchange_id: int) -> ExchangeRecord | None:
    return _one(ExchangeRecord, conn.execute("SELECT * FROM exchanges WHERE id = ?", (exchange_id,)).fetchone())


def delete_exchange(conn: sqlite3.Connection, exchange_id: int) -> bool:
    return conn.execute("DELETE FROM exchanges WHERE id = ?", (exchange_id,)).rowcount > 0


def exchange_steps(conn: sqlite3.Connection, exchange_ids: Iterable[int]) -> list[StepRecord]:
    ids = list(exchange_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(f"SELECT * FROM steps WHERE exchange_id IN ({marks}) ORDER BY id", ids)
    return [StepRecord.from_row(row) for row in rows]


def exchanges_of(conn: sqlite3.Connection, video_ids: Iterable[int]) -> list[ExchangeRecord]:
    """The exchanges of several videos in one query."""
    ids = list(video_ids)
    marks = ", ".join("?" for _ in ids)
    rows = (
        conn.execute(f"SELECT * FROM exchanges WHERE video_id IN ({marks}) ORDER BY start_time, id", ids) if ids else []
    )
    return [ExchangeRecord.from_row(row) for row in rows]


def phase2_steps_of(conn: sqlite3.Connection, video_ids: Iterable[int]) -> list[StepRecord]:
    """Every exchange's steps for several videos in one query."""
    ids = list(video_ids)
    marks = ", ".join("?" for _ in ids)
    sql = f"SELECT * FROM steps WHERE video_id IN ({marks}) AND exchange_id IS NOT NULL ORDER BY id"
    return [StepRecord.from_row(row) for row in conn.execute(sql, ids)] if ids else []


def ready_clip_counts(conn: sqlite3.Connection, video_ids: Iterable[int]) -> dict[int, int]:
    """How many clips of each video are cut (have their MP4)."""
    ids = list(video_ids)
    marks = ", ".join("?" for _ in ids)
    sql = (
        f"SELECT exchanges.video_id, COUNT(*) FROM clips JOIN exchanges ON exchanges.id = clips.exchange_id "
        f"WHERE exchanges.video_id IN ({marks}) AND clips.path IS NOT NULL GROUP BY exchanges.video_id"
    )
    return {row[0]: row[1] for row in conn.execute(sql, ids)} if ids else {}


def replace_exchange_segments(conn: sqlite3.Connection, exchange_id: int, spans: Iterable[Any]) -> None:
    conn.execute("DELETE FROM exchange_segments WHERE exchange_id = ?", (exchange_id,))
    conn.executemany(
        "INSERT INTO exchange_segments (exchange_id, position, start_time, end_time, speaker) VALUES (?, ?, ?, ?, ?)",
        [(exchange_id, index, span.start, span.end, span.speaker) for index, span in enumerate(spans)],
    )


def get_exchange_segments(conn: sqlite3.Connection, exchange_id: int) -> list[ExchangeSegmentRecord]:
    rows = conn.execute("SELECT * FROM exchange_segments WHERE exchange_id = ? ORDER BY position", (exchange_id,))
    return [ExchangeSegmentRecord.from_row(row) for row in rows]


# ---- clips -------------------------------------------------------------------------------------

CLIP_FIELDS = ("position", "kind", "start_time", "end_time", "speaker", "note", "path", "srt_path", "vtt_path")


def replace_clips(conn: sqlite3.Connection, exchange_id: int, clips: Iterable[dict[str, Any]]) -> list[int]:
    conn.execute("DELETE FROM clips WHERE exchange_id = ?", (exchange_id,))
    ids = []
    for clip in clips:
        values = [clip.get(name) for name in CLIP_FIELDS]
        cursor = conn.execute(
            f"INSERT INTO clips (exchange_id, {', '.join(CLIP_FIELDS)}, created_at) "
            f"VALUES (?, {', '.join('?' for _ in CLIP_FIELDS)}, ?)",
            [exchange_id, *values, now()],
        )
        ids.append(int(cursor.lastrowid))
    return ids


def update_clip(conn: sqlite3.Connection, clip_id: int, **fields: Any) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(f"UPDATE clips SET {assignments} WHERE id = ?", [*fields.values(), clip_id])


def mark_burned_captions_out_of_date(conn: sqlite3.Connection, video_id: int) -> int:
    """Clips of the video whose picture carries captions: their names are now wrong."""
    return conn.execute(
        "UPDATE clips SET captions_out_of_date = 1 WHERE burned_captions = 1 AND exchange_id IN "
        "(SELECT id FROM exchanges WHERE video_id = ?)",
        (video_id,),
    ).rowcount


def list_clips(conn: sqlite3.Connection, exchange_id: int) -> list[ClipRecord]:
    rows = conn.execute("SELECT * FROM clips WHERE exchange_id = ? ORDER BY position", (exchange_id,))
    return [ClipRecord.from_row(row) for row in rows]


def list_cut_clips(conn: sqlite3.Connection, video_id: int | None = None, limit: int = 500) -> list[ClipRecord]:
    """Clips that have their MP4, newest first, of one video or of all."""
    sql = "SELECT clips.* FROM clips JOIN exchanges ON exchanges.id = clips.exchange_id WHERE clips.path IS NOT NULL"
    params: list[Any] = []
    if video_id is not None:
        sql += " AND exchanges.video_id = ?"
        params.append(video_id)
    rows = conn.execute(sql + " ORDER BY clips.created_at DESC, clips.id DESC LIMIT ?", [*params, limit])
    return [ClipRecord.from_row(row) for row in rows]


def videos_with_clips(conn: sqlite3.Connection) -> list[VideoRecord]:
    rows = conn.execute(
        "SELECT * FROM videos WHERE id IN (SELECT exchanges.video_id FROM clips JOIN exchanges ON "
        "exchanges.id = clips.exchange_id WHERE clips.path IS NOT NULL) ORDER BY created_at DESC, id DESC"
    )
    return [VideoRecord.from_row(row) for row in rows]


def get_clip(conn: sqlite3.Connection, clip_id: int) -> ClipRecord | None:
    return _one(ClipRecord, conn.execute("SELECT * FROM clips WHERE id = ?", (clip_id,)).fetchone())


# ---- errors ------------------------------------------------------------------------------------


def count_errors(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM steps WHERE state = 'error'").fetchone()[0]


def error_steps(conn: sqlite3.Connection, limit: int = 500) -> list[ErrorRecord]:
    """Steps in error across all videos, newest first, with the video title and exchange label."""
    rows = conn.execute(
        "SELECT steps.*, videos.title AS video_title, videos.url AS video_url, exchanges.label AS exchange_label "
        "FROM steps JOIN videos ON videos.id = steps.video_id "
        "LEFT JOIN exchanges ON exchanges.id = steps.exchange_id "
        "WHERE steps.state = 'error' ORDER BY steps.finished_at DESC, steps.id DESC LIMIT ?",
        (limit,),
    )
    return [ErrorRecord.from_row(row) for row in rows]


# ---- login sessions ------------------------------------------------------------------------------


def session_generation(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM auth_state WHERE key = 'session_generation'").fetchone()
    return row[0] if row else "0"


def end_all_sessions(conn: sqlite3.Connection) -> None:
    """Move to a new generation: every session cookie issued before is no longer accepted."""
    conn.execute(
        "INSERT INTO auth_state (key, value) VALUES ('session_generation', '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
    )
