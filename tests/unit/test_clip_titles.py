"""Clip titles: the question, shortened, on every clip the define_clips step plans; shown on the Clips page,
in the API and in the names of downloaded files; clips planned before titles existed take their question."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import store.clips
import store.engine
import store.schema
import store.speakers
import store.transcripts
import store.videos
from operations import presenters, videos
from operations.clips import clips_in_library
from operations.exchanges import create_exchange
from operations.step_service import StepService
from operations.unit_of_work import UnitOfWork
from pipeline.types import Exchange, Segment, Word
from store import migrations
from tasks import clip_steps
from tests.support.step_contexts import clip_step_context

A, B = "SPEAKER_00", "SPEAKER_01"
QUESTION = "How real is artificial intelligence today, and how far along is IBM Watson in it?"
SHORT = "How real is artificial intelligence today, and how far…"


def spoken(start: float, end: float, text: str, speaker: str) -> Segment:
    """A segment whose words share its time evenly."""
    texts = text.split()
    slot = (end - start) / len(texts)
    words = tuple(
        Word(round(start + i * slot, 3), round(start + (i + 0.8) * slot, 3), t, 0.9, speaker)
        for i, t in enumerate(texts)
    )
    return Segment(start, end, text, words, speaker)


def clip(kind: str = "speaker", title: str | None = QUESTION, start: float = 5.0, end: float = 77.0):
    return SimpleNamespace(kind=kind, title=title, start_time=start, end_time=end)


# ---- presenters --------------------------------------------------------------------------------


def test_a_clip_title_is_the_question_and_for_a_speaker_clip_who_speaks_within_60_characters():
    assert presenters.clip_title(clip("exchange"), None, "spkchg_3") == SHORT
    ada = presenters.clip_title(clip(), "Ada Lovelace", "spkchg_3")
    assert ada.endswith(" — Ada Lovelace") and len(ada) <= 60
    long_name = presenters.clip_title(clip(), "Augusta Ada King, Countess of Lovelace", "spkchg_3")
    assert len(long_name) <= 60 and "— Augusta Ada King" in long_name
    assert presenters.clip_title(clip(title="Why?"), "Ada", "spkchg_3") == "Why? — Ada"
    assert presenters.clip_title(clip(title=None), "Ada", "man_2") == "Manual Q&A 2 — Ada"
    assert presenters.clip_title(clip("exchange", title=""), None, "spkchg_4") == "Q&A 4"


def test_a_clip_file_is_named_after_its_title_in_safe_characters():
    named = presenters.clip_file_name("Harbour talk", "spkchg_3", clip(title='Why? "Really" / <now>'), "Ada", "mp4")
    assert named == "Why_Really_now_QA3_Ada_1m12s.mp4"
    whole = presenters.clip_file_name("Harbour talk", "spkchg_3", clip("exchange"), None, "mp4")
    assert whole.startswith("How_real_is_artificial_intelligence") and whole.endswith("_QA3_1m12s.mp4")
    assert len(whole.split("_QA3_")[0]) <= 60
    untitled = presenters.clip_file_name("Harbour talk", "man_1", clip("exchange", title=None), None, "srt")
    assert untitled == "Harbour_talk_QA-manual1_1m12s.srt"


# ---- the define_clips step, the API and the Clips page -----------------------------------------


@pytest.fixture
def conn(app_conn):
    return app_conn


def test_define_clips_titles_every_clip_and_the_page_and_the_api_show_it(client, conn, app, tmp_path):
    segments = [
        spoken(0.0, 5.0, QUESTION, A),
        spoken(5.5, 11.0, "It is real in some fields.", B),
        spoken(12.5, 18.0, "And it gets better every year.", B),  # a pause: still the same turn
    ]
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url="https://example.org/talk"))
        store.videos.update_video(conn, video_id, title="Harbour talk", duration=60.0)
        store.transcripts.replace_segments(conn, video_id, segments)
        store.speakers.ensure_speakers(conn, video_id, [A, B])
        exchange_id = create_exchange(conn, video_id, "spkchg_1", "auto", Exchange(0.0, 18.0, QUESTION, A, B))
    ctx = clip_step_context(app.config["SETTINGS"], conn, video_id, exchange_id)
    clip_steps._label_speakers(ctx)
    clip_steps._define_clips(ctx)

    rows = store.clips.list_clips(conn, exchange_id)
    assert [(row.kind, row.speaker) for row in rows] == [("exchange", None), ("speaker", A), ("speaker", B)]
    assert {row.title for row in rows} == {SHORT}
    body = client.get(f"/api/exchanges/{exchange_id}/clips").get_json()
    titles = [item["title"] for item in body["clips"]]
    assert titles == [
        SHORT,
        "How real is artificial intelligence today, and… — Speaker 1",
        "How real is artificial intelligence today, and… — Speaker 2",
    ]
    assert all(item["download_name"].startswith("How_real_is_artificial_intelligence") for item in body["clips"])

    with store.engine.transaction(conn):
        for row in rows:
            mp4 = tmp_path / f"{row.id}.mp4"
            mp4.write_bytes(b"mp4")
            store.clips.update_clip(conn, row.id, path=str(mp4))
    html = client.get(f"/clips?video={video_id}").get_data(as_text=True)
    assert html.count(f'clip-title">{SHORT}<') == 1 and html.count("clip-title") == 3
    assert (clips_in_library(UnitOfWork(conn, StepService(conn)), video_id)[0].title or "").startswith("How real")


def test_clips_planned_before_titles_take_their_question(database_location, monkeypatch):
    monkeypatch.setattr(store.schema, "MIGRATIONS", migrations.MIGRATIONS[:10])
    conn = store.schema.open_database(database_location)
    with store.engine.transaction(conn):
        video_id = store.videos.insert_video(conn, url="https://example.org/v", resolution="720")
        exchange_id = create_exchange(conn, video_id, "spkchg_1", "auto", Exchange(0, 9, "Why?", A, B))
        conn.execute(
            "INSERT INTO clips (exchange_id, position, kind, start_time, end_time, created_at) "
            "VALUES (?, 0, 'exchange', 0, 9, ?)",
            (exchange_id, store.engine.now()),
        )
    conn.close()
    monkeypatch.setattr(store.schema, "MIGRATIONS", migrations.MIGRATIONS)
    conn = store.schema.open_database(database_location)
    (row,) = store.clips.list_clips(conn, exchange_id)
    assert row.title == "Why?" and presenters.clip_title(row, None, "spkchg_1") == "Why?"
    conn.close()
