"""Names changed in the schema (migrations 15 and 16) carry every existing row over, on SQLite and PostgreSQL."""

from __future__ import annotations

import store.engine
import store.schema
import store.steps
import store.videos
from store import migrations

BEFORE_RENAMES = 14


def test_a_library_from_before_the_renames_keeps_its_choices_and_its_steps(database_location, monkeypatch):
    monkeypatch.setattr(store.schema, "MIGRATIONS", migrations.MIGRATIONS[:BEFORE_RENAMES])
    conn = store.schema.open_database(database_location)
    with store.engine.transaction(conn):
        conn.execute(
            "INSERT INTO videos (url, resolution, auto, clips, created_at) "
            "VALUES (?, 'best', 1, 1, ?), (?, 'best', 0, 0, ?)",
            ("https://example.org/a", store.engine.now(), "https://example.org/b", store.engine.now()),
        )
        first = conn.execute("SELECT id FROM videos WHERE url = 'https://example.org/a'").fetchone()[0]
        store.steps.insert_steps(conn, first, ["process_diarization"], None)
    monkeypatch.setattr(store.schema, "MIGRATIONS", migrations.MIGRATIONS)

    store.schema.migrate(conn)

    wanted = {video.url: (video.wants_whole_pipeline, video.wants_clips) for video in store.videos.list_videos(conn)}
    assert wanted == {"https://example.org/a": (True, True), "https://example.org/b": (False, False)}
    assert [step.name for step in store.steps.steps_of_video(conn, first)] == ["label_speakers"]
    conn.close()
