"""Moving an instance from SQLite to PostgreSQL keeps every row, every id and every file's place."""

import pytest

import store.clips
import store.copy
import store.engine
import store.exchanges
import store.schema
import store.sessions
import store.speakers
import store.steps
import store.transcripts
import store.videos
from operations import videos
from pipeline.types import Exchange, Segment, Transcript, Turn, Word


def fill(conn: store.engine.Database, data_dir) -> int:
    """A small but complete library: a transcribed video with a cut exchange, a renamed speaker, a logout."""
    with store.engine.transaction(conn):
        video_id = videos.create_video(
            conn, videos.VideoRequest(url="https://example.org/v", wants_whole_pipeline=True)
        )
        store.videos.update_video(
            conn, video_id, title="Talk", duration=61.125, video_path=str(data_dir / "downloads/1/v.mp4")
        )
        words = (Word(0.0, 0.4, " Why", 0.9, "SPEAKER_00"), Word(0.5, 1.0, " not?", 0.8, "SPEAKER_00"))
        segment = Segment(0.0, 1.0, " Why not?", words, "SPEAKER_00")
        store.transcripts.replace_segments(conn, video_id, [segment])
        store.transcripts.save_raw_transcript(conn, video_id, Transcript((segment,), "en", 1.0))
        store.transcripts.replace_turns(conn, video_id, [Turn(0.0, 1.0, "SPEAKER_00")])
        store.speakers.ensure_speakers(conn, video_id, ["SPEAKER_00"])
        store.speakers.rename_speaker(conn, video_id, "SPEAKER_00", "Ada")
        exchange_id = store.exchanges.insert_exchange(
            conn, video_id, "man_1", "manual", Exchange(0.0, 1.0, "Why not?", "A", "B")
        )
        store.steps.insert_steps(conn, video_id, ["cut_clips"], exchange_id)
        store.clips.replace_clips(
            conn,
            exchange_id,
            [
                {
                    "position": 0,
                    "kind": "exchange",
                    "start_time": 0.0,
                    "end_time": 1.0,
                    "path": str(data_dir / "clips/1/1/a.mp4"),
                }
            ],
        )
        store.sessions.end_all_sessions(conn)
        store.speakers.replace_voices(conn, video_id, {"SPEAKER_00": ((0.6, 0.8), 12.5)})
        person = store.speakers.insert_person(conn, "Ada")
        store.speakers.link_speaker(conn, video_id, "SPEAKER_00", person, "Ada")
        store.speakers.reject_suggestion(conn, video_id, "SPEAKER_00", store.speakers.insert_person(conn, "Not Ada"))
    return video_id


def dump(conn: store.engine.Database) -> dict[str, list[tuple]]:
    return {table: sorted(tuple(row) for row in conn.execute(f"SELECT * FROM {table}")) for table in store.copy.TABLES}


def test_a_sqlite_library_arrives_whole_in_postgresql(tmp_path, postgres):
    data_dir = tmp_path / "data"
    source = store.schema.open_database(tmp_path / "clipper.db", data_dir)
    video_id = fill(source, data_dir)
    target = store.engine.connect(postgres.new_database(), data_dir)
    copied = store.copy.copy_store(source, target, report=lambda _line: None)

    assert copied["videos"] == 1 and copied["words"] == 2 and copied["clips"] == 1
    assert copied["people"] == 2 and copied["voices"] == 1 and copied["voice_rejections"] == 1
    assert set(store.copy.TABLES) == set(db_tables(source)), "every table of the store is copied"
    assert dump(target) == dump(source)
    assert store.videos.get_video(target, video_id).video_path == str(data_dir / "downloads/1/v.mp4")
    assert store.sessions.session_generation(target) == "1"  # logged-out sessions stay logged out
    with store.engine.transaction(target):  # new rows continue after the copied ids
        assert videos.create_video(target, videos.VideoRequest(url="https://example.org/w")) == video_id + 1


def test_copying_into_a_database_with_videos_is_refused(tmp_path, postgres):
    source = store.schema.open_database(tmp_path / "clipper.db", tmp_path)
    fill(source, tmp_path)
    target = store.engine.connect(postgres.new_database(), tmp_path)
    store.copy.copy_store(source, target, report=lambda _line: None)
    with pytest.raises(ValueError, match="already has videos"):
        store.copy.copy_store(source, target, report=lambda _line: None)


def test_the_command_copies_this_instance_and_says_what_to_set(tmp_path, postgres, monkeypatch, capsys):
    import copy_database

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLASK_SECRET_KEY", "x")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_PATH", raising=False)
    fill(store.schema.open_database(tmp_path / "data" / "clipper.db", tmp_path / "data"), tmp_path / "data")
    url = postgres.new_database()
    assert copy_database.main([url]) == 0
    assert f"set DATABASE_URL={url}" in capsys.readouterr().out
    assert store.videos.count_videos(store.engine.connect(url)) == 1
    assert copy_database.main([url]) == 1 and "already has videos" in capsys.readouterr().err


def db_tables(conn: store.engine.Database) -> list[str]:
    """The store's own tables in SQLite (the search index and its shadow tables are rebuilt, not copied)."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [row[0] for row in rows if not row[0].startswith("segments_search")]
