"""The one place that talks SQL: connections, migrations and the queries the app needs.

The store is SQLite (a file under DATA_DIR, the default) or PostgreSQL (`DATABASE_URL=postgresql://…`),
with one schema and one migration history (`migrations.py`). The queries are written once, in the SQL
both understand (`ON CONFLICT`, `RETURNING`); `Database` papers over the rest: placeholders, the
write lock, the schema version and the types of the DDL. Each thread or process opens its own
connection (`connect`). Paths of media files are stored relative to DATA_DIR, so hosts that mount the
shared folder at different places read the same rows.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pipeline import languages
from pipeline.types import Exchange, Segment, Transcript, Turn, Word, transcript_from_dict, transcript_to_dict
from store.migrations import MIGRATIONS
from store.records import (
    ClipRecord,
    ErrorRecord,
    ExchangeRecord,
    ExchangeSegmentRecord,
    PersonRecord,
    Record,
    SearchHit,
    SpeakerRecord,
    StepRecord,
    VideoRecord,
    VoiceRecord,
)

BUSY_TIMEOUT_MS = 30_000
# Every writing transaction on PostgreSQL takes this one advisory lock first: writers queue up as they do
# on SQLite under BEGIN IMMEDIATE, so each read-then-write decision (claiming a step, re-queueing a lost
# one) sees no other writer between its read and its write. Writes are small and short; reads never wait.
WRITE_LOCK_KEY = 0x636C6970  # "clip"
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
# Columns holding a file under DATA_DIR: stored relative to it, handed out absolute.
PATH_TABLES = {"videos": ("thumbnail_path", "video_path", "audio_path"),
               "clips": ("path", "srt_path", "vtt_path", "poster_path")}  # fmt: skip
PATH_COLUMNS = frozenset(column for columns in PATH_TABLES.values() for column in columns)

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
    "auto",
    "clips",
    "num_speakers",
    "min_speakers",
    "max_speakers",
]


def now() -> str:
    """UTC timestamps as ISO text, which sort correctly as strings."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def is_postgres(location: str | Path) -> bool:
    return str(location).lower().startswith(POSTGRES_SCHEMES)


class Database:
    """One connection to SQLite or PostgreSQL in autocommit mode; write several statements through
    `transaction()`. `execute` takes SQL with `?` placeholders on both."""

    def __init__(self, location: str | Path, data_dir: Path | None = None):
        self.data_dir = Path(os.path.abspath(data_dir)) if data_dir is not None else None
        self.dialect = "postgresql" if is_postgres(location) else "sqlite"
        self.in_transaction = False
        self._raw = _open_postgres(str(location)) if self.dialect == "postgresql" else _open_sqlite(Path(location))

    # ---- statements
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; on PostgreSQL a write outside a transaction still takes the write lock."""
        if self.dialect == "sqlite":
            return self._raw.execute(sql, params)
        if self.in_transaction or not _writes(sql):
            return self._raw.execute(_postgres_sql(sql), _postgres_params(params))
        with self.transaction():
            return self._raw.execute(_postgres_sql(sql), _postgres_params(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self.dialect == "sqlite":
            self._raw.executemany(sql, rows)
            return
        batch = [_postgres_params(row) for row in rows]
        if not batch:
            return
        with self.transaction(), self._raw.cursor() as cursor:
            cursor.executemany(_postgres_sql(sql), batch)

    def insert(self, sql: str, params: Sequence[Any]) -> int:
        """An INSERT ending in `RETURNING id`: the new row's id."""
        return int(self.execute(sql, params).fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        if self.in_transaction:  # joins the transaction already open
            yield self
            return
        self.in_transaction = True
        try:
            if self.dialect == "sqlite":
                with _sqlite_transaction(self._raw):
                    yield self
            else:
                with self._raw.transaction():
                    self._raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                    yield self
        finally:
            self.in_transaction = False

    def close(self) -> None:
        self._raw.close()

    # ---- paths under DATA_DIR
    def stored_path(self, value: str | Path | None) -> str | None:
        """A file's path as the database keeps it: relative to DATA_DIR when it lies under it."""
        if value is None or self.data_dir is None:
            return None if value is None else str(value)
        path = Path(os.path.abspath(value))
        return path.relative_to(self.data_dir).as_posix() if path.is_relative_to(self.data_dir) else str(path)

    def local_path(self, value: str | None) -> str | None:
        """A stored path as a path on this host (an absolute one, stored before paths were relative, as is)."""
        if value is None or self.data_dir is None:
            return value
        return str(self.data_dir / value)

    def stored_fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        return {name: self.stored_path(value) if name in PATH_COLUMNS else value for name, value in fields.items()}


SQLITE_NEEDED = (3, 35)  # RETURNING


def _open_sqlite(path: Path) -> sqlite3.Connection:
    if sqlite3.sqlite_version_info < SQLITE_NEEDED:
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} is too old: Clipper needs {'.'.join(map(str, SQLITE_NEEDED))} or later "
            "(a newer Python, or DATABASE_URL pointing at PostgreSQL)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=True)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def _sqlite_transaction(conn: Database) -> Iterator[None]:
    """BEGIN IMMEDIATE takes the write lock up front, so read-then-write decisions are atomic."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _open_postgres(url: str) -> Any:
    import psycopg  # only needed when DATABASE_URL names PostgreSQL

    scheme, rest = url.split("://", 1)
    url = f"postgresql://{rest}" if scheme.lower() in ("postgresql+psycopg", "postgres", "postgresql") else url
    return psycopg.connect(url, autocommit=True, row_factory=_postgres_rows, connect_timeout=10)


class Row(tuple):
    """A PostgreSQL row read like sqlite3.Row: by position or by column name."""

    names: dict[str, int]

    def __getitem__(self, key):  # type: ignore[override]
        return super().__getitem__(self.names[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self.names)


def _postgres_rows(cursor: Any) -> Any:
    if cursor.description is None:
        return lambda values: values
    kind = type("Row", (Row,), {"names": {column.name: i for i, column in enumerate(cursor.description)}})
    return lambda values: kind(values)


_SQL_CACHE: dict[str, str] = {}


def _postgres_sql(sql: str) -> str:
    """`?` placeholders become psycopg's `%s` (our SQL has no `?` or `%` of its own elsewhere)."""
    if sql not in _SQL_CACHE:
        _SQL_CACHE[sql] = sql.replace("%", "%%").replace("?", "%s")
    return _SQL_CACHE[sql]


def _postgres_params(params: Sequence[Any]) -> list[Any]:
    """Flags are INTEGER columns on both databases; PostgreSQL will not take a boolean for one."""
    return [int(value) if isinstance(value, bool) else value for value in params]


def _writes(sql: str) -> bool:
    return sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE")


class StoreSettings(Protocol):
    database: str
    data_dir: Path


def connect(location: str | Path, data_dir: Path | None = None) -> Database:
    """A new connection to a SQLite file or a `postgresql://` URL; `data_dir` roots stored file paths."""
    return Database(location, data_dir)


def connect_to(settings: StoreSettings) -> Database:
    return connect(settings.database, settings.data_dir)


@contextmanager
def transaction(conn: Database) -> Iterator[Database]:
    """Several statements as one: SQLite's BEGIN IMMEDIATE, PostgreSQL's write lock."""
    with conn.transaction():
        yield conn


# ---- schema ------------------------------------------------------------------------------------

# The migrations are written in SQLite's words; these are the only ones PostgreSQL says otherwise.
_POSTGRES_DDL = (
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"), "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),  # PostgreSQL's REAL has 6 digits: 3600.125 s would round
)


def _statements(conn: Database, migration: str | dict[str, tuple[str, ...]]) -> list[str]:
    """A migration's statements for this database."""
    if isinstance(migration, dict):
        return list(migration[conn.dialect])
    script = migration
    if conn.dialect == "postgresql":
        for pattern, replacement in _POSTGRES_DDL:
            script = pattern.sub(replacement, script)
    return [statement for statement in script.split(";") if statement.strip()]


def schema_version(conn: Database) -> int:
    """How many migrations ran: SQLite's `user_version`, a one-column table on PostgreSQL."""
    if conn.dialect == "sqlite":
        return conn.execute("PRAGMA user_version").fetchone()[0]
    if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
        return 0
    return conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0


def _set_schema_version(conn: Database, number: int) -> None:
    if conn.dialect == "sqlite":
        conn.execute(f"PRAGMA user_version = {int(number)}")
    else:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))


def migrate(conn: Database) -> int:
    """Apply pending migrations under the write lock, so web and workers can start in any order."""
    with transaction(conn):
        version = schema_version(conn)
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(conn, migration):
                conn.execute(statement)
            _set_schema_version(conn, number)
    return schema_version(conn)


def open_database(location: str | Path, data_dir: Path | None = None) -> Database:
    conn = connect(location, data_dir)
    migrate(conn)
    return conn


def relativize_paths(conn: Database) -> int:
    """Rows written when paths were stored whole: those under DATA_DIR become relative (run at start-up;
    a no-op once done). DATA_DIR used to be stored with its links resolved, so both spellings count."""
    assert conn.data_dir is not None
    prefixes = {f"{conn.data_dir}/", f"{os.path.realpath(conn.data_dir)}/"}
    changed = 0
    with transaction(conn):
        for table, columns in PATH_TABLES.items():
            for column, prefix in ((column, prefix) for column in columns for prefix in prefixes):
                changed += conn.execute(
                    f"UPDATE {table} SET {column} = substr({column}, ?) WHERE substr({column}, 1, ?) = ?",
                    (len(prefix) + 1, len(prefix), prefix),
                ).rowcount
    return changed


R = TypeVar("R", bound=Record)


def _record(conn: Database, record: type[R], row: Any) -> R:
    """A row as its record, with stored file paths made paths on this host."""
    found = record.from_row(row)
    paths = {name: conn.local_path(getattr(found, name)) for name in PATH_COLUMNS if hasattr(found, name)}
    return dataclasses.replace(found, **paths) if paths else found


def _one(conn: Database, record: type[R], row: Any) -> R | None:
    return _record(conn, record, row) if row is not None else None


def _many(conn: Database, record: type[R], rows: Iterable[Any]) -> list[R]:
    return [_record(conn, record, row) for row in rows]


# ---- videos ----------------------------------------------------------------------------------


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
    return _one(conn, VideoRecord, conn.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone())


def list_videos(conn: Database, limit: int = 50, offset: int = 0) -> list[VideoRecord]:
    rows = conn.execute("SELECT * FROM videos ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", (limit, offset))
    return _many(conn, VideoRecord, rows)


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


# ---- steps -----------------------------------------------------------------------------------


def insert_steps(conn: Database, video_id: int, names: Iterable[str], exchange_id: int | None = None) -> None:
    conn.executemany(
        "INSERT INTO steps (video_id, exchange_id, name, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(video_id, exchange_id, name, now()) for name in names],
    )


def get_step(conn: Database, step_id: int) -> StepRecord | None:
    return _one(conn, StepRecord, conn.execute("SELECT * FROM steps WHERE id = ?", (step_id,)).fetchone())


def find_step(conn: Database, video_id: int, name: str, exchange_id: int | None = None) -> StepRecord | None:
    row = conn.execute(
        "SELECT * FROM steps WHERE video_id = ? AND COALESCE(exchange_id, 0) = COALESCE(?, 0) AND name = ?",
        (video_id, exchange_id, name),
    ).fetchone()
    return _one(conn, StepRecord, row)


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
    return _many(conn, StepRecord, rows)


def steps_of_video(conn: Database, video_id: int) -> list[StepRecord]:
    """Every step of a video, phase 1 and phase 2."""
    rows = conn.execute("SELECT * FROM steps WHERE video_id = ? ORDER BY id", (video_id,))
    return _many(conn, StepRecord, rows)


def steps_in_states(conn: Database, states: Iterable[str]) -> list[StepRecord]:
    wanted = list(states)
    marks = ", ".join("?" for _ in wanted)
    rows = conn.execute(f"SELECT * FROM steps WHERE state IN ({marks}) ORDER BY id", wanted)
    return _many(conn, StepRecord, rows)


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


# ---- transcript --------------------------------------------------------------------------------


def replace_segments(conn: Database, video_id: int, segments: Iterable[Segment]) -> None:
    """Store a video's transcript, replacing the previous one; call inside a transaction."""
    conn.execute("DELETE FROM segments WHERE video_id = ?", (video_id,))
    append_segments(conn, video_id, segments, first_position=0)


def append_segments(conn: Database, video_id: int, segments: Iterable[Segment], first_position: int) -> None:
    """Add segments after the ones stored, as transcription produces them (searched in the video's language)."""
    row = conn.execute("SELECT language FROM videos WHERE id = ?", (video_id,)).fetchone()
    search = languages.search_config(row[0] if row else None)
    for position, segment in enumerate(segments, start=first_position):
        segment_id = conn.insert(
            "INSERT INTO segments (video_id, position, start_time, end_time, text, speaker, search_config) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (video_id, position, segment.start, segment.end, segment.text, segment.speaker, search),
        )
        conn.executemany(
            "INSERT INTO words (segment_id, video_id, position, start_time, end_time, text, probability, speaker) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (segment_id, video_id, index, word.start, word.end, word.text, word.probability, word.speaker)
                for index, word in enumerate(segment.words)
            ],
        )


def get_segments(conn: Database, video_id: int) -> list[Segment]:
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


def segment_ids(conn: Database, video_id: int) -> list[int]:
    return [row[0] for row in conn.execute("SELECT id FROM segments WHERE video_id = ? ORDER BY position", (video_id,))]


def segments_between(conn: Database, video_id: int, start: float, end: float) -> list[Segment]:
    """The video's segments that overlap [start, end], with their words (a search hit's neighbours)."""
    rows = conn.execute(
        "SELECT * FROM segments WHERE video_id = ? AND end_time > ? AND start_time < ? ORDER BY position",
        (video_id, start, end),
    ).fetchall()
    return [_segment(conn, row) for row in rows]


def get_segment(conn: Database, video_id: int, segment_id: int) -> Segment | None:
    row = conn.execute("SELECT * FROM segments WHERE id = ? AND video_id = ?", (segment_id, video_id)).fetchone()
    return _segment(conn, row) if row else None


def _segment(conn: Database, row) -> Segment:
    words = conn.execute("SELECT * FROM words WHERE segment_id = ? ORDER BY position", (row["id"],))
    return Segment(
        row["start_time"], row["end_time"], row["text"],
        tuple(Word(w["start_time"], w["end_time"], w["text"], w["probability"], w["speaker"]) for w in words),
        row["speaker"],
    )  # fmt: skip


def replace_segment(conn: Database, video_id: int, segment_id: int, segment: Segment) -> None:
    """One segment's text and words, corrected (the search index follows its text); in a transaction."""
    conn.execute(
        "UPDATE segments SET start_time = ?, end_time = ?, text = ? WHERE id = ?",
        (segment.start, segment.end, segment.text, segment_id),
    )
    conn.execute("DELETE FROM words WHERE segment_id = ?", (segment_id,))
    conn.executemany(
        "INSERT INTO words (segment_id, video_id, position, start_time, end_time, text, probability, speaker) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (segment_id, video_id, index, word.start, word.end, word.text, word.probability, word.speaker)
            for index, word in enumerate(segment.words)
        ],
    )


# ---- diarization -------------------------------------------------------------------------------


def replace_turns(conn: Database, video_id: int, turns: Iterable[Turn]) -> None:
    conn.execute("DELETE FROM turns WHERE video_id = ?", (video_id,))
    conn.executemany(
        "INSERT INTO turns (video_id, start_time, end_time, speaker) VALUES (?, ?, ?, ?)",
        [(video_id, turn.start, turn.end, turn.speaker) for turn in turns],
    )


def save_raw_transcript(conn: Database, video_id: int, transcript: Transcript) -> None:
    data = json.dumps(transcript_to_dict(transcript))
    conn.execute(
        "INSERT INTO raw_transcripts (video_id, data) VALUES (?, ?) "
        "ON CONFLICT (video_id) DO UPDATE SET data = excluded.data",
        (video_id, data),
    )


def get_raw_transcript(conn: Database, video_id: int) -> Transcript | None:
    """The transcript before speaker alignment; None for videos transcribed before it was kept here."""
    row = conn.execute("SELECT data FROM raw_transcripts WHERE video_id = ?", (video_id,)).fetchone()
    return transcript_from_dict(json.loads(row["data"])) if row else None


def save_translation(conn: Database, video_id: int, translation: Transcript) -> None:
    """The English text of a video in another language (its `language` is the speech's), with times."""
    conn.execute(
        "INSERT INTO translations (video_id, language, data) VALUES (?, ?, ?) "
        "ON CONFLICT (video_id) DO UPDATE SET language = excluded.language, data = excluded.data",
        (video_id, translation.language or "", json.dumps(transcript_to_dict(translation))),
    )


def get_translation(conn: Database, video_id: int) -> Transcript | None:
    row = conn.execute("SELECT data FROM translations WHERE video_id = ?", (video_id,)).fetchone()
    return transcript_from_dict(json.loads(row["data"])) if row else None


def delete_translation(conn: Database, video_id: int) -> None:
    conn.execute("DELETE FROM translations WHERE video_id = ?", (video_id,))


def get_turns(conn: Database, video_id: int) -> list[Turn]:
    rows = conn.execute("SELECT * FROM turns WHERE video_id = ? ORDER BY start_time, id", (video_id,))
    return [Turn(row["start_time"], row["end_time"], row["speaker"]) for row in rows]


def ensure_speakers(conn: Database, video_id: int, labels: Iterable[str]) -> None:
    """Add rows for new labels; names given by the user to existing labels are kept."""
    conn.executemany(
        "INSERT INTO speakers (video_id, label) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(video_id, label) for label in labels],
    )


def get_speakers(conn: Database, video_id: int) -> list[SpeakerRecord]:
    rows = conn.execute("SELECT * FROM speakers WHERE video_id = ? ORDER BY label", (video_id,))
    return _many(conn, SpeakerRecord, rows)


def rename_speaker(conn: Database, video_id: int, label: str, name: str | None) -> bool:
    cursor = conn.execute("UPDATE speakers SET name = ? WHERE video_id = ? AND label = ?", (name, video_id, label))
    return cursor.rowcount > 0


# ---- the speaker library -------------------------------------------------------------------------

PERSON_SELECT = """
    SELECT people.id, people.name, people.created_at,
           (SELECT COUNT(DISTINCT video_id) FROM speakers WHERE person_id = people.id) AS videos,
           COALESCE((SELECT SUM(turns.end_time - turns.start_time) FROM turns JOIN speakers
                     ON speakers.video_id = turns.video_id AND speakers.label = turns.speaker
                     WHERE speakers.person_id = people.id), 0) AS seconds,
           (SELECT COUNT(*) FROM exchanges JOIN speakers
            ON speakers.video_id = exchanges.video_id AND speakers.label = exchanges.answerer
            WHERE speakers.person_id = people.id) AS answers
    FROM people"""


def replace_voices(conn: Database, video_id: int, voices: dict[str, tuple[Sequence[float], float]]) -> None:
    """A video's voiceprints: label → (unit vector, seconds of speech it came from)."""
    conn.execute("DELETE FROM voices WHERE video_id = ?", (video_id,))
    conn.executemany(
        "INSERT INTO voices (video_id, label, vector, seconds) VALUES (?, ?, ?, ?)",
        [(video_id, label, json.dumps([round(x, 6) for x in vector]), seconds)
         for label, (vector, seconds) in voices.items()],
    )  # fmt: skip


def get_voices(conn: Database, video_ids: Iterable[int] | None = None) -> list[VoiceRecord]:
    """Voiceprints with the person each belongs to, of some videos or of all."""
    sql = (
        "SELECT voices.*, speakers.person_id FROM voices LEFT JOIN speakers "
        "ON speakers.video_id = voices.video_id AND speakers.label = voices.label"
    )
    if video_ids is None:
        return _many(conn, VoiceRecord, conn.execute(sql + " ORDER BY voices.video_id, voices.label"))
    ids = list(video_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(sql + f" WHERE voices.video_id IN ({marks}) ORDER BY voices.video_id, voices.label", ids)
    return _many(conn, VoiceRecord, rows)


def voiced_labels(conn: Database, video_id: int) -> set[str]:
    return {row[0] for row in conn.execute("SELECT label FROM voices WHERE video_id = ?", (video_id,))}


def people_names(conn: Database) -> dict[int, str]:
    return {row[0]: row[1] for row in conn.execute("SELECT id, name FROM people")}


def insert_person(conn: Database, name: str) -> int:
    return conn.insert("INSERT INTO people (name, created_at) VALUES (?, ?) RETURNING id", (name, now()))


def find_person(conn: Database, name: str) -> PersonRecord | None:
    """By name, whatever its case."""
    return _one(
        conn, PersonRecord, conn.execute(PERSON_SELECT + " WHERE lower(people.name) = lower(?)", (name,)).fetchone()
    )


def get_person(conn: Database, person_id: int) -> PersonRecord | None:
    return _one(conn, PersonRecord, conn.execute(PERSON_SELECT + " WHERE people.id = ?", (person_id,)).fetchone())


def list_people(conn: Database) -> list[PersonRecord]:
    return _many(conn, PersonRecord, conn.execute(PERSON_SELECT + " ORDER BY lower(people.name), people.id"))


def rename_person(conn: Database, person_id: int, name: str) -> bool:
    """The person and every speaker linked to them take the new name."""
    if not conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id)).rowcount:
        return False
    conn.execute("UPDATE speakers SET name = ? WHERE person_id = ?", (name, person_id))
    return True


def delete_person(conn: Database, person_id: int) -> bool:
    """Out of the library; the speakers keep the name they were given."""
    return conn.execute("DELETE FROM people WHERE id = ?", (person_id,)).rowcount > 0


def videos_of_person(conn: Database, person_id: int) -> list[int]:
    rows = conn.execute("SELECT DISTINCT video_id FROM speakers WHERE person_id = ? ORDER BY video_id", (person_id,))
    return [row[0] for row in rows]


def link_speaker(conn: Database, video_id: int, label: str, person_id: int | None, name: str | None) -> bool:
    """Say who a speaker is (or that they are nobody in the library); their suggestion is settled."""
    return (
        conn.execute(
            "UPDATE speakers SET person_id = ?, name = ?, suggested_person_id = NULL, suggestion_similarity = NULL "
            "WHERE video_id = ? AND label = ?",
            (person_id, name, video_id, label),
        ).rowcount
        > 0
    )


def set_suggestion(conn: Database, video_id: int, label: str, person_id: int | None, similarity: float | None) -> None:
    conn.execute(
        "UPDATE speakers SET suggested_person_id = ?, suggestion_similarity = ? WHERE video_id = ? AND label = ?",
        (person_id, similarity, video_id, label),
    )


def reject_suggestion(conn: Database, video_id: int, label: str, person_id: int) -> None:
    """Remembered: this speaker is not this person, whatever the voices say."""
    conn.execute(
        "INSERT INTO voice_rejections (video_id, label, person_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (video_id, label, person_id),
    )
    set_suggestion(conn, video_id, label, None, None)


def forget_rejections(conn: Database, video_id: int, labels: Iterable[str]) -> None:
    conn.executemany(
        "DELETE FROM voice_rejections WHERE video_id = ? AND label = ?", [(video_id, label) for label in labels]
    )


def rejections(conn: Database) -> set[tuple[int, str, int]]:
    return {(row[0], row[1], row[2]) for row in conn.execute("SELECT video_id, label, person_id FROM voice_rejections")}


def unlinked_speakers(
    conn: Database, video_ids: Iterable[int] | None = None
) -> list[tuple[int, str, int | None, float | None]]:
    """(video, label, suggested person, similarity) of speakers with a voiceprint who are nobody in the library."""
    sql = (
        "SELECT speakers.video_id, speakers.label, speakers.suggested_person_id, speakers.suggestion_similarity "
        "FROM speakers JOIN voices "
        "ON voices.video_id = speakers.video_id AND voices.label = speakers.label WHERE speakers.person_id IS NULL"
    )
    params: list[Any] = []
    if video_ids is not None:
        ids = list(video_ids)
        if not ids:
            return []
        sql += f" AND speakers.video_id IN ({', '.join('?' for _ in ids)})"
        params = ids
    rows = conn.execute(sql + " ORDER BY speakers.video_id, speakers.label", params)
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def answers_of_person(conn: Database, person_id: int) -> list[ExchangeRecord]:
    """Exchanges, across videos, in which the person answers, oldest video first."""
    rows = conn.execute(
        "SELECT exchanges.* FROM exchanges JOIN speakers ON speakers.video_id = exchanges.video_id "
        "AND speakers.label = exchanges.answerer WHERE speakers.person_id = ? "
        "ORDER BY exchanges.video_id, exchanges.start_time, exchanges.id",
        (person_id,),
    )
    return _many(conn, ExchangeRecord, rows)


def linked_people(conn: Database, video_id: int) -> set[int]:
    rows = conn.execute("SELECT person_id FROM speakers WHERE video_id = ? AND person_id IS NOT NULL", (video_id,))
    return {row[0] for row in rows}


# ---- search ------------------------------------------------------------------------------------

SEARCH_COLUMNS = (
    "SELECT segments.id AS segment_id, segments.video_id, videos.title AS video_title, "
    "videos.created_at AS video_created_at, segments.start_time, segments.end_time, segments.text, "
    "segments.speaker, speakers.name AS speaker_name, speakers.person_id "
)
SEARCH_JOINS = (
    "JOIN videos ON videos.id = segments.video_id "
    "LEFT JOIN speakers ON speakers.video_id = segments.video_id AND speakers.label = segments.speaker "
)


def search_terms(text: str) -> list[str]:
    """What a search asks for: "quoted phrases" and single words, as plain words (nothing of a query
    language gets through)."""
    terms = []
    for phrase, word in re.findall(r'"([^"]*)"|(\S+)', text):
        words = re.findall(r"\w+", phrase if phrase else word)
        if words:
            terms.append(" ".join(words))
    return terms


def search_segments(
    conn: Database,
    text: str,
    *,
    person_id: int | None = None,
    video_id: int | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 50,
) -> list[SearchHit]:
    """Transcript segments containing every word and phrase of `text` (stemmed: "answers" finds "answer"),
    best matches first; filtered by person, video and the day the video was added (ISO dates).

    Each transcript is searched in its language: SQLite's one FTS5 index stems every row with Porter's
    (English) stemmer over words with their accents removed, so "Mexico" finds "México" and "canciones"
    "canción"; PostgreSQL stems each row with its language's configuration (`segments.search_config`), and
    the query is stemmed in every configuration in use, any of them matching."""
    terms = search_terms(text)
    if not terms:
        return []
    if conn.dialect == "sqlite":  # each term a quoted FTS5 string: words and phrases ANDed, never operators
        source = f"FROM segments_search JOIN segments ON segments.id = segments_search.rowid {SEARCH_JOINS}"
        where, params = ["segments_search MATCH ?"], [" ".join(f'"{term}"' for term in terms)]
        order, order_params = "segments_search.rank", []
    else:
        query = " ".join(f'"{term}"' for term in terms)  # "or", "-x" are words here too, as on SQLite
        configs = sorted({languages.search_config(None), *languages.SEARCH_CONFIGS.values(), languages.SIMPLE_SEARCH})
        asked = " || ".join(f"websearch_to_tsquery('{config}', ?)" for config in configs)  # names from our table
        source = f"FROM segments {SEARCH_JOINS}"
        where, params = [f"to_tsvector(segments.search_config, segments.text) @@ ({asked})"], [query] * len(configs)
        order = f"ts_rank(to_tsvector(segments.search_config, segments.text), ({asked})) DESC"
        order_params = [query] * len(configs)
    for clause, value in (("speakers.person_id = ?", person_id), ("segments.video_id = ?", video_id),
                          ("videos.created_at >= ?", since), ("videos.created_at < ?", until)):  # fmt: skip
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = (
        f"{SEARCH_COLUMNS} {source} WHERE {' AND '.join(where)} "
        f"ORDER BY {order}, segments.video_id, segments.start_time LIMIT ?"
    )
    return _many(conn, SearchHit, conn.execute(sql, [*params, *order_params, limit]))


def exchange_at(conn: Database, video_id: int, start: float, end: float) -> ExchangeRecord | None:
    """The exchange that holds this stretch of the video, if any (the shortest, when several do)."""
    row = conn.execute(
        "SELECT * FROM exchanges WHERE video_id = ? AND start_time <= ? AND end_time >= ? "
        "AND substr(label, 1, 7) <> 'search_' ORDER BY end_time - start_time, id LIMIT 1",
        (video_id, start + 0.01, end - 0.01),
    ).fetchone()
    return _one(conn, ExchangeRecord, row)


# ---- exchanges ---------------------------------------------------------------------------------


def insert_exchange(
    conn: Database, video_id: int, label: str, kind: str, exchange: Exchange, chain: bool = False
) -> int:
    """`chain`: once a phase-2 step is done, queue the next one (process all)."""
    return conn.insert(
        "INSERT INTO exchanges (video_id, label, kind, start_time, end_time, question, asker, answerer, chain, "
        "note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (video_id, label, kind, exchange.start, exchange.end, exchange.question, exchange.asker, exchange.answerer,
         int(chain), exchange.note or None, now()),
    )  # fmt: skip


EXCHANGE_SETTABLE = (
    "chain", "burn_subtitles", "note", "asker", "answerer", "start_time", "end_time", "question", "shape", "crop_x",
    "caption_style", "caption_position", "caption_names", "framing",
)  # fmt: skip


def update_exchange(conn: Database, exchange_id: int, **fields: Any) -> None:
    unknown = set(fields) - set(EXCHANGE_SETTABLE)
    if unknown:
        raise ValueError(f"unknown exchange fields: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(f"UPDATE exchanges SET {assignments} WHERE id = ?", [*fields.values(), exchange_id])


def delete_exchanges(conn: Database, video_id: int, kind: str) -> list[int]:
    ids = [row[0] for row in conn.execute("SELECT id FROM exchanges WHERE video_id = ? AND kind = ?", (video_id, kind))]
    conn.execute("DELETE FROM exchanges WHERE video_id = ? AND kind = ?", (video_id, kind))
    return ids


def list_exchanges(conn: Database, video_id: int) -> list[ExchangeRecord]:
    rows = conn.execute("SELECT * FROM exchanges WHERE video_id = ? ORDER BY start_time, id", (video_id,))
    return _many(conn, ExchangeRecord, rows)


def get_exchange(conn: Database, exchange_id: int) -> ExchangeRecord | None:
    return _one(conn, ExchangeRecord, conn.execute("SELECT * FROM exchanges WHERE id = ?", (exchange_id,)).fetchone())


def delete_exchange(conn: Database, exchange_id: int) -> bool:
    return conn.execute("DELETE FROM exchanges WHERE id = ?", (exchange_id,)).rowcount > 0


def exchange_steps(conn: Database, exchange_ids: Iterable[int]) -> list[StepRecord]:
    ids = list(exchange_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(f"SELECT * FROM steps WHERE exchange_id IN ({marks}) ORDER BY id", ids)
    return _many(conn, StepRecord, rows)


def exchanges_of(conn: Database, video_ids: Iterable[int]) -> list[ExchangeRecord]:
    """The exchanges of several videos in one query."""
    ids = list(video_ids)
    marks = ", ".join("?" for _ in ids)
    rows = (
        conn.execute(f"SELECT * FROM exchanges WHERE video_id IN ({marks}) ORDER BY start_time, id", ids) if ids else []
    )
    return _many(conn, ExchangeRecord, rows)


def phase2_steps_of(conn: Database, video_ids: Iterable[int]) -> list[StepRecord]:
    """Every exchange's steps for several videos in one query."""
    ids = list(video_ids)
    marks = ", ".join("?" for _ in ids)
    sql = f"SELECT * FROM steps WHERE video_id IN ({marks}) AND exchange_id IS NOT NULL ORDER BY id"
    return _many(conn, StepRecord, conn.execute(sql, ids)) if ids else []


def ready_clip_counts(conn: Database, video_ids: Iterable[int]) -> dict[int, int]:
    """How many clips of each video are cut (have their MP4)."""
    ids = list(video_ids)
    marks = ", ".join("?" for _ in ids)
    sql = (
        f"SELECT exchanges.video_id, COUNT(*) FROM clips JOIN exchanges ON exchanges.id = clips.exchange_id "
        f"WHERE exchanges.video_id IN ({marks}) AND clips.path IS NOT NULL GROUP BY exchanges.video_id"
    )
    return {row[0]: row[1] for row in conn.execute(sql, ids)} if ids else {}


def replace_exchange_segments(conn: Database, exchange_id: int, spans: Iterable[Any]) -> None:
    conn.execute("DELETE FROM exchange_segments WHERE exchange_id = ?", (exchange_id,))
    conn.executemany(
        "INSERT INTO exchange_segments (exchange_id, position, start_time, end_time, speaker) VALUES (?, ?, ?, ?, ?)",
        [(exchange_id, index, span.start, span.end, span.speaker) for index, span in enumerate(spans)],
    )


def get_exchange_segments(conn: Database, exchange_id: int) -> list[ExchangeSegmentRecord]:
    rows = conn.execute("SELECT * FROM exchange_segments WHERE exchange_id = ? ORDER BY position", (exchange_id,))
    return _many(conn, ExchangeSegmentRecord, rows)


# ---- clips -------------------------------------------------------------------------------------

CLIP_FIELDS = (
    "position", "kind", "start_time", "end_time", "speaker", "note", "path", "srt_path", "vtt_path", "title",
)  # fmt: skip


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
    return _many(conn, ClipRecord, rows)


def list_cut_clips(conn: Database, video_id: int | None = None, limit: int = 500) -> list[ClipRecord]:
    """Clips that have their MP4, newest first, of one video or of all."""
    sql = "SELECT clips.* FROM clips JOIN exchanges ON exchanges.id = clips.exchange_id WHERE clips.path IS NOT NULL"
    params: list[Any] = []
    if video_id is not None:
        sql += " AND exchanges.video_id = ?"
        params.append(video_id)
    rows = conn.execute(sql + " ORDER BY clips.created_at DESC, clips.id DESC LIMIT ?", [*params, limit])
    return _many(conn, ClipRecord, rows)


def videos_with_clips(conn: Database) -> list[VideoRecord]:
    rows = conn.execute(
        "SELECT * FROM videos WHERE id IN (SELECT exchanges.video_id FROM clips JOIN exchanges ON "
        "exchanges.id = clips.exchange_id WHERE clips.path IS NOT NULL) ORDER BY created_at DESC, id DESC"
    )
    return _many(conn, VideoRecord, rows)


def get_clip(conn: Database, clip_id: int) -> ClipRecord | None:
    return _one(conn, ClipRecord, conn.execute("SELECT * FROM clips WHERE id = ?", (clip_id,)).fetchone())


# ---- errors ------------------------------------------------------------------------------------


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
    return _many(conn, ErrorRecord, rows)


# ---- login sessions ------------------------------------------------------------------------------


def session_generation(conn: Database) -> str:
    row = conn.execute("SELECT value FROM auth_state WHERE key = 'session_generation'").fetchone()
    return row[0] if row else "0"


def end_all_sessions(conn: Database) -> None:
    """Move to a new generation: every session cookie issued before is no longer accepted."""
    conn.execute(
        "INSERT INTO auth_state (key, value) VALUES ('session_generation', '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(auth_state.value AS INTEGER) + 1 AS TEXT)"
    )


# ---- copying a whole store ---------------------------------------------------------------------
# How an instance moves from SQLite to PostgreSQL (or back): rows keep their ids, so links to videos and
# clips stay valid; file paths are made relative to DATA_DIR first, so the media folder can move to a
# share as it is. `copy_database.py` runs it, with the app and its workers stopped.

# Parents before children: PostgreSQL checks every reference as a row arrives.
TABLES = ("videos", "exchanges", "steps", "segments", "words", "turns", "people", "speakers", "voices",
          "voice_rejections", "exchange_segments", "clips", "raw_transcripts", "translations",
          "auth_state")  # fmt: skip
WITH_IDS = ("videos", "exchanges", "steps", "segments", "words", "turns", "people", "exchange_segments", "clips")
BATCH = 5000


def copy_store(source: Database, target: Database, report: Callable[[str], None] = print) -> dict[str, int]:
    """Copy every row of `source` into `target` (migrated here, and empty but for its seed rows)."""
    migrate(source)
    migrate(target)
    if count_videos(target):
        raise ValueError("the target database already has videos: copy into an empty one")
    if source.data_dir is not None:
        relativize_paths(source)
    copied = {}
    with transaction(target):
        target.execute("DELETE FROM auth_state")  # the migrations' seed row comes from the source instead
        for table in TABLES:
            copied[table] = _copy_table(source, target, table)
            report(f"{table}: {copied[table]} rows")
        if target.dialect == "postgresql":
            for table in WITH_IDS:  # new rows continue after the copied ids
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table} HAVING MAX(id) > 0"
                )
    return copied


def _copy_table(source: Database, target: Database, table: str) -> int:
    cursor = source.execute(f"SELECT * FROM {table}")
    columns = [column[0] for column in cursor.description]
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    count = 0
    while rows := cursor.fetchmany(BATCH):
        target.executemany(insert, [tuple(row) for row in rows])
        count += len(rows)
    return count
