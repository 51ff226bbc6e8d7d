"""The HTML pages as a person sees them: dashboard, pagination, details, 404 and the error log."""

from __future__ import annotations

import re

import pytest

import store.clips
import store.engine
import store.speakers
import store.steps
import store.transcripts
import store.videos
from operations import videos
from operations.exchanges import create_exchange
from operations.step_service import StepService
from pipeline.types import Exchange, Segment, Word
from tests.support.common import EVIL


@pytest.fixture
def conn(app_conn):
    return app_conn


def add_videos(conn, count: int, **fields) -> list[int]:
    with store.engine.transaction(conn):
        ids = [videos.create_video(conn, videos.VideoRequest(url=f"https://example.org/v{n}")) for n in range(count)]
        for video_id in ids:
            store.videos.update_video(conn, video_id, **fields)
    return ids


def rows(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-video-id="(\d+)"', html)]


def test_dashboard_has_the_form_and_the_videos(client, conn):
    (video_id,) = add_videos(conn, 1, title="Interview with Ada", duration=3725)
    html = client.get("/").get_data(as_text=True)
    assert 'id="submit-form"' in html and 'id="urls"' in html and 'id="upload-file"' in html
    for resolution in ("best", "1080", "720", "480", "360"):
        assert f'<option value="{resolution}">' in html
    assert re.search(r'id="auto"[^>]*checked', html), "the whole pipeline runs by default"
    assert rows(html) == [video_id]
    assert "Interview with Ada" in html and "1:02:05" in html
    assert f'href="/videos/{video_id}"' in html
    for step in ("download", "audio", "transcribe", "diarize", "exchanges"):
        assert f'data-step="{step}" data-state="pending"' in html


def test_empty_dashboard_says_so(client):
    assert "No videos yet" in client.get("/").get_data(as_text=True)


def test_pages_use_only_local_assets(client):
    html = client.get("/").get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="([^"]+\.(?:css|js))"', html)
    assert assets and all(asset.startswith("/static/") for asset in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200
    font = client.get("/static/vendor/bootstrap-icons/fonts/bootstrap-icons.woff2")
    assert font.status_code == 200


def test_pagination_shows_fifty_newest_first(client, conn):
    ids = add_videos(conn, 120)
    first = client.get("/").get_data(as_text=True)
    assert rows(first) == sorted(ids, reverse=True)[:50]
    assert "Page 1 of 3" in first and 'href="/?page=2"' in first
    last = client.get("/?page=3").get_data(as_text=True)
    assert rows(last) == sorted(ids, reverse=True)[100:]
    assert rows(client.get("/?page=99").get_data(as_text=True)) == rows(last), "past the end shows the last page"
    assert rows(client.get("/partials/videos?page=2").get_data(as_text=True)) == sorted(ids, reverse=True)[50:100]


def test_titles_are_escaped_everywhere(client, conn, app):
    (video_id,) = add_videos(conn, 1, title=EVIL, uploader=EVIL)
    StepService(conn).fail(store.steps.find_step(conn, video_id, "download").id, f"yt-dlp said {EVIL}")
    for path in ("/", f"/videos/{video_id}", "/errors", "/partials/videos", "/partials/errors"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html or "\\u003cscript\\u003e" in html, path


def test_every_section_of_the_details_page_escapes_what_people_typed(client, conn):
    """Names, questions and transcript text come from people and from Whisper: never markup."""
    (video_id,) = add_videos(conn, 1, title=EVIL)
    segment = Segment(0.0, 2.0, EVIL, (Word(0.0, 2.0, EVIL, 0.9, "SPEAKER_00"),), "SPEAKER_00")
    with store.engine.transaction(conn):
        store.transcripts.replace_segments(conn, video_id, [segment])
        store.speakers.ensure_speakers(conn, video_id, ["SPEAKER_00"])
        store.speakers.rename_speaker(conn, video_id, "SPEAKER_00", EVIL)
        create_exchange(conn, video_id, "man_1", "manual", Exchange(0.0, 2.0, EVIL, "SPEAKER_00", ""))
    for section in ("panel", "speakers", "transcript", "exchanges", "clips"):
        response = client.get(f"/partials/videos/{video_id}/{section}")
        assert response.status_code == 200, section
        html = response.get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, section
    assert EVIL not in client.get(f"/partials/videos/{video_id}/transcript").get_data(as_text=True)
    assert client.get(f"/partials/videos/{video_id}/nothing").status_code == 404
    assert client.get("/partials/videos/987654/panel").status_code == 404


def test_details_page_shows_steps_with_their_buttons(client, conn):
    (video_id,) = add_videos(conn, 1, title="Panel", duration=61)
    html = client.get(f"/videos/{video_id}").get_data(as_text=True)
    assert "Panel" in html and 'id="player"' in html and 'id="control-panel"' in html
    assert re.search(r'class="btn btn-sm btn-outline-primary step-run" data-step="download"\s+title="">Run<', html)
    audio = re.search(r'data-step="audio"\s+disabled title="waiting for Download">Run<', html)
    assert audio, "audio cannot run before the download is done"

    step = store.steps.find_step(conn, video_id, "download")
    store.steps.update_step(conn, step.id, state="done", progress=1.0)
    html = client.get(f"/videos/{video_id}").get_data(as_text=True)
    assert re.search(r'data-step="download"\s+title="">Re-run<', html)
    assert re.search(r'data-step="audio"\s+title="">Run<', html)
    assert re.search(r'data-step="transcribe"\s+disabled title="waiting for Extract audio">', html)


def test_unknown_video_is_a_404_page(client):
    response = client.get("/videos/999")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "There is no video 999" in html and "Back to the dashboard" in html
    assert "Traceback" not in html


def test_error_log_lists_errors_newest_first_with_retry(client, conn):
    older, newer = add_videos(conn, 2)
    store.videos.update_video(conn, older, title="Older talk")
    store.videos.update_video(conn, newer, title="Newer talk")
    service = StepService(conn)
    message = "yt-dlp: HTTP 404 for https://example.org/v0: check the link"
    service.fail(store.steps.find_step(conn, older, "download").id, message)
    service.fail(store.steps.find_step(conn, newer, "download").id, "ffmpeg failed: no space left on device")
    html = client.get("/errors").get_data(as_text=True)
    assert html.index("Newer talk") < html.index("Older talk")
    assert "HTTP 404 for https://example.org/v0: check the link" in html
    assert "no space left on device" in html
    assert len(re.findall(r'<button[^>]* class="[^"]*\bretry\b', html)) == 2
    assert f'data-video-id="{older}"' in html and 'data-step="download"' in html


def test_error_log_without_errors(client):
    assert "No step is in error" in client.get("/errors").get_data(as_text=True)


def test_the_dashboard_and_the_details_page_say_clips_are_being_cut_never_done(client, conn):
    (video_id,) = add_videos(conn, 1, title="Panel")
    for step in store.steps.steps_of(conn, [video_id]):
        store.steps.update_step(conn, step.id, state="done", progress=1.0)
    with store.engine.transaction(conn):
        exchange_id = create_exchange(conn, video_id, "man_1", "manual", Exchange(0, 9, "Why?", "", ""))
    cut = store.steps.find_step(conn, video_id, "cut_clips", exchange_id)
    store.steps.update_step(conn, cut.id, state="running", progress=0.5)
    for path in ("/", "/partials/videos", f"/videos/{video_id}"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(r'state-running[^"]*"[^>]*>Q&amp;A 0 of 1 cut<', html), path
        assert not re.search(r"state-done[^\"]*\" id=\"video-status\"", html), path


def test_every_page_has_a_favicon_served_even_before_logging_in(client, app):
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)
    stranger = app.test_client(authenticated=False)
    assert 'rel="icon"' in stranger.get("/login").get_data(as_text=True)
    for path in ("/favicon.ico", "/static/favicon.svg"):
        response = stranger.get(path)
        assert response.status_code == 200 and response.mimetype == "image/svg+xml", path
        assert b"<svg" in response.data


def test_the_navbar_counts_the_steps_in_error(client, conn):
    assert 'id="error-count"' not in client.get("/").get_data(as_text=True)
    ids = add_videos(conn, 2)
    for video_id in ids:
        StepService(conn).fail(store.steps.find_step(conn, video_id, "download").id, "yt-dlp: HTTP Error 404")
    html = client.get("/errors").get_data(as_text=True)
    assert re.search(r'id="error-count"[^>]*>2<', html)


def test_a_queued_or_running_step_offers_cancel_in_the_panel(client, conn):
    (video_id,) = add_videos(conn, 1)
    step = store.steps.find_step(conn, video_id, "download")
    assert "step-cancel" not in client.get(f"/partials/videos/{video_id}/panel").get_data(as_text=True)
    store.steps.update_step(conn, step.id, state="running", progress=0.3, task_id="t-1")
    html = client.get(f"/partials/videos/{video_id}/panel").get_data(as_text=True)
    assert re.search(r'class="btn btn-sm btn-outline-danger step-cancel" data-step="download">Cancel<', html)


def test_a_rename_marks_clips_with_burned_in_captions_out_of_date(client, conn, tmp_path):
    (video_id,) = add_videos(conn, 1, title="Panel")
    segment = Segment(0.0, 2.0, " Why?", (Word(0.0, 2.0, " Why?", 0.9, "SPEAKER_00"),), "SPEAKER_00")
    srt, vtt = tmp_path / "c.srt", tmp_path / "c.vtt"
    with store.engine.transaction(conn):
        store.transcripts.replace_segments(conn, video_id, [segment])
        store.speakers.ensure_speakers(conn, video_id, ["SPEAKER_00"])
        exchange_id = create_exchange(conn, video_id, "man_1", "manual", Exchange(0, 2, "Why?", "", ""))
        files = {"start_time": 0, "end_time": 2, "srt_path": str(srt), "vtt_path": str(vtt)}
        clips = [{"position": 0, "kind": "exchange", **files}, {"position": 1, "kind": "speaker", **files}]
        burned, plain = store.clips.replace_clips(conn, exchange_id, clips)
        store.clips.update_clip(conn, burned, burned_captions=1)
    response = client.put(f"/api/videos/{video_id}/speakers/SPEAKER_00", json={"name": "Ada"})
    assert response.status_code == 200
    assert "Ada: Why?" in srt.read_text() and "Ada" in vtt.read_text()
    assert (
        store.clips.get_clip(conn, burned).captions_out_of_date
        and not store.clips.get_clip(conn, plain).captions_out_of_date
    )
    html = client.get(f"/partials/videos/{video_id}/clips").get_data(as_text=True)
    assert html.count("captions-out-of-date") == 1 and ">Cut again<" in html
    assert re.search(r'class="[^"]*\brecut" data-exchange="\d+" data-captions="clean"', html), "burned in again"


def test_the_dashboard_shows_a_bar_for_each_step_running_at_once(client, conn):
    (video_id,) = add_videos(conn, 1, title="Panel")
    for name, progress in (("download", 1.0), ("audio", 1.0)):
        store.steps.update_step(conn, store.steps.find_step(conn, video_id, name).id, state="done", progress=progress)
    for name, progress in (("transcribe", 0.4), ("diarize", 0.7)):
        store.steps.update_step(
            conn,
            store.steps.find_step(conn, video_id, name).id,
            state="running",
            progress=progress,
            started_at=store.engine.now(),
        )
    html = client.get("/partials/videos").get_data(as_text=True)
    assert re.findall(r'class="progress step-progress"[^>]*data-step="(\w+)"', html) == ["transcribe", "diarize"]
    assert ">Transcribe 40%<" in html and ">Find speakers 70%<" in html
