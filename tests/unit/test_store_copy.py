"""Moving an instance from SQLite to PostgreSQL keeps every row, every id and every file's place."""

import pytest

from operations import library
from pipeline.types import Exchange, Segment, Transcript, Turn, Word
from store import db


def fill(conn: db.Database, data_dir) -> int:
    """A small but complete library: a transcribed video with a cut exchange, a renamed speaker, a logout."""
    with db.transaction(conn):
        video_id = library.create_video(conn, library.VideoRequest(url="https://example.org/v", auto=True))
        db.update_video(conn, video_id, title="Talk", duration=61.125, video_path=str(data_dir / "downloads/1/v.mp4"))
        words = (Word(0.0, 0.4, " Why", 0.9, "SPEAKER_00"), Word(0.5, 1.0, " not?", 0.8, "SPEAKER_00"))
        segment = Segment(0.0, 1.0, " Why not?", words, "SPEAKER_00")
        db.replace_segments(conn, video_id, [segment])
        db.save_raw_transcript(conn, video_id, Transcript((segment,), "en", 1.0))
        db.replace_turns(conn, video_id, [Turn(0.0, 1.0, "SPEAKER_00")])
        db.ensure_speakers(conn, video_id, ["SPEAKER_00"])
        db.rename_speaker(conn, video_id, "SPEAKER_00", "Ada")
        exchange_id = db.insert_exchange(conn, video_id, "man_1", "manual", Exchange(0.0, 1.0, "Why not?", "A", "B"))
        db.insert_steps(conn, video_id, ["cut_clips"], exchange_id)
        db.replace_clips(conn, exchange_id, [{"position": 0, "kind": "exchange", "start_time": 0.0, "end_time": 1.0,
                                              "path": str(data_dir / "clips/1/1/a.mp4")}])  # fmt: skip
        db.end_all_sessions(conn)
        db.replace_voices(conn, video_id, {"SPEAKER_00": ((0.6, 0.8), 12.5)})
        person = db.insert_person(conn, "Ada")
        db.link_speaker(conn, video_id, "SPEAKER_00", person, "Ada")
        db.reject_suggestion(conn, video_id, "SPEAKER_00", db.insert_person(conn, "Not Ada"))
    return video_id


def dump(conn: db.Database) -> dict[str, list[tuple]]:
    return {table: sorted(tuple(row) for row in conn.execute(f"SELECT * FROM {table}")) for table in db.TABLES}


def test_a_sqlite_library_arrives_whole_in_postgresql(tmp_path, postgres):
    data_dir = tmp_path / "data"
    source = db.open_database(tmp_path / "clipper.db", data_dir)
    video_id = fill(source, data_dir)
    target = db.connect(postgres.new_database(), data_dir)
    copied = db.copy_store(source, target, report=lambda _line: None)

    assert copied["videos"] == 1 and copied["words"] == 2 and copied["clips"] == 1
    assert copied["people"] == 2 and copied["voices"] == 1 and copied["voice_rejections"] == 1
    assert set(db.TABLES) == set(db_tables(source)), "every table of the store is copied"
    assert dump(target) == dump(source)
    assert db.get_video(target, video_id).video_path == str(data_dir / "downloads/1/v.mp4")
    assert db.session_generation(target) == "1"  # logged-out sessions stay logged out
    with db.transaction(target):  # new rows continue after the copied ids
        assert library.create_video(target, library.VideoRequest(url="https://example.org/w")) == video_id + 1


def test_copying_into_a_database_with_videos_is_refused(tmp_path, postgres):
    source = db.open_database(tmp_path / "clipper.db", tmp_path)
    fill(source, tmp_path)
    target = db.connect(postgres.new_database(), tmp_path)
    db.copy_store(source, target, report=lambda _line: None)
    with pytest.raises(ValueError, match="already has videos"):
        db.copy_store(source, target, report=lambda _line: None)


def test_the_command_copies_this_instance_and_says_what_to_set(tmp_path, postgres, monkeypatch, capsys):
    import copy_database

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLASK_SECRET_KEY", "x")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_PATH", raising=False)
    fill(db.open_database(tmp_path / "data" / "clipper.db", tmp_path / "data"), tmp_path / "data")
    url = postgres.new_database()
    assert copy_database.main([url]) == 0
    assert f"set DATABASE_URL={url}" in capsys.readouterr().out
    assert db.count_videos(db.connect(url)) == 1
    assert copy_database.main([url]) == 1 and "already has videos" in capsys.readouterr().err


def db_tables(conn: db.Database) -> list[str]:
    """The store's own tables in SQLite (the search index and its shadow tables are rebuilt, not copied)."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [row[0] for row in rows if not row[0].startswith("segments_search")]
