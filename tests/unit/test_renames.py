"""Names changed in the schema (migrations 15, 16 and 17) carry every existing row over, on SQLite and PostgreSQL."""

from __future__ import annotations

import store.engine
import store.exchanges
import store.schema
import store.steps
import store.videos
from pipeline.subtitles import burned_caption_style
from store import migrations

BEFORE_RENAMES = 14
BEFORE_CAPTIONS = 16


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


# burn_subtitles and caption_style as a Q&A could hold them, and the one choice each becomes
OLD_CHOICES = {
    "man_1": (None, "plain", None),  # never chosen: the setting decides
    "man_2": (None, "highlight", None),
    "man_3": (0, "pop", "none"),
    "man_4": (1, "plain", "clean"),
    "man_5": (1, "words", "highlight"),
    "man_6": (1, "pop", "pop"),
    "man_7": (1, "bilingual", "bilingual"),
}


def test_a_library_from_before_captions_keeps_each_qas_caption_choice(database_location, monkeypatch):
    monkeypatch.setattr(store.schema, "MIGRATIONS", migrations.MIGRATIONS[:BEFORE_CAPTIONS])
    conn = store.schema.open_database(database_location)
    with store.engine.transaction(conn):
        conn.execute(
            "INSERT INTO videos (url, resolution, created_at) VALUES (?, 'best', ?)",
            ("https://example.org/a", store.engine.now()),
        )
        video_id = conn.execute("SELECT id FROM videos").fetchone()[0]
        for start, (label, (burn, style, _)) in enumerate(OLD_CHOICES.items()):
            conn.execute(
                "INSERT INTO exchanges (video_id, label, kind, start_time, end_time, burn_subtitles, caption_style, "
                "created_at) VALUES (?, ?, 'manual', ?, ?, ?, ?, ?)",
                (video_id, label, float(start), start + 0.5, burn, style, store.engine.now()),
            )
    monkeypatch.setattr(store.schema, "MIGRATIONS", migrations.MIGRATIONS)

    store.schema.migrate(conn)

    chosen = {exchange.label: exchange.captions for exchange in store.exchanges.list_exchanges(conn, video_id)}
    assert chosen == {label: captions for label, (_, _, captions) in OLD_CHOICES.items()}
    burned = {label: burned_caption_style(captions, burn_by_default=True) for label, captions in chosen.items()}
    assert burned == {
        "man_1": "clean",
        "man_2": "clean",
        "man_3": None,
        "man_4": "clean",
        "man_5": "highlight",
        "man_6": "pop",
        "man_7": "bilingual",
    }
    columns = [column[0] for column in conn.execute("SELECT * FROM exchanges").description]
    assert "captions" in columns and "burn_subtitles" not in columns and "caption_style" not in columns
    conn.close()
