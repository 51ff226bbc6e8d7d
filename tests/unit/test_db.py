import threading

import store.engine
import store.schema
import store.steps
import store.transcripts
import store.videos
from store import migrations


def test_fresh_database_reaches_latest_schema(tmp_path):
    conn = store.schema.open_database(tmp_path / "a.db")
    assert store.schema.schema_version(conn) == len(migrations.MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_upgrade_keeps_existing_rows(database_location, monkeypatch):
    path = database_location
    conn = store.schema.open_database(path)
    with store.engine.transaction(conn):
        video_id = store.videos.insert_video(conn, url="https://example.org/v", resolution="720")
    conn.close()
    later = (*migrations.MIGRATIONS, "ALTER TABLE videos ADD COLUMN note TEXT")
    monkeypatch.setattr(store.schema, "MIGRATIONS", later)
    conn = store.schema.open_database(path)
    assert store.schema.schema_version(conn) == len(later)
    row = conn.execute("SELECT url, note FROM videos WHERE id = ?", (video_id,)).fetchone()
    assert row["url"] == "https://example.org/v" and row["note"] is None


def test_migrating_from_many_threads_at_once_is_safe(database_location):
    """Web and workers start in any order: the migrations run once, whoever comes first."""
    errors = []

    def open_one():
        try:
            store.schema.open_database(database_location).close()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    conn = store.engine.connect(database_location)
    assert store.schema.schema_version(conn) == len(migrations.MIGRATIONS)
    assert [row[0] for row in conn.execute("SELECT value FROM auth_state")] == ["0"]  # migration 2 ran once


def test_deleting_a_video_deletes_its_steps(database_location):
    conn = store.schema.open_database(database_location)
    with store.engine.transaction(conn):
        video_id = store.videos.insert_video(conn, url="https://example.org/v")
        store.steps.insert_steps(conn, video_id, ["download", "audio"])
    assert len(store.steps.steps_of(conn, [video_id])) == 2
    with store.engine.transaction(conn):
        store.videos.delete_video(conn, video_id)
    assert store.steps.steps_of(conn, [video_id]) == []


def test_failed_transaction_rolls_back(database_location):
    conn = store.schema.open_database(database_location)
    try:
        with store.engine.transaction(conn):
            store.videos.insert_video(conn, url="https://example.org/v")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.videos.count_videos(conn) == 0


def test_the_unaligned_transcript_is_kept_in_the_database_and_goes_with_its_video(database_location):
    from pipeline.types import Segment, Transcript, Word

    conn = store.schema.open_database(database_location)
    with store.engine.transaction(conn):
        video_id = store.videos.insert_video(conn, url="https://example.org/v")
    assert store.transcripts.get_raw_transcript(conn, video_id) is None
    transcript = Transcript(
        (Segment(0.0, 1.0, " Hi there", (Word(0.0, 0.4, " Hi", 0.9), Word(0.5, 1.0, " there", 0.8))),), "en", 1.0
    )
    with store.engine.transaction(conn):
        store.transcripts.save_raw_transcript(conn, video_id, transcript)
    assert store.transcripts.get_raw_transcript(conn, video_id) == transcript
    with store.engine.transaction(conn):
        store.videos.delete_video(conn, video_id)
    assert conn.execute("SELECT COUNT(*) FROM raw_transcripts").fetchone()[0] == 0


def test_every_column_has_a_field_in_its_record(tmp_path):
    """The records are the only view of the rows outside the store: none may miss a column."""
    from dataclasses import fields

    from store import records

    conn = store.schema.open_database(tmp_path / "columns.db")
    tables = {
        "videos": records.VideoRecord,
        "steps": records.StepRecord,
        "exchanges": records.ExchangeRecord,
        "clips": records.ClipRecord,
    }
    for table, record in tables.items():
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        assert columns == {field.name for field in fields(record)}, table


def test_every_column_has_a_field_on_postgresql_too(postgres):
    from dataclasses import fields

    from store import records

    conn = store.schema.open_database(postgres.new_database())
    for table, record in {"videos": records.VideoRecord, "clips": records.ClipRecord}.items():
        rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", (table,))
        assert {row[0] for row in rows} == {field.name for field in fields(record)}, table


def test_times_keep_their_milliseconds_on_both_databases(database_location):
    """Seconds into a 4-hour recording keep their milliseconds (PostgreSQL's REAL would round them)."""
    conn = store.schema.open_database(database_location)
    with store.engine.transaction(conn):
        video_id = store.videos.insert_video(conn, url="https://example.org/v", duration=14399.125)
    assert store.videos.get_video(conn, video_id).duration == 14399.125


def test_file_paths_are_stored_relative_to_the_data_folder(database_location, tmp_path):
    """Hosts mount the shared folder at different places: each reads the same row as a path under its own."""
    here, there = tmp_path / "here", tmp_path / "there"
    conn = store.schema.open_database(database_location, data_dir=here)
    with store.engine.transaction(conn):
        video_id = store.videos.insert_video(
            conn, url="https://example.org/v", video_path=str(here / "downloads/1/v.mp4")
        )
    stored = conn.execute("SELECT video_path FROM videos WHERE id = ?", (video_id,)).fetchone()[0]
    assert stored == "downloads/1/v.mp4"
    assert store.videos.get_video(conn, video_id).video_path == str(here / "downloads/1/v.mp4")
    assert store.videos.get_video(store.engine.connect(database_location, data_dir=there), video_id).video_path == str(
        there / "downloads/1/v.mp4"
    )


def test_a_path_outside_the_data_folder_is_kept_whole(database_location, tmp_path):
    conn = store.schema.open_database(database_location, data_dir=tmp_path / "data")
    with store.engine.transaction(conn):
        video_id = store.videos.insert_video(conn, url="https://example.org/v", video_path="/elsewhere/v.mp4")
    assert store.videos.get_video(conn, video_id).video_path == "/elsewhere/v.mp4"


def test_a_postgresql_row_reads_by_name_and_by_position(postgres):
    conn = store.schema.open_database(postgres.new_database())
    row = conn.execute("SELECT 1 AS one, 'two' AS two").fetchone()
    assert (row["one"], row["two"], row[0], row[1]) == (1, "two", 1, "two")


def test_paths_stored_whole_before_are_made_relative_at_start_up(database_location, tmp_path):
    """An instance upgraded from whole paths: those under DATA_DIR become relative, others stay."""
    data = tmp_path / "data"
    conn = store.schema.open_database(database_location)  # no DATA_DIR: paths go in as given, as they used to
    with store.engine.transaction(conn):
        inside = store.videos.insert_video(
            conn, url="https://example.org/a", video_path=str(data / "downloads/1/v.mp4")
        )
        outside = store.videos.insert_video(conn, url="https://example.org/b", video_path="/media/elsewhere/v.mp4")
    conn = store.engine.connect(database_location, data_dir=data)
    assert store.schema.relativize_paths(conn) == 1
    stored = dict(conn.execute("SELECT id, video_path FROM videos").fetchall())
    assert stored == {inside: "downloads/1/v.mp4", outside: "/media/elsewhere/v.mp4"}
    assert store.schema.relativize_paths(conn) == 0
