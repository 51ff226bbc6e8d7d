"""Uploading a local media file as a video: in resumable chunks, checked by content, stored, download done."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app import create_app
from operations import uploads
from pipeline.filetypes import is_media_container
from pipeline.media import probe
from tests.support.media_factory import make_video
from tests.support.upload_client import send_chunks, start_upload, upload


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
    assert steps == {
        "download": "done",
        "audio": "pending",
        "transcribe": "pending",
        "diarize": "pending",
        "exchanges": "pending",
        "translate": "pending",
    }
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


def test_abandoned_uploads_are_swept_after_a_day(client, settings_env, monkeypatch):
    monkeypatch.setattr(uploads, "SWEEP_SECONDS", 0)  # the last sweep was long enough ago
    upload_id = start_upload(client, 100, "talk.mp4").get_json()["id"]
    pending = uploads.find(Path(settings_env["DATA_DIR"]) / "downloads", upload_id)
    day_ago = pending.data.stat().st_mtime - uploads.STALE_SECONDS - 10
    os.utime(pending.data, (day_ago, day_ago))
    start_upload(client, 100, "other.mp4")  # starting another one sweeps
    assert client.get(f"/api/uploads/{upload_id}").status_code == 404


def test_uploads_past_max_open_uploads_are_refused_until_one_ends(settings_env, redis_client, sample_mp4):
    client = create_app({**settings_env, "MAX_OPEN_UPLOADS": "3"}).test_client()
    data = sample_mp4.read_bytes()
    first, second, _third = (start_upload(client, len(data), "talk.mp4").get_json()["id"] for _ in range(3))

    refused = start_upload(client, len(data), "more.mp4")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert "MAX_OPEN_UPLOADS=3" in error and "finish or delete" in error

    assert client.delete(f"/api/uploads/{first}").status_code == 204  # abandoning one frees a slot
    fourth = start_upload(client, len(data), "more.mp4")
    assert fourth.status_code == 201
    assert start_upload(client, len(data), "more.mp4").status_code == 429

    assert send_chunks(client, second, data).status_code == 201  # so does finishing one
    assert start_upload(client, len(data), "more.mp4").status_code == 201


def test_an_upload_is_refused_when_open_uploads_already_announce_the_free_disk(settings_env, redis_client):
    downloads = Path(settings_env["DATA_DIR"]) / "downloads"
    downloads.mkdir(parents=True)
    free_mb = shutil.disk_usage(downloads).free // 2**20
    # 400 MB may still be written: one announced upload of 250 MB fits, a second one no longer does.
    client = create_app({**settings_env, "MIN_FREE_DISK_MB": str(free_mb - 400)}).test_client()
    first = start_upload(client, 250 * 2**20, "one.mp4")
    assert first.status_code == 201, first.get_json()

    refused = start_upload(client, 250 * 2**20, "two.mp4")
    assert refused.status_code == 503
    error = refused.get_json()["error"]
    assert "MIN_FREE_DISK_MB" in error and "open uploads" in error and "finish or delete" in error

    assert client.delete(f"/api/uploads/{first.get_json()['id']}").status_code == 204
    assert start_upload(client, 250 * 2**20, "two.mp4").status_code == 201


def test_starting_uploads_does_not_scan_the_open_ones_each_time(client, settings_env, monkeypatch):
    swept = []
    monkeypatch.setattr(uploads, "sweep", lambda *args, **kwargs: swept.append(1) or 0)
    for _ in range(5):
        assert start_upload(client, 100, "talk.mp4").status_code == 201
    assert len(swept) <= 1, "a sweep at most once a minute, not on every start"


def test_an_uploaded_video_processed_again_starts_from_its_file_not_a_download(client, sample_mp4, redis_client):
    data = sample_mp4.read_bytes()
    (first,) = upload(client, data, "talk.mp4").get_json()["videos"]

    again = client.post(f"/api/videos/{first['id']}/again", json={"auto": True, "num_speakers": 3})
    assert again.status_code == 201, again.get_json()
    new_id = again.get_json()["video"]["id"]
    assert new_id != first["id"]
    video = client.get(f"/api/videos/{new_id}").get_json()
    states = {step["name"]: step["state"] for step in video["steps"]}
    assert states["download"] == "done", "yt-dlp is never handed the upload: pseudo-link"
    assert states["audio"] == "queued" and again.get_json()["queued"] == ["audio"]
    assert video["num_speakers"] == 3 and video["url"] == "upload:talk.mp4"
    assert Path(video["video_path"]).read_bytes() == data
    assert Path(video["video_path"]).parent.name == str(new_id)

    assert client.delete(f"/api/videos/{first['id']}").status_code == 204
    assert Path(video["video_path"]).read_bytes() == data, "the new video keeps its file"
    refused = client.post(f"/api/videos/{new_id}/steps/download")
    assert refused.status_code == 409 and "upload" in refused.get_json()["error"]


def test_an_uploaded_video_whose_file_is_gone_is_not_processed_again(client, sample_mp4):
    (first,) = upload(client, sample_mp4.read_bytes(), "talk.mp4").get_json()["videos"]
    Path(client.get(f"/api/videos/{first['id']}").get_json()["video_path"]).unlink()
    refused = client.post(f"/api/videos/{first['id']}/again", json={})
    assert refused.status_code == 409 and "upload it again" in refused.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 1


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
    b'<circle cx="32" cy="32" r="30" fill="red"/><script>alert(1)</script></svg>\n'
)


def test_an_svg_upload_is_a_clear_400(client, settings_env):
    response = upload(client, SVG, "drawing.svg")
    assert response.status_code == 400, response.get_json()
    assert "not a media file" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0
    assert spool_is_empty(settings_env)


def test_an_empty_patch_at_the_end_never_finishes_an_upload(client, sample_mp4, settings_env):
    data = sample_mp4.read_bytes()
    upload_id = start_upload(client, len(data), "talk.mp4").get_json()["id"]
    pending = uploads.find(Path(settings_env["DATA_DIR"]) / "downloads", upload_id)
    pending.data.write_bytes(data)  # every byte there, but no request wrote the last one (a crash, say)
    response = client.patch(f"/api/uploads/{upload_id}", data=b"", headers={"Upload-Offset": str(len(data))})
    assert response.status_code == 404 and "start it again" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0


@pytest.mark.parametrize(
    ("container", "accepted"),
    [
        ("mov,mp4,m4a,3gp,3g2,mj2", True),
        ("matroska,webm", True),
        ("wav", True),
        ("hls", False),
        ("concat", False),
        ("webm_dash_manifest", False),
        ("imf", False),
        ("dash", False),
        ("", False),
    ],
)
def test_only_audio_and_video_containers_are_kept(container, accepted):
    """A playlist or file list would make ffmpeg open what it names each time the file is read again."""
    assert is_media_container(container) is accepted


def test_a_file_list_upload_is_a_clear_400(client, settings_env):
    listing = b"ffconcat version 1.0\nfile 'meta.json'\nfile '/etc/passwd'\n"
    response = upload(client, listing, "talk.mp4")
    assert response.status_code == 400 and "not a media file" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0 and spool_is_empty(settings_env)
