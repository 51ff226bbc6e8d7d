import threading

from utils.core import db, migrations


def test_fresh_database_reaches_latest_schema(tmp_path):
    conn = db.open_database(tmp_path / "a.db")
    assert db.schema_version(conn) == len(migrations.MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_upgrade_keeps_existing_rows(tmp_path, monkeypatch):
    path = tmp_path / "a.db"
    conn = db.open_database(path)
    with db.transaction(conn):
        video_id = db.insert_video(conn, url="https://example.org/v", resolution="720")
    conn.close()
    later = (*migrations.MIGRATIONS, "ALTER TABLE videos ADD COLUMN note TEXT")
    monkeypatch.setattr(db, "MIGRATIONS", later)
    conn = db.open_database(path)
    assert db.schema_version(conn) == len(later)
    row = conn.execute("SELECT url, note FROM videos WHERE id = ?", (video_id,)).fetchone()
    assert row["url"] == "https://example.org/v" and row["note"] is None


def test_migrating_from_many_threads_at_once_is_safe(tmp_path):
    errors = []

    def open_one():
        try:
            db.open_database(tmp_path / "race.db").close()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.schema_version(db.connect(tmp_path / "race.db")) == len(migrations.MIGRATIONS)


def test_deleting_a_video_deletes_its_steps(tmp_path):
    conn = db.open_database(tmp_path / "a.db")
    with db.transaction(conn):
        video_id = db.insert_video(conn, url="https://example.org/v")
        db.insert_steps(conn, video_id, ["download", "audio"])
    assert len(db.steps_of(conn, [video_id])) == 2
    with db.transaction(conn):
        db.delete_video(conn, video_id)
    assert db.steps_of(conn, [video_id]) == []


def test_failed_transaction_rolls_back(tmp_path):
    conn = db.open_database(tmp_path / "a.db")
    try:
        with db.transaction(conn):
            db.insert_video(conn, url="https://example.org/v")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert db.count_videos(conn) == 0


def test_the_unaligned_transcript_is_kept_in_the_database_and_goes_with_its_video(tmp_path):
    from utils.pipeline.types import Segment, Transcript, Word

    conn = db.open_database(tmp_path / "raw.db")
    with db.transaction(conn):
        video_id = db.insert_video(conn, url="https://example.org/v")
    assert db.get_raw_transcript(conn, video_id) is None
    transcript = Transcript(
        (Segment(0.0, 1.0, " Hi there", (Word(0.0, 0.4, " Hi", 0.9), Word(0.5, 1.0, " there", 0.8))),), "en", 1.0
    )
    with db.transaction(conn):
        db.save_raw_transcript(conn, video_id, transcript)
    assert db.get_raw_transcript(conn, video_id) == transcript
    with db.transaction(conn):
        db.delete_video(conn, video_id)
    assert conn.execute("SELECT COUNT(*) FROM raw_transcripts").fetchone()[0] == 0


def test_every_column_has_a_field_in_its_record(tmp_path):
    """The records are the only view of the rows outside the store: none may miss a column."""
    from dataclasses import fields

    from utils.core import records

    conn = db.open_database(tmp_path / "columns.db")
    tables = {
        "videos": records.VideoRecord, "steps": records.StepRecord, "exchanges": records.ExchangeRecord,
        "clips": records.ClipRecord,
    }  # fmt: skip
    for table, record in tables.items():
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        assert columns == {field.name for field in fields(record)}, table
