"""Copy a whole store into an empty one: how an instance moves from SQLite to PostgreSQL (or back).

Rows keep their ids, so links to videos and clips stay valid; file paths are made relative to DATA_DIR
first, so the media folder can move to a share as it is. Run with the app and its workers stopped:
`python copy_database.py postgresql://...`.
"""

from __future__ import annotations

from collections.abc import Callable

from utils.core import db

# Parents before children: PostgreSQL checks every reference as a row arrives.
TABLES = ("videos", "exchanges", "steps", "segments", "words", "turns", "speakers", "exchange_segments", "clips",
          "raw_transcripts", "auth_state")  # fmt: skip
WITH_IDS = ("videos", "exchanges", "steps", "segments", "words", "turns", "exchange_segments", "clips")
BATCH = 5000


def copy_store(source: db.Database, target: db.Database, report: Callable[[str], None] = print) -> dict[str, int]:
    """Copy every row of `source` into `target` (migrated here, and empty but for its seed rows)."""
    db.migrate(source)
    db.migrate(target)
    if db.count_videos(target):
        raise ValueError("the target database already has videos: copy into an empty one")
    if source.data_dir is not None:
        db.relativize_paths(source)
    copied = {}
    with db.transaction(target):
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


def _copy_table(source: db.Database, target: db.Database, table: str) -> int:
    cursor = source.execute(f"SELECT * FROM {table}")
    columns = [column[0] for column in cursor.description]
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    count = 0
    while rows := cursor.fetchmany(BATCH):
        target.executemany(insert, [tuple(row) for row in rows])
        count += len(rows)
    return count
