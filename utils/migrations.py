"""The database schema as an ordered list of migrations; `PRAGMA user_version` records how many ran.

Append new migrations at the end; never edit one that has shipped, so upgrading keeps data.
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: videos and their steps
    """
    CREATE TABLE videos (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        url TEXT NOT NULL,
        title TEXT,
        uploader TEXT,
        duration REAL,
        thumbnail_url TEXT,
        thumbnail_path TEXT,
        resolution TEXT NOT NULL DEFAULT 'best',
        width INTEGER,
        height INTEGER,
        video_path TEXT,
        audio_path TEXT,
        auto INTEGER NOT NULL DEFAULT 0,
        num_speakers INTEGER,
        min_speakers INTEGER,
        max_speakers INTEGER,
        created_at TEXT NOT NULL
    );
    CREATE INDEX videos_created ON videos (created_at DESC, id DESC);

    CREATE TABLE steps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
        exchange_id INTEGER,
        name TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        progress REAL NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        task_id TEXT,
        queued_at TEXT,
        started_at TEXT,
        finished_at TEXT,
        updated_at TEXT
    );
    CREATE UNIQUE INDEX steps_identity ON steps (video_id, COALESCE(exchange_id, 0), name);
    CREATE INDEX steps_state ON steps (state);
    """,
)
