"""Duration and disk limits hold for every way media comes in (links and uploads) and for every step
that writes files (download, upload, audio, cutting); a refusal names the limit and the setting."""

from __future__ import annotations

import struct
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import create_app
from config import load_settings
from operations.step_service import StepService
from operations.unit_of_work import UnitOfWork
from pipeline.limits import DiskFull, LimitExceeded
from pipeline.media import ffmpeg_binary, probe
from tests.support.media_factory import run_ffmpeg
from tests.support.step_contexts import clip_step_context
from tests.support.upload_client import start_upload, upload


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
    import store.clips
    import store.engine
    import store.exchanges
    import store.schema
    import store.videos
    from operations import layout, videos
    from pipeline.types import Exchange
    from tasks.clip_steps import _cut_clips
    from tests.support.media_factory import make_video

    settings = load_settings(
        {"DATA_DIR": str(tmp_path / "data"), "FLASK_SECRET_KEY": "k", "MIN_FREE_DISK_MB": str(10**8)}, tmp_path
    )
    source = make_video(tmp_path / "talk.mp4", 320, 240, duration=3)
    conn = store.schema.open_database(settings.database, settings.data_dir)
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url="https://example.org/v"))
        store.videos.update_video(conn, video_id, video_path=str(source), duration=3.0)
        exchange_id = store.exchanges.insert_exchange(
            conn, video_id, "man_1", "manual", Exchange(0.0, 3.0, "Q?", "", "")
        )
        store.clips.replace_clips(
            conn, exchange_id, [{"position": 1, "kind": "exchange", "start_time": 0.0, "end_time": 3.0}]
        )
    earlier = layout.exchange_dir(settings.processed_clips_dir, video_id, exchange_id) / "clip_01_exchange.mp4"
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"an earlier cut")
    ctx = clip_step_context(settings, conn, video_id, exchange_id, print)
    with pytest.raises(DiskFull, match="MIN_FREE_DISK_MB"):
        _cut_clips(ctx)
    assert earlier.read_bytes() == b"an earlier cut", "refused before anything was removed or written"
    conn.close()


# ---- a header that lies about the length -----------------------------------------------------
# MAX_VIDEO_DURATION_SECONDS=10 against 40 s files whose header gives no length, a tick, or too short a one.

LIMIT = {"MAX_VIDEO_DURATION_SECONDS": "10"}


def _piped_webm(path: Path, seconds: float) -> Path:
    """Opus in WebM written to a pipe, as a browser's recorder or a live stream writes it: the muxer cannot
    go back, so the header has no duration."""
    tone = ["-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}"]
    with path.open("wb") as out:
        subprocess.run([ffmpeg_binary(), "-hide_banner", "-loglevel", "error", *tone, "-c:a", "libopus",
                        "-f", "webm", "pipe:1"], stdout=out, check=True)  # fmt: skip
    return path


def _mp4_boxes(data: bytearray, start: int, end: int):
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        header, size = (16, struct.unpack(">Q", data[start + 8 : start + 16])[0]) if size == 1 else (8, size)
        size = size or end - start
        yield kind, start + header, start + size
        start += size


# Where the duration sits in each box's body (after its version and flags), for box versions 0 and 1.
_MP4_DURATION_AT = {b"mvhd": (16, 24), b"mdhd": (16, 24), b"tkhd": (20, 28)}


def _one_tick(data: bytearray, start: int = 0, end: int | None = None) -> bytearray:
    """Every mvhd, tkhd and mdhd duration set to 1 tick; the samples and their table left as they are."""
    for kind, body, stop in _mp4_boxes(data, start, len(data) if end is None else end):
        if kind in (b"moov", b"trak", b"mdia"):
            _one_tick(data, body, stop)
        elif kind in _MP4_DURATION_AT:
            long = data[body] == 1
            at = body + _MP4_DURATION_AT[kind][long]
            data[at : at + (8 if long else 4)] = (1).to_bytes(8 if long else 4, "big")
    return data


def _claiming(webm: bytes, seconds: float) -> bytes:
    """A WebM whose Segment Duration (EBML 0x4489, an 8-byte float in milliseconds) says `seconds`."""
    data = bytearray(webm)
    at = data.index(b"\x44\x89\x88") + 3
    data[at : at + 8] = struct.pack(">d", seconds * 1000)
    return bytes(data)


@pytest.fixture(scope="module")
def lying(tmp_path_factory) -> dict[str, Path]:
    """40 s of sound in files whose header says 0 s, a tick, 5 s, or whose packets all say 0 s."""
    folder = tmp_path_factory.mktemp("lying")
    tone = ["-f", "lavfi", "-i", "sine=frequency=220:duration=40"]
    run_ffmpeg(*tone, "-c:a", "aac", str(folder / "honest.mp4"))
    (folder / "tick.mp4").write_bytes(_one_tick(bytearray((folder / "honest.mp4").read_bytes())))
    run_ffmpeg(*tone, "-c:a", "libopus", str(folder / "honest.webm"))
    (folder / "claims5s.webm").write_bytes(_claiming((folder / "honest.webm").read_bytes(), 5))
    run_ffmpeg(*tone, "-c:a", "libopus", "-bsf:a", "setts=ts=0", "-f", "matroska", str(folder / "zero_ts.mkv"))
    files = {"piped": _piped_webm(folder / "piped.webm", 40), "tick": folder / "tick.mp4"}
    files |= {"claims5s": folder / "claims5s.webm", "zero_ts": folder / "zero_ts.mkv"}
    assert probe(files["piped"]).duration == 0 and probe(files["tick"]).duration < 0.01
    assert probe(files["claims5s"]).duration == 5
    return files


@pytest.mark.parametrize("name", ["piped", "tick"])
def test_an_upload_whose_header_gives_no_length_is_measured_and_refused(settings_env, redis_client, lying, name):
    client = create_app({**settings_env, **LIMIT}).test_client()
    response = upload(client, lying[name].read_bytes(), lying[name].name)
    assert response.status_code == 413, response.get_json()
    assert "MAX_VIDEO_DURATION_SECONDS=10" in response.get_json()["error"]
    assert client.get("/api/videos").get_json()["total"] == 0
    spool = Path(settings_env["DATA_DIR"]) / "downloads" / ".uploads"
    assert not spool.exists() or not any(spool.iterdir())


def test_a_short_upload_whose_header_gives_no_length_is_kept_with_its_measured_length(
    settings_env, redis_client, tmp_path
):
    client = create_app({**settings_env, **LIMIT}).test_client()
    response = upload(client, _piped_webm(tmp_path / "short.webm", 4).read_bytes(), "short.webm")
    assert response.status_code == 201, response.get_json()
    video = client.get(f"/api/videos/{response.get_json()['videos'][0]['id']}").get_json()
    assert video["duration"] == pytest.approx(4, abs=0.1)


def _stored_audio_context(tmp_path: Path, source: Path, duration: float | None) -> SimpleNamespace:
    """The audio step's context for a video stored with `duration`, as its upload or download recorded it."""
    import store.clips
    import store.engine
    import store.exchanges
    import store.schema
    import store.videos
    from operations import videos

    settings = load_settings({"DATA_DIR": str(tmp_path / "data"), "FLASK_SECRET_KEY": "k", **LIMIT}, tmp_path)
    conn = store.schema.open_database(settings.database, settings.data_dir)
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url=f"upload:{source.name}"))
        store.videos.update_video(conn, video_id, video_path=str(source), duration=duration, thumbnail_path="x.jpg")
    return SimpleNamespace(
        settings=settings,
        conn=conn,
        video=store.videos.get_video(conn, video_id),
        video_id=video_id,
        progress=lambda fraction: None,
        uow=UnitOfWork(conn, StepService(conn, publish=lambda event: None)),
    )


@pytest.mark.parametrize("name", ["piped", "tick", "claims5s", "zero_ts"])
def test_the_audio_step_stops_decoding_past_the_limit_and_keeps_no_wav(tmp_path, lying, name):
    from tasks.video_steps import _audio

    source = tmp_path / lying[name].name
    source.write_bytes(lying[name].read_bytes())
    ctx = _stored_audio_context(tmp_path, source, probe(source).duration)
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match=r"MAX_VIDEO_DURATION_SECONDS=10\b.* 11 s"):
        _audio(ctx)
    ctx.conn.close()
    assert not list(tmp_path.glob("*.wav")), "the WAV over the limit was removed"
    assert time.monotonic() - started < 10


def test_the_audio_step_records_what_it_decoded_when_the_header_claimed_less(tmp_path):
    import store.clips
    import store.engine
    import store.exchanges
    import store.schema
    import store.videos
    from tasks.video_steps import _audio

    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=6", "-c:a", "libopus", str(tmp_path / "6s.webm"))
    source = tmp_path / "talk.webm"
    source.write_bytes(_claiming((tmp_path / "6s.webm").read_bytes(), 2))
    ctx = _stored_audio_context(tmp_path, source, probe(source).duration)
    _audio(ctx)
    video = store.videos.get_video(ctx.conn, ctx.video_id)
    ctx.conn.close()
    assert probe(video.audio_path).duration == pytest.approx(6, abs=0.1)
    assert video.duration == pytest.approx(6, abs=0.1), "the decoded length, not the header's 2 s"


def test_a_link_whose_header_gives_no_length_is_measured_and_not_kept(tmp_path, lying):
    from pipeline import download
    from tests.support.media_factory import MediaServer

    site = tmp_path / "site"
    site.mkdir()
    (site / "talk.webm").write_bytes(lying["piped"].read_bytes())
    allowed = load_settings({"ALLOWED_NETWORKS": "127.0.0.0/8", "FLASK_SECRET_KEY": "k"}, tmp_path).allowed_networks
    with MediaServer(site) as server:
        result = download.fetch(
            f"{server.base_url}/talk.webm",
            "best",
            tmp_path / "video",
            lambda fraction: None,
            ffmpeg_binary(),
            download.Limits(10, 0),
            allowed,
        )
    assert isinstance(result, download.Downloaded) and result.path.is_file()
    with pytest.raises(LimitExceeded, match="MAX_VIDEO_DURATION_SECONDS=10"):
        download.verified(result, 10)
    assert not result.path.exists(), "a download over the limit is not kept"
