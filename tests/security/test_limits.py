"""Duration and disk limits hold for every way media comes in (links and uploads) and for every step
that writes files (download, upload, audio, cutting); a refusal names the limit and the setting."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from app import create_app
from config import load_settings
from tests.support.media_factory import run_ffmpeg
from tests.support.upload_client import start_upload, upload
from utils.pipeline.limits import DiskFull, LimitExceeded


@pytest.fixture(scope="module")
def long_audio(tmp_path_factory) -> Path:
    """Six seconds of sound: 'long' against a limit of five."""
    path = tmp_path_factory.mktemp("limits") / "talk.m4a"
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=6", "-c:a", "aac", str(path))
    return path


def test_an_upload_longer_than_the_limit_is_refused_and_kept_nowhere(settings_env, redis_client, long_audio):
    client = create_app({**settings_env, "MAX_VIDEO_DURATION_SECONDS": "5"}).test_client()
    response = upload(client, long_audio.read_bytes(), "talk.m4a")
    assert response.status_code == 413
    assert "MAX_VIDEO_DURATION_SECONDS=5" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0
    spool = Path(settings_env["DATA_DIR"]) / "downloads" / ".uploads"
    assert not spool.exists() or not any(spool.iterdir())


def test_an_upload_is_refused_when_it_would_fill_the_disk(settings_env, redis_client):
    client = create_app({**settings_env, "MIN_FREE_DISK_MB": str(10**8)}).test_client()
    response = start_upload(client, 1000, "talk.mp4")
    assert response.status_code == 503 and "MIN_FREE_DISK_MB" in response.get_json()["error"]


def _audio_context(tmp_path: Path, source: Path, **env: str) -> SimpleNamespace:
    settings = load_settings({"DATA_DIR": str(tmp_path / "data"), "FLASK_SECRET_KEY": "k", **env}, tmp_path)
    video = SimpleNamespace(id=1, video_path=str(source), duration=None, thumbnail_path=None)
    return SimpleNamespace(settings=settings, video=video, video_id=1, progress=lambda fraction: None)


def test_the_audio_step_refuses_media_over_the_duration_limit(tmp_path, long_audio):
    from tasks.video_steps import _audio

    with pytest.raises(LimitExceeded, match="MAX_VIDEO_DURATION_SECONDS=5"):
        _audio(_audio_context(tmp_path, long_audio, MAX_VIDEO_DURATION_SECONDS="5"))
    assert not list(long_audio.parent.glob("*.wav")), "no WAV was written"


def test_the_audio_step_refuses_to_fill_the_disk(tmp_path, long_audio):
    from tasks.video_steps import _audio

    with pytest.raises(DiskFull, match="MIN_FREE_DISK_MB"):
        _audio(_audio_context(tmp_path, long_audio, MIN_FREE_DISK_MB=str(10**8)))
    assert not list(long_audio.parent.glob("*.wav"))


def test_cutting_refuses_to_fill_the_disk_and_keeps_the_clips_it_had(tmp_path):
    from tasks.clip_steps import _cut_clips
    from tests.support.media_factory import make_video
    from utils.core import db, layout, library
    from utils.pipeline.types import Exchange

    settings = load_settings(
        {"DATA_DIR": str(tmp_path / "data"), "FLASK_SECRET_KEY": "k", "MIN_FREE_DISK_MB": str(10**8)}, tmp_path
    )
    source = make_video(tmp_path / "talk.mp4", 320, 240, duration=3)
    conn = db.open_database(settings.database, settings.data_dir)
    with db.transaction(conn):
        video_id = library.create_video(conn, library.VideoRequest(url="https://example.org/v"))
        db.update_video(conn, video_id, video_path=str(source), duration=3.0)
        exchange_id = db.insert_exchange(conn, video_id, "man_1", "manual", Exchange(0.0, 3.0, "Q?", "", ""))
        db.replace_clips(conn, exchange_id, [{"position": 1, "kind": "exchange", "start_time": 0.0, "end_time": 3.0}])
    earlier = layout.exchange_dir(settings.processed_clips_dir, video_id, exchange_id) / "clip_01_exchange.mp4"
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"an earlier cut")
    video, step = db.get_video(conn, video_id), SimpleNamespace(exchange_id=exchange_id)
    ctx = SimpleNamespace(settings=settings, conn=conn, video=video, video_id=video_id, step=step, progress=print)
    with pytest.raises(DiskFull, match="MIN_FREE_DISK_MB"):
        _cut_clips(ctx)
    assert earlier.read_bytes() == b"an earlier cut", "refused before anything was removed or written"
    conn.close()
