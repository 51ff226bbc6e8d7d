"""Downloading with yt-dlp: URL checks, playlist expansion, resolution choice and progress.

Nothing here knows about Flask or Celery: functions take plain values and a `progress(fraction)`
callback, and raise `DownloadError` with one line a person can act on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yt_dlp

from pipeline import media, netguard
from pipeline.errors import StepError
from pipeline.limits import LimitExceeded, check_free_space, check_media_duration, duration_refusal
from pipeline.redact import RedactingFilter, redact_url
from pipeline.types import Progress

log = logging.getLogger(__name__)
log.addFilter(RedactingFilter())  # yt-dlp logs through this logger, URLs (and their credentials) included

ALLOWED_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2048
RESOLUTIONS = ("best", "1080", "720", "480", "360")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _GuardedYoutubeDL(yt_dlp.YoutubeDL):
    """yt-dlp whose every connection is checked by `netguard` (see `_install_guard`)."""

    def build_request_director(self, handlers, preferences=None):
        # Only the urllib handler: its connections are the ones routed through the guard.
        return super().build_request_director([h for h in handlers if h.RH_KEY == "Urllib"], preferences)

    def _write_thumbnails(self, *args, **kwargs):
        try:
            return super()._write_thumbnails(*args, **kwargs)  # type: ignore[misc]  # private: not in types-yt-dlp
        except yt_dlp.utils.YoutubeDLError as error:  # a page's bad thumbnail URL costs the thumbnail only
            log.warning("thumbnail skipped: %s", error)
            return []


def _install_guard() -> None:
    from yt_dlp.networking import _urllib  # type: ignore[attr-defined]  # private module: not in types-yt-dlp

    _urllib.create_connection = netguard.guarded_connection


_install_guard()


class InvalidURL(ValueError):
    """A submitted URL that will never download; rejected before any row is made."""


class DownloadError(StepError):
    """yt-dlp failed; the message is one line that says what to check."""


@dataclass(frozen=True)
class Downloaded:
    path: Path
    title: str | None
    uploader: str | None
    duration: float | None
    thumbnail_url: str | None
    thumbnail_path: Path | None


def validate_url(raw: Any, allowed: tuple[netguard.Network, ...] = ()) -> str:
    """Return the cleaned URL or raise InvalidURL saying why it is refused.

    A host given as an internal IP address (or `localhost`) is refused here already; names are
    checked on their resolved addresses when the download connects.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidURL("empty URL: paste a link starting with http:// or https://")
    url = raw.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 32 for char in url):
        raise InvalidURL("URL contains spaces or control characters: paste one link per line")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise InvalidURL(f"malformed URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise InvalidURL(f"unsupported scheme ({shown}): only http:// and https:// links are accepted")
    if not parts.hostname:
        raise InvalidURL("malformed URL: no host name")
    refused = netguard.check_host(parts.hostname, allowed)
    if refused:
        raise InvalidURL(refused)
    return url


def format_options(resolution: str) -> dict[str, Any]:
    """Best rendition at or below the height asked, else the lowest above it (yt-dlp's `res:` sort); at
    that height H.264 before VP9 or AV1, because clips of an H.264 source are smart cut (most of their
    frames copied, not encoded again: pipeline/smartcut.py)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    height = "res" if resolution == "best" else f"res:{resolution}"
    return {"format": "bv*+ba/b", "merge_output_format": "mp4", "format_sort": [height, "vcodec:h264"]}


def _base_options(ffmpeg: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": False,
        "socket_timeout": 30,
        "retries": 3,
        "color": {"stderr": "never", "stdout": "never"},
        "logger": log,
        # Refuse file:// and friends even if a page redirects there.
        "enable_file_urls": False,
        # Every byte comes through yt-dlp's own (guarded) connections: never hand a URL to ffmpeg,
        # whose connections nothing checks. If yt-dlp falls back to ffmpeg anyway, it may read no network.
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        "external_downloader_args": {"ffmpeg_i": ["-protocol_whitelist", "file,crypto,data"]},
    }
    if ffmpeg:
        options["ffmpeg_location"] = ffmpeg
    return options


_REFUSED = re.compile(r"refused: .*? to allow it")


# What went wrong, in words a person can act on, by what yt-dlp said (first match wins).
DOWNLOAD_PROBLEMS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), problem, hint)
    for pattern, problem, hint in (
        (r"HTTP Error 404|\b404\b.*not found", "the page was not found (HTTP 404)", "check the link"),
        (
            r"private video|video is private|members[- ]only|join this channel",
            "the video is private or for members only",
            "use a public link, or download it yourself and upload the file",
        ),
        (
            r"sign in to confirm your age|age[- ]restricted|inappropriate for some users",
            "the video is age-restricted",
            "download it yourself and upload the file",
        ),
        (
            r"requested format (is )?not available",
            "no download matches the chosen resolution",
            "choose another resolution (or best)",
        ),
        (
            r"video unavailable|has been removed|no longer available|video is not available|HTTP Error 410",
            "the video was removed or is not available",
            "check the link",
        ),
        (r"HTTP Error 403", "the site refused access (HTTP 403)", "the video may be private or blocked in this region"),
        (
            r"urlopen error|connection (refused|reset|aborted)|timed? ?out|name or service not known|"
            r"temporary failure in name resolution|network is unreachable|no route to host|getaddrinfo|"
            r"remote end closed|EOF occurred",
            "the site could not be reached",
            "check the internet connection, then retry",
        ),
        (r"unsupported url", "no video was found at this address", "check the link"),
    )
)


def one_line_error(error: BaseException, url: str) -> str:
    """yt-dlp's multi-line, coloured message as one sentence a person can act on, with no credentials in
    it: what went wrong (not found, private, removed, unreachable...), the link, and what to do."""
    url = redact_url(url)
    refused = _REFUSED.search(str(error))
    if refused:
        return f"{refused.group(0)} ({url})"
    text = _ANSI.sub("", str(error)).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
    for pattern, problem, hint in DOWNLOAD_PROBLEMS:
        if pattern.search(str(error)):
            return f"{problem} ({url}): {hint}"
    text = re.sub(r"^ERROR:\s*", "", text)
    text = re.sub(r"^\[[\w:]+\]\s*(\S+:\s*)?", "", text)
    text = redact_url(text.split(" (caused by ")[0])[:200]
    return f"the download failed: {text} ({url}): check the link, then retry"


def _entry_urls(info: Mapping[str, Any]) -> list[str]:
    urls = []
    for entry in info.get("entries") or []:
        entry_url = (entry.get("webpage_url") or entry.get("url")) if entry else None
        if entry_url:  # extractors may smuggle private data into the URL; keep the address only
            urls.append(yt_dlp.utils.unsmuggle_url(entry_url)[0])
    return urls


def checked_entries(urls: list[str], allowed: tuple[netguard.Network, ...] = ()) -> list[str]:
    """A playlist's entries that pass the same checks as a submitted URL; the others are logged and dropped."""
    kept = []
    for url in urls:
        try:
            kept.append(validate_url(url, allowed))
        except InvalidURL as error:
            log.warning("playlist entry %s skipped: %s", redact_url(url), error)
    return kept


def _progress_hook(progress: Progress) -> Callable[[dict[str, Any]], None]:
    def hook(status: dict[str, Any]) -> None:
        if status.get("status") == "finished":
            progress(0.99)
            return
        if status.get("status") != "downloading":
            return
        if status.get("fragment_count"):
            fraction = (status.get("fragment_index") or 0) / status["fragment_count"]
        else:
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            fraction = (status.get("downloaded_bytes") or 0) / total if total else 0.0
        progress(min(fraction, 0.99))

    return hook


@dataclass(frozen=True)
class Playlist:
    """The URL named several videos; each entry becomes a video of its own."""

    title: str | None
    entry_urls: list[str]


@dataclass(frozen=True)
class Limits:
    """Refusals made before any byte of media is written."""

    max_duration_seconds: float = 0.0  # 0: no limit
    min_free_bytes: int = 0


def fetch(
    url: str,
    resolution: str,
    dest_dir: Path,
    progress: Progress,
    ffmpeg: str | None = None,
    limits: Limits = Limits(),
    allowed: tuple[netguard.Network, ...] = (),
) -> Downloaded | Playlist:
    """Download the video at `url` into `dest_dir` as `video.<ext>`, or list a playlist's entries.

    One extraction serves both cases: the info is read unprocessed first, and only a single video
    goes on to format selection and download. Connections reach public addresses and `allowed` only.
    """
    refusals: list[str] = []
    options = _base_options(ffmpeg) | format_options(resolution)
    options |= {
        "noplaylist": True,
        "outtmpl": {"default": str(dest_dir / "video.%(ext)s"), "thumbnail": str(dest_dir / "thumbnail.%(ext)s")},
        "writethumbnail": True,
        "progress_hooks": [_progress_hook(progress)],
        "overwrites": True,
        "continuedl": False,
        "match_filter": _refuse_when(limits, dest_dir, refusals),
    }
    try:
        with netguard.allowing(allowed), _GuardedYoutubeDL(options) as ydl:  # type: ignore[arg-type]  # yt-dlp's keys, as a plain dict
            info = ydl.extract_info(url, download=False, process=False)
            if info and info.get("_type") in ("playlist", "multi_video"):
                return Playlist(title=info.get("title"), entry_urls=_entry_urls(info))
            check_free_space(dest_dir, limits.min_free_bytes)
            dest_dir.mkdir(parents=True, exist_ok=True)
            info = ydl.process_ie_result(info, download=True)
            if refusals:
                raise LimitExceeded(refusals[0])
            path = Path(ydl.prepare_filename(info))
    except yt_dlp.utils.YoutubeDLError as error:  # DownloadError and the networking errors that escape it
        raise DownloadError(one_line_error(error, url)) from error
    return Downloaded(
        path=_final_path(path, info),
        title=info.get("title"),
        uploader=info.get("uploader") or info.get("channel"),
        duration=info.get("duration"),
        thumbnail_url=info.get("thumbnail"),
        thumbnail_path=_thumbnail(dest_dir, ffmpeg),
    )


def _refuse_when(limits: Limits, dest_dir: Path, refusals: list[str]) -> Callable[..., str | None]:
    """A yt-dlp match filter: a returned reason makes yt-dlp skip the download, which we then report."""

    def check(info: dict[str, Any], *, incomplete: bool = False) -> str | None:
        reason = duration_refusal(info.get("duration"), limits.max_duration_seconds)
        if not reason:
            try:
                check_free_space(dest_dir, limits.min_free_bytes, _expected_bytes(info))
            except LimitExceeded as error:
                reason = str(error)
        if reason:
            refusals.append(reason)
        return reason

    return check


def _expected_bytes(info: dict[str, Any]) -> int:
    """What the chosen formats say they weigh (often unknown for HLS: then 0)."""
    formats = info.get("requested_formats") or [info]
    return int(sum(item.get("filesize") or item.get("filesize_approx") or 0 for item in formats))


def _final_path(path: Path, info: Mapping[str, Any]) -> Path:
    """Merging can change the extension after prepare_filename; find the file actually written."""
    candidates = [Path(item["filepath"]) for item in info.get("requested_downloads") or [] if item.get("filepath")]
    candidates += [path, path.with_suffix(".mp4")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DownloadError(f"yt-dlp reported success but no file was written in {path.parent.name}: retry the download")


def _thumbnail(dest_dir: Path, ffmpeg: str | None) -> Path | None:
    """The site's thumbnail redrawn as thumbnail.jpg, or None (a frame of the video stands in later)."""
    for candidate in sorted(dest_dir.glob("thumbnail.*")):
        return media.thumbnail_jpeg(candidate, dest_dir / "thumbnail.jpg", ffmpeg or media.ffmpeg_binary())
    return None


def verified(result: Downloaded, max_duration_seconds: int, ffmpeg: str = "") -> media.MediaInfo:
    """What ffmpeg finds in a finished download. Some sources (HLS) only reveal their length once
    downloaded, and a file written to a pipe never does: the duration limit is checked again here, on a
    measured length when the header gives none, and a refused file is not kept."""
    try:
        return check_media_duration(result.path, media.probe(result.path), max_duration_seconds, ffmpeg)
    except LimitExceeded:
        result.path.unlink(missing_ok=True)
        raise
