"""Uploading a local media file as a video: checked by content, stored, download step done."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import request

from app import create_app
from tests.media_factory import make_video
from utils.media import probe


@pytest.fixture(scope="module")
def sample_mp4(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "talk.mp4", 640, 360, duration=2)


def upload(client, data: bytes, filename: str, **fields):
    form = {"file": (io.BytesIO(data), filename), **{key: str(value) for key, value in fields.items()}}
    return client.post("/api/uploads", data=form, content_type="multipart/form-data")


def test_a_video_file_becomes_a_downloaded_video(client, sample_mp4, settings_env, redis_client):
    response = upload(client, sample_mp4.read_bytes(), "Panel <talk>.mp4", resolution="720", auto="false")
    assert response.status_code == 201, response.get_json()
    (created,) = response.get_json()["videos"]
    assert created["url"] == "upload:Panel <talk>.mp4"

    video = client.get(f"/api/videos/{created['id']}").get_json()
    steps = {step["name"]: step["state"] for step in video["steps"]}
    assert steps == {"download": "done", "audio": "pending", "transcribe": "pending",
                     "diarize": "pending", "exchanges": "pending"}  # fmt: skip
    assert (video["width"], video["height"]) == (640, 360)
    assert video["title"] == "Panel <talk>"
    assert video["duration"] == pytest.approx(2, abs=0.3)
    stored = Path(video["video_path"])
    assert stored == Path(settings_env["DATA_DIR"]) / "downloads" / str(created["id"]) / "video.mp4"
    assert stored.read_bytes() == sample_mp4.read_bytes()
    assert probe(stored).height == 360
    assert redis_client.llen("io") == 0, "auto off: nothing is queued"
    assert client.get(f"/media/videos/{created['id']}").status_code == 200


def test_auto_mode_queues_the_audio_step(client, sample_mp4, redis_client):
    response = upload(client, sample_mp4.read_bytes(), "talk.mp4", auto="true", num_speakers="2")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["queued"] == ["audio"]
    video = client.get(f"/api/videos/{body['videos'][0]['id']}").get_json()
    assert {step["name"]: step["state"] for step in video["steps"]}["audio"] == "queued"
    assert video["num_speakers"] == 2 and video["auto"] is True
    assert redis_client.llen("io") == 1


def test_a_text_file_named_mp4_is_refused(client, settings_env):
    response = upload(client, b"these are just words, not a video\n" * 100, "notes.mp4")
    assert response.status_code == 400
    assert "not a media file" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0
    spool = Path(settings_env["DATA_DIR"]) / "downloads" / ".uploads"
    assert not spool.exists() or not any(spool.iterdir()), "no partial file is left behind"


def test_no_file_is_a_clear_400(client):
    response = client.post("/api/uploads", data={"auto": "true"}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "no file" in response.get_json()["error"]


def test_bad_options_are_refused_like_the_url_form(client, sample_mp4):
    response = upload(client, sample_mp4.read_bytes(), "talk.mp4", num_speakers="many")
    assert response.status_code == 400
    assert "num_speakers" in response.get_json()["error"]


def test_a_file_over_the_limit_is_a_413(settings_env, redis_client):
    client = create_app({**settings_env, "MAX_UPLOAD_MB": "1"}).test_client()
    response = upload(client, b"\0" * (1024 * 1024 + 10), "big.mp4")
    assert response.status_code == 413
    assert "1 MB" in response.get_json()["error"] and "MAX_UPLOAD_MB" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0


def test_upload_works_when_the_form_was_read_before_the_view(settings_env, redis_client, sample_mp4):
    """A before-request hook (such as a CSRF check on a form field) may parse the body first."""
    app = create_app(settings_env)
    app.before_request(lambda: request.form.get("csrf_token") and None)
    client = app.test_client()
    response = upload(client, sample_mp4.read_bytes(), "talk.mp4")
    assert response.status_code == 201, response.get_json()
    video = client.get(f"/api/videos/{response.get_json()['videos'][0]['id']}").get_json()
    assert video["height"] == 360 and Path(video["video_path"]).read_bytes() == sample_mp4.read_bytes()
