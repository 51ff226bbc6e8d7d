"""Hostile input: files outside the managed folders, redirects to local files, shells."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

import store.engine
import store.videos
from operations import layout, videos
from pipeline.download import DownloadError, fetch
from pipeline.netguard import parse_networks
from tests.support.media_factory import make_video


@pytest.fixture
def video_id(app) -> int:
    conn = store.engine.connect_to(app.config["SETTINGS"])
    with store.engine.transaction(conn):
        new_id = videos.create_video(conn, videos.VideoRequest(url="https://example.org/v"))
    conn.close()
    return new_id


def point_video_at(app, video_id: int, path: str) -> None:
    conn = store.engine.connect_to(app.config["SETTINGS"])
    with store.engine.transaction(conn):
        store.videos.update_video(conn, video_id, video_path=path)
    conn.close()


@pytest.mark.parametrize("path", ["/etc/passwd", "{downloads}/../../../../etc/passwd", "{downloads}/../clipper.db"])
def test_media_routes_serve_nothing_outside_the_managed_folders(app, client, video_id, path):
    downloads = app.config["SETTINGS"].download_dir
    point_video_at(app, video_id, path.format(downloads=downloads))
    assert client.get(f"/media/videos/{video_id}").status_code == 404


def test_media_route_serves_the_managed_file_with_ranges(app, client, video_id):
    folder = layout.video_dir(app.config["SETTINGS"].download_dir, video_id)
    path = make_video(folder / "video.mp4", 320, 240, duration=1)
    point_video_at(app, video_id, str(path))
    assert client.get(f"/media/videos/{video_id}").data == path.read_bytes()
    partial = client.get(f"/media/videos/{video_id}", headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and len(partial.data) == 100


def test_paths_in_urls_are_not_followed(client):
    for path in ("/media/videos/..%2F..%2Fetc%2Fpasswd", "/media/clips/1.py", "/media/clips/../../etc/passwd"):
        assert client.get(path).status_code == 404, path


class _RedirectToFile(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", "file:///etc/passwd")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_yt_dlp_does_not_follow_a_redirect_to_a_local_file(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _RedirectToFile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(DownloadError, match="the download failed: "):
            url = f"http://127.0.0.1:{server.server_address[1]}/video"
            fetch(url, "best", tmp_path / "v", lambda f: None, allowed=parse_networks("127.0.0.1/32"))
    finally:
        server.shutdown()
    assert not list(tmp_path.rglob("*passwd*"))


def test_no_subprocess_runs_through_a_shell():
    root = Path(__file__).resolve().parents[2]
    sources = [
        path
        for folder in ("pipeline", "store", "operations", "events", "runtime", "tasks", "routes")
        for path in (root / folder).rglob("*.py")
    ]
    offenders = [
        str(path) for path in [*sources, root / "app.py", root / "serve.py"] if "shell=True" in path.read_text()
    ]
    assert offenders == [], "subprocesses take argument lists, never a shell command line"
