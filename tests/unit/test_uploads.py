"""Uploading a local media file as a video: in resumable chunks, checked by content, stored, download done."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app import create_app
from tests.support.media_factory import make_video
from tests.support.upload_client import send_chunks, start_upload, upload
from utils.core import uploads
from utils.pipeline.media import probe


@pytest.fixture(scope="module")
def sample_mp4(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "talk.mp4", 640, 360, duration=2)


def spool_is_empty(settings_env) -> bool:
    spool = Path(settings_env["DATA_DIR"]) / "downloads" / uploads.SPOOL_FOLDER
    return not spool.exists() or not any(spool.iterdir())


def test_a_video_file_becomes_a_downloaded_video(client, sample_mp4, settings_env, redis_client):
    response = upload(client, sample_mp4.read_bytes(), "Panel <talk>.html", chunk_bytes=10_000, resolution="720")
    assert response.status_code == 201, response.get_json()
    (created,) = response.get_json()["videos"]
    assert created["url"] == "upload:Panel <talk>.html"

    video = client.get(f"/api/videos/{created['id']}").get_json()
    steps = {step["name"]: step["state"] for step in video["steps"]}
    assert steps == {"download": "done", "audio": "pending", "transcribe": "pending",
                     "diarize": "pending", "exchanges": "pending"}  # fmt: skip
    assert (video["width"], video["height"]) == (640, 360)
    assert video["title"] == "Panel <talk>"
    assert video["duration"] == pytest.approx(2, abs=0.3)
    stored = Path(video["video_path"])
    # Stored under a name from what the file is (an MP4), never the name it came with.
    assert stored == Path(settings_env["DATA_DIR"]) / "downloads" / str(created["id"]) / "video.mp4"
    assert stored.read_bytes() == sample_mp4.read_bytes()
    assert probe(stored).height == 360
    assert redis_client.llen("io") == 0, "auto off: nothing is queued"
    served = client.get(f"/media/videos/{created['id']}")
    assert served.status_code == 200 and served.mimetype == "video/mp4"
    assert spool_is_empty(settings_env)


def test_auto_mode_queues_the_audio_step(client, sample_mp4, redis_client):
    response = upload(client, sample_mp4.read_bytes(), "talk.mp4", auto=True, num_speakers=2)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["queued"] == ["audio"]
    video = client.get(f"/api/videos/{body['videos'][0]['id']}").get_json()
    assert {step["name"]: step["state"] for step in video["steps"]}["audio"] == "queued"
    assert video["num_speakers"] == 2 and video["auto"] is True
    assert redis_client.llen("io") == 1


def test_an_interrupted_upload_resumes_where_the_server_stopped(client, sample_mp4):
    data = sample_mp4.read_bytes()
    upload_id = start_upload(client, len(data), "talk.mp4").get_json()["id"]
    first = send_chunks(client, upload_id, data[:5000], chunk_bytes=5000)
    assert first.get_json()["offset"] == 5000

    repeated = client.patch(f"/api/uploads/{upload_id}", data=data[:5000], headers={"Upload-Offset": "0"})
    assert repeated.status_code == 409 and repeated.get_json()["offset"] == 5000, "a chunk sent twice is refused"
    status = client.get(f"/api/uploads/{upload_id}").get_json()
    assert (status["offset"], status["size"]) == (5000, len(data))
    done = send_chunks(client, upload_id, data, offset=status["offset"])
    assert done.status_code == 201
    video = client.get(f"/api/videos/{done.get_json()['videos'][0]['id']}").get_json()
    assert Path(video["video_path"]).read_bytes() == data
    assert client.get(f"/api/uploads/{upload_id}").status_code == 404, "a finished upload is gone"


def test_a_text_file_named_mp4_is_refused(client, settings_env):
    response = upload(client, b"these are just words, not a video\n" * 100, "notes.mp4")
    assert response.status_code == 400
    assert "not a media file" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0
    assert spool_is_empty(settings_env), "no partial file is left behind"


def test_a_missing_size_is_a_clear_400(client):
    response = client.post("/api/uploads", json={"filename": "talk.mp4", "auto": True})
    assert response.status_code == 400
    assert "size" in response.get_json()["error"]


def test_bad_options_are_refused_like_the_url_form(client, sample_mp4):
    response = upload(client, sample_mp4.read_bytes(), "talk.mp4", num_speakers="many")
    assert response.status_code == 400
    assert "num_speakers" in response.get_json()["error"]


def test_a_file_over_the_limit_is_a_413_before_any_byte(settings_env, redis_client):
    client = create_app({**settings_env, "MAX_UPLOAD_MB": "1"}).test_client()
    response = start_upload(client, 1024 * 1024 + 10, "big.mp4")
    assert response.status_code == 413
    assert "1 MB" in response.get_json()["error"] and "MAX_UPLOAD_MB" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0


def test_a_chunk_past_the_announced_size_is_refused(client, settings_env):
    upload_id = start_upload(client, 10, "tiny.mp4").get_json()["id"]
    response = client.patch(f"/api/uploads/{upload_id}", data=b"x" * 11, headers={"Upload-Offset": "0"})
    assert response.status_code == 400 and "10 bytes" in response.get_json()["error"]


def test_unknown_or_hostile_upload_ids_are_not_found(client):
    for upload_id in ("nope", "..%2F..%2Fetc", "A" * 30):
        assert client.get(f"/api/uploads/{upload_id}").status_code == 404


def test_abandoned_uploads_are_swept_after_a_day(client, settings_env):
    upload_id = start_upload(client, 100, "talk.mp4").get_json()["id"]
    pending = uploads.find(Path(settings_env["DATA_DIR"]) / "downloads", upload_id)
    day_ago = pending.data.stat().st_mtime - uploads.STALE_SECONDS - 10
    os.utime(pending.data, (day_ago, day_ago))
    start_upload(client, 100, "other.mp4")  # starting another one sweeps
    assert client.get(f"/api/uploads/{upload_id}").status_code == 404
