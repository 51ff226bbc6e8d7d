"""Several web processes and hosts on one broker and one database: who reconciles, where files are."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import store.engine
import store.steps
from app import create_app
from operations import videos
from pipeline.media import ffmpeg_binary, probe
from tasks.reconcile import Reconciler
from tests.support.common import AUTH_ENV, wait_until
from tests.support.media_factory import MediaServer, run_ffmpeg
from tests.support.processes import Worker

pytestmark = pytest.mark.integration


@pytest.fixture
def web_app(settings_env, own_database_env, redis_client):
    return create_app({**settings_env, **own_database_env})


def lost_step(app) -> int:
    """A transcription marked running by a task no worker has: what a host that died leaves behind."""
    conn = store.engine.connect_to(app.config["SETTINGS"])
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url="https://example.org/v"))
        step = store.steps.find_step(conn, video_id, "transcribe")
        store.steps.update_step(conn, step.id, state="running", task_id="lost-with-its-host", attempts=1)
    conn.close()
    return step.id


def test_one_reconciler_leads_and_a_lost_step_is_queued_again_once(web_app, redis_client):
    step_id = lost_step(web_app)
    celery_app, settings = web_app.extensions["celery"], web_app.config["SETTINGS"]
    first, second = (Reconciler(celery_app, settings, interval=5) for _ in range(2))
    try:
        passes = [(first.run_once(), second.run_once()) for _ in range(2)]
        assert passes == [(True, False)] * 2  # the second stands by while the first holds the lease
        conn = store.engine.connect_to(settings)
        step = store.steps.get_step(conn, step_id)
        assert step.state == "queued" and step.task_id != "lost-with-its-host"
        assert redis_client.llen("compute") == 1  # one message for it, not one per web process

        first.stop()  # hands the lease over at once
        assert second.run_once() is True
        assert redis_client.llen("compute") == 1
    finally:
        first.stop()
        second.stop()


# ---- two hosts ---------------------------------------------------------------------------------

SAMPLE_WAV = Path(__import__("pyannote.audio.sample", fromlist=["x"]).__file__).with_name("sample.wav")


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale-site")
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-i", str(SAMPLE_WAV), "-shortest",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
               str(root / "sample.mp4"))  # fmt: skip
    with MediaServer(root) as server:
        yield server


def decodes_cleanly(path: Path) -> bool:
    """Every frame and sample of the file decodes without an error (what a player needs)."""
    result = subprocess.run([ffmpeg_binary(), "-v", "error", "-i", str(path), "-f", "null", "-"],
                            capture_output=True, text=True)  # fmt: skip
    return result.returncode == 0 and not result.stderr.strip()


def test_two_hosts_share_only_redis_postgresql_and_a_folder(
    tmp_path, redis_url, redis_client, postgres, sample_site, artifacts_dir
):
    """Host A runs the web app and the I/O worker on DATA_DIR=x/a; host B a compute worker on x/b, the
    same folder under another path. A video goes through both phases; its clips play."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").symlink_to(tmp_path / "a", target_is_directory=True)
    shared = {
        "DATABASE_URL": postgres.new_database(),
        "CELERY_BROKER_URL": redis_url,
        "FLASK_SECRET_KEY": "test",
        "ALLOWED_NETWORKS": "127.0.0.0/8",
        "CLIP_MIN_DURATION_SECONDS": "1.5",
        **AUTH_ENV,
    }
    host_a, host_b = {**shared, "DATA_DIR": str(tmp_path / "a")}, {**shared, "DATA_DIR": str(tmp_path / "b")}
    logs = {name: artifacts_dir / f"host-{name}-worker.log" for name in "ab"}
    for log in logs.values():
        log.unlink(missing_ok=True)
    io_worker = Worker(host_a, queues="io", log=logs["a"]).start()
    compute_worker = Worker(host_b, queues="compute", log=logs["b"]).start()
    try:
        api = create_app(host_a).test_client()
        response = api.post("/api/videos", json={"urls": [f"{sample_site.base_url}/sample.mp4"], "auto": True})
        video_id = response.get_json()["videos"][0]["id"]
        wait_until(lambda: phase_one_finished(api, video_id), timeout=600, interval=0.5, what="phase 1")
        steps = {
            step["name"]: step["state"]
            for step in api.get(f"/api/videos/{video_id}").get_json()["steps"]
            if not step["optional"]
        }
        assert set(steps.values()) == {"done"}, steps

        exchange = api.post(
            f"/api/videos/{video_id}/exchanges", json={"start": 10.5, "end": 21.6, "process": True}
        ).get_json()["exchange"]
        wait_until(lambda: exchange_finished(api, exchange["id"]), timeout=600, interval=0.5, what="phase 2")
        clips = api.get(f"/api/exchanges/{exchange['id']}/clips").get_json()["clips"]
        assert clips and all(
            step["state"] == "done" for step in api.get(f"/api/exchanges/{exchange['id']}").get_json()["steps"]
        )
    finally:
        io_worker.stop()
        compute_worker.stop()

    # Each host did its own share of the work...
    host_a_log, host_b_log = logs["a"].read_text(), logs["b"].read_text()
    for name in ("download", "audio", "cut_clips"):
        assert f"video {video_id}: {name} started" in host_a_log
    for name in ("transcribe", "diarize"):
        assert f"video {video_id}: {name} started" in host_b_log
        assert f"video {video_id}: {name} done" in host_b_log
    # ...the database names files relative to the shared folder, which each host mounts where it likes...
    conn = store.engine.connect(shared["DATABASE_URL"])
    stored = [
        *conn.execute("SELECT video_path, audio_path, thumbnail_path FROM videos").fetchone(),
        *(value for row in conn.execute("SELECT path, srt_path, vtt_path, poster_path FROM clips") for value in row),
    ]
    assert all(value and not value.startswith("/") for value in stored), stored
    # ...and the clips play, served by host A.
    for clip in clips:
        served = api.get(clip["url"])
        assert served.status_code == 200 and served.mimetype == "video/mp4"
        local = tmp_path / "a" / conn.execute("SELECT path FROM clips WHERE id = ?", (clip["id"],)).fetchone()[0]
        assert served.data == local.read_bytes()
        assert decodes_cleanly(local)
        assert probe(local).duration == pytest.approx(clip["end"] - clip["start"], abs=0.1)


def phase_one_finished(api, video_id: int) -> bool:
    steps = [step for step in api.get(f"/api/videos/{video_id}").get_json()["steps"] if not step["optional"]]
    return all(step["state"] in ("done", "error") for step in steps) or any(s["state"] == "error" for s in steps)


def exchange_finished(api, exchange_id: int) -> bool:
    steps = api.get(f"/api/exchanges/{exchange_id}").get_json()["steps"]
    return all(step["state"] in ("done", "error") for step in steps) or any(s["state"] == "error" for s in steps)
