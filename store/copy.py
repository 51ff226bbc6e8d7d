"""Copying a whole store from SQLite to PostgreSQL (or back) with its ids."""

from __future__ import annotations

from collections.abc import Callable

from store.engine import Database, transaction
from store.schema import migrate, relativize_paths
from store.videos import count_videos

# How an instance moves from SQLite to PostgreSQL (or back): rows keep their ids, so links to videos and
# clips stay valid; file paths are made relative to DATA_DIR first, so the media folder can move to a
# share as it is. `copy_database.py` runs it, with the app and its workers stopped.

# Parents before children: PostgreSQL checks every reference as a row arrives.
TABLES = (
    "videos",
    "exchanges",
    "steps",
    "segments",
    "words",
    "turns",
    "people",
    "speakers",
    "voices",
    "voice_rejections",
    "exchange_segments",
    "clips",
    "raw_transcripts",
    "translations",
    "auth_state",
)
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
