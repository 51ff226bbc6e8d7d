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
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from store.records import Record

BUSY_TIMEOUT_MS = 30_000
# Every writing transaction on PostgreSQL takes this one advisory lock first: writers queue up as they do
# on SQLite under BEGIN IMMEDIATE, so each read-then-write decision (claiming a step, re-queueing a lost
# one) sees no other writer between its read and its write. Writes are small and short; reads never wait.
WRITE_LOCK_KEY = 0x636C6970  # "clip"
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
# Columns holding a file under DATA_DIR: stored relative to it, handed out absolute.
PATH_TABLES = {
    "videos": ("thumbnail_path", "video_path", "audio_path"),
    "clips": ("path", "srt_path", "vtt_path", "poster_path"),
}
PATH_COLUMNS = frozenset(column for columns in PATH_TABLES.values() for column in columns)


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
        # psycopg's connection or sqlite3's: `execute` papers over their differences, the rest is dialect-checked.
        self._raw: Any = _open_postgres(str(location)) if self.dialect == "postgresql" else _open_sqlite(Path(location))

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
def _sqlite_transaction(conn: sqlite3.Connection) -> Iterator[None]:
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

    def __getitem__(self, key):
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
    @property
    def database(self) -> str: ...
    @property
    def data_dir(self) -> Path: ...


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


R = TypeVar("R", bound=Record)


def as_record(conn: Database, record: type[R], row: Any) -> R:
    """A row as its record, with stored file paths made paths on this host."""
    found = record.from_row(row)
    paths = {name: conn.local_path(getattr(found, name)) for name in PATH_COLUMNS if hasattr(found, name)}
    return dataclasses.replace(found, **paths) if paths else found  # type: ignore[type-var]  # R: a dataclass


def one_or_none(conn: Database, record: type[R], row: Any) -> R | None:
    return as_record(conn, record, row) if row is not None else None


def as_records(conn: Database, record: type[R], rows: Iterable[Any]) -> list[R]:
    return [as_record(conn, record, row) for row in rows]
