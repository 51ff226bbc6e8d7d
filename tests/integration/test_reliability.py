"""Crashes, outages, deletion during work and concurrency, with real processes: a worker killed
with SIGKILL, the broker stopped and restarted, a video deleted mid-transcription, two workers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import store.engine
from app import create_app
from tasks.reconcile import Reconciler
from tests.support.common import AUTH_ENV, wait_until
from tests.support.media_factory import MediaServer, run_ffmpeg
from tests.support.processes import RedisProcess, Worker

pytestmark = pytest.mark.integration

SAMPLE_WAV = Path(__import__("pyannote.audio.sample", fromlist=["x"]).__file__).with_name("sample.wav")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A 3-minute talk (the sample six times, so transcription lasts long enough to interrupt) and a 10 s one."""
    root = tmp_path_factory.mktemp("reliability-site")
    picture = ["-f", "lavfi", "-i", "color=c=navy:size=320x240:rate=10"]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]
    run_ffmpeg(*picture, "-stream_loop", "5", "-i", str(SAMPLE_WAV), *encode, str(root / "long.mp4"))
    run_ffmpeg(*picture, "-ss", "8", "-t", "10", "-i", str(SAMPLE_WAV), *encode, str(root / "short.mp4"))
    with MediaServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    redis = RedisProcess(tmp_path_factory.mktemp("own-redis")).start()
    yield redis
    redis.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory, broker, database_env) -> dict[str, str]:
    return {
        "DATA_DIR": str(tmp_path_factory.mktemp("reliability-data")),
        "FLASK_SECRET_KEY": "test",
        "CELERY_BROKER_URL": broker.url,
        "MAX_STEP_ATTEMPTS": "3",
        "ALLOWED_NETWORKS": "127.0.0.0/8",
        **AUTH_ENV,
        **database_env,
    }


@pytest.fixture(scope="module")
def app(env):
    return create_app(env)


@pytest.fixture
def api(app):
    return app.test_client()


def submit(api, url: str, auto: bool = True) -> int:
    response = api.post("/api/videos", json={"urls": [url], "auto": auto, "again": True})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["videos"][0]["id"]


def step(api, video_id: int, name: str) -> dict:
    return next(s for s in api.get(f"/api/videos/{video_id}").get_json()["steps"] if s["name"] == name)


def step_when(api, video_id: int, name: str, predicate):
    """A poller for wait_until: the step once `predicate(step)` holds, else None."""

    def poll():
        current = step(api, video_id, name)
        return current if predicate(current) else None

    return poll


def submit_long_and_wait_for_transcription(api, site) -> int:
    video_id = submit(api, f"{site.base_url}/long.mp4")
    wait_until(
        step_when(api, video_id, "transcribe", lambda s: s["progress"] > 0.05),
        timeout=180,
        what="transcription to be under way",
    )
    return video_id


def test_worker_killed_mid_transcription_is_recovered(api, app, site, env, artifacts_dir):
    worker = Worker(env, log=artifacts_dir / "killed-worker.log").start()
    try:
        video_id = submit_long_and_wait_for_transcription(api, site)
    finally:
        worker.kill()
    lost = step(api, video_id, "transcribe")
    assert lost["state"] == "running" and lost["attempts"] == 1

    back = Worker(env, log=artifacts_dir / "restarted-worker.log").start()
    # Two web processes, each with its reconciler: the lost step is re-queued once, not once by each.
    reconcilers = [Reconciler(app.extensions["celery"], app.config["SETTINGS"], interval=5) for _ in range(2)]
    for reconciler in reconcilers:
        reconciler.start()
    try:
        restarted_at = time.monotonic()
        rerun = wait_until(
            step_when(api, video_id, "transcribe", lambda s: s["attempts"] >= 2 or s["state"] == "error"),
            timeout=60,
            what="the lost transcription to be re-run or marked lost",
        )
        assert time.monotonic() - restarted_at < 60
        assert rerun["attempts"] == 2
        done = wait_until(
            step_when(api, video_id, "transcribe", lambda s: s["state"] in ("done", "error")),
            timeout=300,
            what="the re-run to finish",
        )
        assert done["state"] == "done", done["error"]
        assert done["attempts"] == 2
    finally:
        for reconciler in reconcilers:
            reconciler.stop()
        back.stop()


def test_deleting_a_video_while_it_is_transcribed_stops_it_and_keeps_it_gone(api, app, site, env, artifacts_dir):
    worker = Worker(env, log=artifacts_dir / "delete-worker.log").start()
    try:
        video_id = submit_long_and_wait_for_transcription(api, site)
        settings = app.config["SETTINGS"]
        folder = Path(settings.download_dir) / str(video_id)
        assert folder.exists()
        assert api.delete(f"/api/videos/{video_id}").status_code == 204
        time.sleep(8)  # long enough for the task to notice, or to finish and try to write
        assert api.get(f"/api/videos/{video_id}").status_code == 404
        assert not folder.exists()
        conn = store.engine.connect_to(settings)
        assert conn.execute("SELECT COUNT(*) FROM segments WHERE video_id = ?", (video_id,)).fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM steps WHERE video_id = ?", (video_id,)).fetchone()[0] == 0
        conn.close()
    finally:
        worker.stop()


def test_cancelling_a_running_transcription_stops_it_and_leaves_the_step_ready_to_run(api, site, env, artifacts_dir):
    worker = Worker(env, log=artifacts_dir / "cancel-worker.log").start()
    try:
        video_id = submit_long_and_wait_for_transcription(api, site)
        response = api.post(f"/api/videos/{video_id}/steps/transcribe/cancel")
        assert response.status_code == 200 and response.get_json()["step"]["state"] == "pending"
        time.sleep(8)  # long enough for a task still running to report progress or finish
        log_text = (artifacts_dir / "cancel-worker.log").read_text()
        assert "Terminating" in log_text, "the task was revoked with SIGTERM: the process running it stopped"
        after = step(api, video_id, "transcribe")
        assert (after["state"], after["progress"]) == ("pending", 0.0), "the cancelled task wrote nothing more"
        assert after["action"] == {"label": "Run", "enabled": True, "reason": "", "cancel": False}
        assert api.post(f"/api/videos/{video_id}/steps/transcribe/cancel").status_code == 409
        assert api.post(f"/api/videos/{video_id}/steps/transcribe").status_code == 202
        done = wait_until(
            step_when(api, video_id, "transcribe", lambda s: s["state"] in ("done", "error")),
            timeout=300,
            what="the transcription run again to finish",
        )
        assert done["state"] == "done" and done["attempts"] == 1, done
    finally:
        worker.stop()


def test_broker_outage_refuses_cleanly_and_work_resumes(api, site, env, broker, artifacts_dir):
    worker = Worker(env, log=artifacts_dir / "outage-worker.log").start()
    try:
        before = api.get("/api/videos").get_json()["total"]
        broker.stop()
        assert api.get("/").status_code == 200, "pages still load without the broker"
        assert api.get("/api/videos").status_code == 200
        refused = api.post("/api/videos", json={"urls": [f"{site.base_url}/short.mp4"]})
        assert refused.status_code == 503 and "queue unavailable" in refused.get_json()["error"]
        assert api.get("/api/videos").get_json()["total"] == before, "no half-made video is left"
        broker.start()
        video_id = submit(api, f"{site.base_url}/short.mp4", auto=False)
        done = wait_until(
            step_when(api, video_id, "download", lambda s: s["state"] in ("done", "error")),
            timeout=90,
            what="the worker to reconnect and download",
        )
        assert done["state"] == "done", done["error"]
    finally:
        worker.stop()


def test_ten_videos_on_two_workers_all_finish_without_lock_errors(api, site, env, artifacts_dir):
    workers = [Worker(env, log=artifacts_dir / f"pair-worker-{n}.log").start() for n in range(2)]
    try:
        response = api.post(
            "/api/videos", json={"urls": [f"{site.base_url}/short.mp4?copy={n}" for n in range(10)], "auto": True}
        )
        assert response.status_code == 201
        ids = [video["id"] for video in response.get_json()["videos"]]

        def all_finished():
            videos = [api.get(f"/api/videos/{video_id}").get_json() for video_id in ids]
            return videos if all(video["status"] in ("done", "error") for video in videos) else None

        videos = wait_until(all_finished, timeout=600, interval=1, what="ten videos to finish phase 1")
        errors = [s["error"] for video in videos for s in video["steps"] if s["error"]]
        assert errors == []
        assert all(video["status"] == "done" for video in videos)
    finally:
        for worker in workers:
            worker.stop()


def test_a_step_over_its_time_limit_ends_in_a_clear_error(api, site, env, artifacts_dir):
    limited = {**env, "STEP_TIME_LIMITS": "transcribe=3"}
    worker = Worker(limited, log=artifacts_dir / "limit-worker.log").start()
    try:
        client = create_app(limited).test_client()
        video_id = submit(client, f"{site.base_url}/long.mp4")
        failed = wait_until(
            step_when(client, video_id, "transcribe", lambda s: s["state"] in ("done", "error")),
            timeout=180,
            what="the transcription to hit its limit",
        )
        assert failed["state"] == "error"
        assert failed["error"] == "transcribe took longer than its limit of 3 s: raise STEP_TIME_LIMITS and retry"
    finally:
        worker.stop()
