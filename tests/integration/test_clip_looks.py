"""A Q&A's look chosen through the API (shape, captions, their place and names), previewed before cutting,
and cut that way by the cut_clips step: each clip at 1080×1920, saying it was enlarged from 720 lines."""

from __future__ import annotations

import io
import os
from pathlib import Path
from types import SimpleNamespace

import av
import pytest

import store.clips
import store.engine
import store.exchanges
import store.speakers
import store.transcripts
import store.videos
from operations import videos
from operations.exchanges import create_exchange
from pipeline import media, subtitles
from pipeline.errors import StepError
from pipeline.types import Exchange, Segment, Transcript, Word
from tasks import clip_steps
from tests.integration.test_platform_clips import caption_mask, rgb_frames, text_lines
from tests.support.media_factory import make_talk_video
from tests.support.step_contexts import clip_step_context

ROOT = Path(__file__).resolve().parents[2]
SPEECH = ROOT.parent / "shared" / "devset" / "ibm_interview1.wav"
A, B = "SPEAKER_00", "SPEAKER_01"


def spoken(start: float, end: float, text: str, speaker: str) -> Segment:
    texts = text.split()
    slot = (end - start) / len(texts)
    words = tuple(
        Word(round(start + i * slot, 3), round(start + (i + 0.8) * slot, 3), t, 0.9, speaker)
        for i, t in enumerate(texts)
    )
    return Segment(start, end, text, words, speaker)


@pytest.fixture
def talk(app, app_conn, tmp_path):
    """A 720p video of real speech with a transcript, two named speakers and one Q&A."""
    if not SPEECH.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the dev set is missing at {SPEECH.parent}")
        pytest.skip(f"the dev set is not at {SPEECH.parent}")
    source = make_talk_video(tmp_path / "talk.mp4", SPEECH, duration=16.0)
    conn = app_conn
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url="https://example.org/talk"))
        store.videos.update_video(conn, video_id, title="Harbour talk", duration=16.0, video_path=str(source))
        store.transcripts.replace_segments(
            conn,
            video_id,
            [
                spoken(1.0, 4.0, "So what brought you to the harbour today?", A),
                spoken(4.5, 13.5, "We came for the boats and stayed for the people who build them by hand", B),
            ],
        )
        store.speakers.ensure_speakers(conn, video_id, [A, B])
        exchange_id = create_exchange(conn, video_id, "spkchg_1", "auto", Exchange(1.0, 13.5, "", A, B))
    return SimpleNamespace(video_id=video_id, exchange_id=exchange_id, source=source)


def test_old_caption_names_are_accepted_and_bad_looks_refused(client, talk):
    url = f"/api/exchanges/{talk.exchange_id}"
    assert client.patch(url, json={"captions": "plain"}).get_json()["captions"] == "clean"
    changed = client.patch(url, json={"captions": "words", "shape": "square"}).get_json()
    assert (changed["captions"], changed["shape"]) == ("highlight", "square")
    assert changed["caption_names"] is False, "names are off by default in a platform shape"
    assert client.patch(url, json={"shape": "original"}).get_json()["caption_names"] is True
    for wrong in ({"shape": "portrait"}, {"caption_position": "left"}, {"caption_names": "yes"}, {"crop_x": 2}):
        response = client.patch(url, json=wrong)
        assert response.status_code == 400, wrong
        assert next(iter(wrong)) in response.get_json()["error"]


def test_the_preview_is_the_clips_first_frame_with_the_looks_captions(client, talk):
    url = f"/api/exchanges/{talk.exchange_id}/preview.jpg"
    for query, size in (
        ("shape=vertical&captions=pop", (360, 640)),
        ("shape=square&captions=clean", (640, 640)),
        ("captions=none", (1138, 640)),
    ):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200 and response.mimetype == "image/jpeg", query
        assert response.headers["Cache-Control"] == "no-store"
        with av.open(io.BytesIO(response.data)) as container:
            frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == size
    assert client.get(f"{url}?captions=bogus").status_code == 400
    assert client.get(f"{url}?zoom=2").status_code == 400
    talk.source.unlink()
    gone = client.get(url)
    assert gone.status_code == 409 and "not downloaded" in gone.get_json()["error"]


def test_clips_are_cut_with_the_chosen_look_and_say_they_were_upscaled(app, client, app_conn, talk):
    look = {"shape": "vertical", "crop_x": 0.2, "captions": "pop", "caption_position": "top", "caption_names": True}
    assert client.patch(f"/api/exchanges/{talk.exchange_id}", json=look).status_code == 200
    conn = app_conn
    ctx = clip_step_context(app.config["SETTINGS"], conn, talk.video_id, talk.exchange_id)
    clip_steps._label_speakers(ctx)
    clip_steps._define_clips(ctx)
    clip_steps._cut_clips(ctx)

    rows = store.clips.list_clips(conn, talk.exchange_id)
    assert rows and all((row.width, row.height, row.upscaled_from) == (1080, 1920, 720) for row in rows)
    assert all(row.burned_captions for row in rows)
    for row in rows:
        info = media.probe(row.path)
        assert (info.width, info.height) == (1080, 1920) and info.has_audio and info.audio_rate == 48_000
    ass = Path(rows[0].path).with_suffix(".ass").read_text()
    style = next(line for line in ass.splitlines() if line.startswith("Style: "))
    assert "PlayResY: 1920" in ass and style.split(",")[18] == "8", "at the top, as asked"
    assert "Speaker 1:" in ass, "names asked for"
    clips = client.get(f"/api/exchanges/{talk.exchange_id}/clips").get_json()["clips"]
    assert all((clip["width"], clip["height"], clip["upscaled_from"]) == (1080, 1920, 720) for clip in clips)
    page = client.get(f"/videos/{talk.video_id}").get_data(as_text=True)
    assert "upscaled from 720p" in page and "1080×1920" in page


def test_bilingual_captions_need_the_english_subtitles_then_show_them_under_the_words(app, client, app_conn, talk):
    """Two lines at most (the words, their English smaller under them), clear of a phone feed's buttons."""
    conn = app_conn
    assert 'value="bilingual"' not in client.get(f"/videos/{talk.video_id}").get_data(as_text=True), "English"
    with store.engine.transaction(conn):
        store.videos.update_video(conn, talk.video_id, language="es")
        store.transcripts.replace_segments(
            conn,
            talk.video_id,
            [
                spoken(1.0, 4.0, "¿Qué te trajo al puerto hoy?", A),
                spoken(4.5, 9.0, "Vinimos por los barcos y nos quedamos por la gente", B),
            ],
        )
    page = client.get(f"/videos/{talk.video_id}").get_data(as_text=True)
    assert 'value="bilingual"' in page, "offered: the video is not in English"
    look = {"shape": "vertical", "captions": "bilingual"}
    assert client.patch(f"/api/exchanges/{talk.exchange_id}", json=look).get_json()["captions"] == "bilingual"
    with store.engine.transaction(conn):
        store.exchanges.update_exchange(conn, talk.exchange_id, start_time=1.0, end_time=9.0)
    ctx = clip_step_context(app.config["SETTINGS"], conn, talk.video_id, talk.exchange_id)
    clip_steps._label_speakers(ctx)
    clip_steps._define_clips(ctx)
    with pytest.raises(StepError, match="run English subtitles"):
        clip_steps._cut_clips(ctx)
    english = (
        Segment(1.0, 4.0, " What brought you to the {harbour} today?"),
        Segment(4.5, 9.0, " We came for the boats and stayed for the people"),
    )
    with store.engine.transaction(conn):
        store.transcripts.save_translation(conn, talk.video_id, Transcript(english, "es", 16.0))
    clip_steps._cut_clips(ctx)

    row = next(row for row in store.clips.list_clips(conn, talk.exchange_id) if row.kind == "exchange")
    ass = Path(row.path).with_suffix(".ass").read_text()
    assert "(harbour)" in ass and "{harbour}" not in ass and "\\N{\\fs39}" in ass, "English under, smaller"
    small = round(subtitles.caption_style("bilingual").english_size * 1080)
    lines = []
    for picture in rgb_frames(Path(row.path)):
        drawn = caption_mask(picture)
        assert not drawn[round(1920 * 0.8) :].any(), "a caption in the bottom fifth"
        assert not drawn[:, round(1080 * 0.85) :].any(), "a caption in the right 15%"
        lines.append(text_lines(picture, small))
    assert max(lines) == 2, "the words and their English, never more"
