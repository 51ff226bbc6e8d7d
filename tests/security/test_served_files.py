"""Stored XSS: nothing the app serves can run script on its origin — not a site's SVG "thumbnail",
not an HTML+MP3 polyglot uploaded as talk.html — and every response carries nosniff and a CSP."""

from __future__ import annotations

from pathlib import Path

import pytest

import store.engine
import store.videos
from operations import layout, videos
from pipeline.download import Downloaded, fetch
from pipeline.netguard import parse_networks
from tests.security.conftest import RecordingServer, send, send_file
from tests.support.media_factory import make_video, run_ffmpeg
from tests.support.upload_client import upload

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script></svg>'
HTML = b"<html><body><script>fetch('/api/videos').then(r => r.text()).then(alert)</script></body></html>\n"


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("xss") / "talk.mp4", 320, 240, duration=1)


@pytest.fixture(scope="module")
def polyglot(tmp_path_factory) -> bytes:
    """An HTML page followed by an MP3: a browser sniffing it sees HTML, ffmpeg finds the audio."""
    mp3 = tmp_path_factory.mktemp("polyglot") / "tone.mp3"
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=3", "-c:a", "libmp3lame", str(mp3))
    return HTML + mp3.read_bytes()


def test_an_svg_thumbnail_is_never_kept_as_svg(tmp_path, mp4):
    routes = {"/talk.mp4": send_file(mp4, "video/mp4"), "/thumb.svg": send(SVG, "image/svg+xml")}
    with RecordingServer(routes=routes) as site:
        page = (
            f'<html><head><meta property="og:image" content="{site.base_url}/thumb.svg">'
            '<meta property="og:title" content="Talk"></head>'
            '<body><video src="/talk.mp4" controls></video></body></html>'
        )
        routes["/page"] = send(page.encode(), "text/html")
        result = fetch(
            f"{site.base_url}/page", "best", tmp_path / "v", lambda f: None, allowed=parse_networks("127.0.0.1/32")
        )
    assert isinstance(result, Downloaded)
    assert "/thumb.svg" in site.requests, "the site's thumbnail was read"
    assert not list((tmp_path / "v").glob("*.svg")), "the SVG itself is never kept"
    if result.thumbnail_path is not None:  # ffmpeg with librsvg draws it; without, it is dropped
        assert result.thumbnail_path.name == "thumbnail.jpg"
        assert result.thumbnail_path.read_bytes()[:3] == b"\xff\xd8\xff"
        assert b"<script" not in result.thumbnail_path.read_bytes()


def _video_with(app, **paths: str) -> int:
    conn = store.engine.connect_to(app.config["SETTINGS"])
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url="https://example.org/v"))
        store.videos.update_video(conn, video_id, **paths)
    conn.close()
    return video_id


def test_a_thumbnail_url_yt_dlp_cannot_fetch_costs_only_the_thumbnail(tmp_path, mp4):
    page = (
        '<html><head><meta property="og:image" content="gopher://x/thumb.png"><meta property="og:title" content="T">'
        '</head><body><video src="/talk.mp4" controls></video></body></html>'
    )
    routes = {"/page": send(page.encode(), "text/html"), "/talk.mp4": send_file(mp4, "video/mp4")}
    with RecordingServer(routes=routes) as site:
        result = fetch(
            f"{site.base_url}/page", "best", tmp_path / "v", lambda f: None, allowed=parse_networks("127.0.0.1/32")
        )
    assert isinstance(result, Downloaded) and result.thumbnail_path is None


def test_a_stored_svg_or_html_thumbnail_is_not_served(app, client):
    folder = layout.video_dir(app.config["SETTINGS"].download_dir, 1)
    folder.mkdir(parents=True)
    for name, body in (("thumbnail.svg", SVG), ("thumbnail.jpg", HTML)):
        (folder / name).write_bytes(body)
        video_id = _video_with(app, thumbnail_path=str(folder / name))
        response = client.get(f"/media/thumbnails/{video_id}")
        assert response.status_code == 404, name
        assert b"<script" not in response.data


def test_a_real_thumbnail_is_served_as_jpeg_in_a_sandbox(app, client, mp4):
    from pipeline.media import grab_frame

    folder = layout.video_dir(app.config["SETTINGS"].download_dir, 1)
    folder.mkdir(parents=True)
    frame = grab_frame(mp4, folder / "frame.jpg")
    response = client.get(f"/media/thumbnails/{_video_with(app, thumbnail_path=str(frame))}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_an_html_mp3_polyglot_upload_is_never_served_as_html(client, polyglot, settings_env):
    response = upload(client, polyglot, "talk.html")
    if response.status_code == 400:  # refused as not media: nothing stored, nothing to serve
        assert "not a media file" in response.get_json()["error"]
        assert client.get("/api/videos").get_json()["total"] == 0
        return
    assert response.status_code == 201, response.get_json()
    video_id = response.get_json()["videos"][0]["id"]
    stored = Path(client.get(f"/api/videos/{video_id}").get_json()["video_path"])
    assert stored.suffix == ".mp3", "the name comes from the detected container, never the user's extension"
    served = client.get(f"/media/videos/{video_id}")
    assert served.status_code == 200
    assert served.mimetype in ("audio/mpeg", "application/octet-stream")
    assert "html" not in served.headers["Content-Type"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    if served.mimetype == "application/octet-stream":
        assert served.headers["Content-Disposition"].startswith("attachment")


def test_media_of_unknown_type_is_only_offered_as_a_download(app, client):
    folder = layout.video_dir(app.config["SETTINGS"].download_dir, 1)
    folder.mkdir(parents=True)
    (folder / "video.mp4").write_bytes(HTML)
    response = client.get(f"/media/videos/{_video_with(app, video_path=str(folder / 'video.mp4'))}")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    "path", ["/", "/login", "/errors", "/api/videos", "/api/videos/999", "/nope", "/static/app.css"]
)
def test_every_response_carries_nosniff_and_a_csp_without_inline_script(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "unsafe-eval" not in policy


def test_templates_hold_no_inline_script_or_handlers():
    root = Path(__file__).resolve().parents[2] / "templates"
    for template in root.glob("*.html"):
        text = template.read_text()
        for opening in text.split("<script")[1:]:
            tag = opening.split(">", 1)[0]
            assert "src=" in tag or 'type="application/json"' in tag, f"inline script in {template.name}"
        assert " onclick=" not in text and " onload=" not in text and "javascript:" not in text, template.name
