"""Generated media for tests and benchmarks: ffmpeg lavfi pictures and tones, HLS renditions,
and a loopback HTTP server that stands in for YouTube (never any address outside 127.0.0.1)."""

from __future__ import annotations

import functools
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from pipeline.media import ffmpeg_binary

RENDITIONS = {360: (640, 360, 800_000), 720: (1280, 720, 2_500_000)}


def run_ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_video(
    path: Path,
    width: int = 640,
    height: int = 360,
    duration: float = 4.0,
    audio: bool = True,
    keyframe_seconds: float | None = None,
) -> Path:
    """An H.264/AAC MP4 with a test picture and (optionally) a tone. By default its only keyframe is the
    first frame; with `keyframe_seconds` it is encoded as sites encode: a keyframe that often, B-frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={duration}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={duration}"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if keyframe_seconds:
        codecs = [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            str(round(25 * keyframe_seconds)),
            "-pix_fmt",
            "yuv420p",
        ]
    codecs += ["-c:a", "aac", "-shortest"] if audio else ["-an"]
    run_ffmpeg(*inputs, *codecs, str(path))
    return path


def make_hls(root: Path, duration: float = 4.0) -> Path:
    """A master playlist with a 360p and a 720p rendition, each with audio, in one-second segments."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for height, (width, _, bandwidth) in RENDITIONS.items():
        folder = root / f"{height}p"
        folder.mkdir(parents=True, exist_ok=True)
        source = make_video(root / f"source_{height}.mp4", width, height, duration)
        run_ffmpeg("-i", str(source), "-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
                   "-hls_segment_filename", str(folder / "seg%03d.ts"), str(folder / "index.m3u8"))  # fmt: skip
        lines.append(
            f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height},CODECS="avc1.64001f,mp4a.40.2"'
        )
        lines.append(f"{height}p/index.m3u8")
    master = root / "master.m3u8"
    master.write_text("\n".join(lines) + "\n")
    return master


def make_rss(root: Path, base_url: str, media_names: list[str]) -> Path:
    """An RSS feed whose enclosures are local files: yt-dlp's generic extractor reads it as a playlist."""
    items = "".join(
        f"<item><title>Episode {n}</title><guid>ep{n}</guid><link>{base_url}/{name}</link>"
        f'<enclosure url="{base_url}/{name}" type="video/mp4" length="1"/></item>'
        for n, name in enumerate(media_names, start=1)
    )
    feed = root / "feed.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test feed</title>{items}</channel></rss>')
    return feed


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".m3u8": "application/vnd.apple.mpegurl",
        ".ts": "video/mp2t",
        ".xml": "application/rss+xml",
    }

    def log_message(self, *args) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # clients (yt-dlp, browsers) hang up mid-file on purpose; that is not a failure


class MediaServer:
    """Serves a folder on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> MediaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_talk_video(
    path: Path,
    speech: Path,
    width: int = 1280,
    height: int = 720,
    duration: float = 12.0,
    colour: str = "0x406080",
    keyframe_seconds: float | None = None,
) -> Path:
    """An H.264/AAC MP4 of real speech (a recording, e.g. from ../shared/devset) over a plain picture of
    one colour, so anything drawn on it (captions) stands out pixel for pixel; with `keyframe_seconds`
    encoded as sites encode (a keyframe that often, B-frames), so it can be smart cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    gop = ["-g", str(round(25 * keyframe_seconds))] if keyframe_seconds else []
    run_ffmpeg("-f", "lavfi", "-i", f"color=c={colour}:size={width}x{height}:rate=25:duration={duration}",
               "-i", str(speech), "-map", "0:v", "-map", "1:a", "-t", str(duration),
               "-c:v", "libx264", "-preset", "veryfast", *gop, "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-ar", "44100", str(path))  # fmt: skip
    return path
