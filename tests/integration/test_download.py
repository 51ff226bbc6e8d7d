"""Downloads for real: generated HLS on 127.0.0.1, the API, a real Redis and a real Celery worker."""

from __future__ import annotations

import pytest

from app import create_app
from pipeline.media import probe
from tests.support.common import AUTH_ENV, wait_until
from tests.support.media_factory import MediaServer, make_hls, make_rss, make_video
from tests.support.processes import Worker, step_events, stream_position

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def media_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    make_hls(root / "talk")
    make_video(root / "episode1.mp4", 640, 360, duration=2)
    make_video(root / "episode2.mp4", 640, 360, duration=2)
    with MediaServer(root) as server:
        make_rss(root, server.base_url, ["episode1.mp4", "episode2.mp4"])
        yield server


@pytest.fixture(scope="module")
def stack_env(tmp_path_factory, redis_url, database_env):
    data = tmp_path_factory.mktemp("data")
    return {
        "DATA_DIR": str(data),
        "ALLOWED_NETWORKS": "127.0.0.0/8",  # media is served on loopback
        "FLASK_SECRET_KEY": "test",
        "CELERY_BROKER_URL": redis_url,
        "LOG_LEVEL": "info",
        **AUTH_ENV,
        **database_env,
    }


@pytest.fixture(scope="module")
def worker(stack_env, artifacts_dir):
    process = Worker(stack_env, log=artifacts_dir / "download-worker.log").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def api(stack_env, worker):
    return create_app(stack_env).test_client()


def submit(api, url: str, resolution: str) -> int:
    response = api.post("/api/videos", json={"urls": [url], "resolution": resolution, "again": True})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["videos"][0]["id"]


def wait_for_step(api, video_id: int, name: str, states=("done", "error"), timeout: float = 90) -> dict:
    def finished():
        video = api.get(f"/api/videos/{video_id}").get_json()
        step = next(step for step in video["steps"] if step["name"] == name)
        return video if step["state"] in states else None

    return wait_until(finished, timeout=timeout, what=f"{name} of video {video_id} to finish")


@pytest.mark.parametrize(("resolution", "size"), [("360", (640, 360)), ("720", (1280, 720)), ("480", (640, 360))])
def test_hls_download_gets_the_rendition_asked(api, media_site, redis_url, resolution, size):
    start = stream_position(redis_url)
    video_id = submit(api, f"{media_site.base_url}/talk/master.m3u8", resolution)
    video = wait_for_step(api, video_id, "download")
    download = video["steps"][0]
    assert download["state"] == "done", download["error"]
    media = probe(video["video_path"])
    assert (media.width, media.height) == size
    assert (video["width"], video["height"]) == size
    assert media.has_audio and media.duration == pytest.approx(4, abs=0.5)
    assert video["duration"] == pytest.approx(4, abs=0.5)
    assert video["status"] == "partial"

    events = step_events(redis_url, video_id, "download", after=start)
    states = [event["state"] for event in events]
    assert states[0] == "queued" and states[-1] == "done"
    assert states.index("running") < states.index("done")
    progress = [event["progress"] for event in events if event["state"] == "running"]
    assert any(0 < value < 1 for value in progress), f"no intermediate progress in {progress}"
    assert progress == sorted(progress), "progress must only rise"


def test_404_ends_in_a_clear_error(api, media_site):
    video_id = submit(api, f"{media_site.base_url}/missing.m3u8", "best")
    video = wait_for_step(api, video_id, "download")
    step = video["steps"][0]
    assert step["state"] == "error"
    assert "was not found (HTTP 404)" in step["error"] and "check the link" in step["error"]
    assert "\n" not in step["error"] and "Traceback" not in step["error"]
    assert video["status"] == "error"


def test_playlist_becomes_one_video_per_entry(api, media_site):
    first_id = submit(api, f"{media_site.base_url}/feed.xml", "best")
    first = wait_for_step(api, first_id, "download")
    assert first["steps"][0]["state"] == "done", first["steps"][0]["error"]
    assert first["url"].endswith("/episode1.mp4")
    listed = api.get("/api/videos?per_page=200").get_json()["videos"]
    second = next(video for video in listed if video["url"].endswith("/episode2.mp4"))
    second = wait_for_step(api, second["id"], "download")
    assert second["steps"][0]["state"] == "done", second["steps"][0]["error"]
    assert probe(second["video_path"]).height == 360


def test_redownload_replaces_the_file(api, media_site):
    video_id = submit(api, f"{media_site.base_url}/talk/master.m3u8", "360")
    wait_for_step(api, video_id, "download")
    assert api.post(f"/api/videos/{video_id}/steps/download").status_code == 202
    video = wait_for_step(api, video_id, "download")
    assert video["steps"][0]["state"] == "done" and video["steps"][0]["attempts"] == 2
    assert probe(video["video_path"]).height == 360


def test_a_source_without_thumbnail_gets_a_frame_as_one(api, media_site):
    video_id = submit(api, f"{media_site.base_url}/talk/master.m3u8", "360")
    video = wait_for_step(api, video_id, "download")
    assert video["thumbnail_path"] and video["thumbnail_path"].endswith("frame.jpg")
    picture = api.get(f"/media/thumbnails/{video_id}")
    assert picture.status_code == 200 and picture.data[:3] == b"\xff\xd8\xff", "a JPEG"
