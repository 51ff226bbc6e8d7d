"""What a stored file is, from its bytes: the content type it is served with, and upload names.

Files are served with a type from a short allowlist, found by reading the file's first bytes, never
from its name. Anything that is not recognised is served as an attachment of type
application/octet-stream, so a browser never renders it (no HTML, no SVG, no script).
"""

from __future__ import annotations

from pathlib import Path

OCTET_STREAM = "application/octet-stream"
_HEAD = 64


def _iso_media(head: bytes) -> str | None:
    """MP4/MOV/M4A: an `ftyp` box at offset 4; audio-only brands get audio/mp4."""
    if head[4:8] != b"ftyp":
        return None
    return "audio/mp4" if head[8:12] in (b"M4A ", b"M4B ", b"F4A ") else "video/mp4"


def _riff(head: bytes) -> str | None:
    if head[:4] != b"RIFF":
        return None
    return {b"WAVE": "audio/wav", b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}.get(head[8:12])


def _mpeg_audio(head: bytes) -> str | None:
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        return "audio/mpeg"  # an ID3 tag, or an MPEG audio frame sync with layer bits set
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"  # ADTS
    return None


_PREFIXES = {
    b"\x1a\x45\xdf\xa3": "video/webm",  # EBML: WebM and Matroska, which browsers play as WebM
    b"OggS": "audio/ogg",
    b"fLaC": "audio/flac",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"FLV\x01": "video/x-flv",
}


def media_type(path: Path | str) -> str:
    """The served content type of a media or image file, from its first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(_HEAD)
    for prefix, mimetype in _PREFIXES.items():
        if head.startswith(prefix):
            return mimetype
    if len(head) > 0 and head[0] == 0x47 and _ts_sync(path):
        return "video/mp2t"
    return _iso_media(head) or _riff(head) or _mpeg_audio(head) or OCTET_STREAM


def _ts_sync(path: Path | str) -> bool:
    """MPEG-TS: a sync byte 0x47 every 188 bytes."""
    with open(path, "rb") as handle:
        data = handle.read(188 * 3 + 1)
    return len(data) > 376 and all(data[index] == 0x47 for index in (0, 188, 376))


def is_image(path: Path | str) -> bool:
    return media_type(path) in ("image/jpeg", "image/png", "image/webp")


def text_type(path: Path | str, mimetype: str) -> str:
    """`mimetype` for a UTF-8 text file we wrote (subtitles, transcripts); octet-stream otherwise."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if b"\x00" in head:
        return OCTET_STREAM
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a character cut at the 4096-byte boundary is fine
            return OCTET_STREAM
    return mimetype


# ffmpeg's demuxer name (first of its comma-separated list) → the extension an upload is stored under.
CONTAINER_EXTENSIONS = {
    "mov": "mp4",
    "matroska": "mkv",
    "webm": "webm",
    "mp3": "mp3",
    "wav": "wav",
    "ogg": "ogg",
    "flac": "flac",
    "aac": "aac",
    "mpegts": "ts",
    "avi": "avi",
    "flv": "flv",
    "asf": "wmv",
    "mpeg": "mpg",
    "ipod": "m4a",
    "mxf": "mxf",
    "dv": "dv",
    "aiff": "aiff",
    "amr": "amr",
    "caf": "caf",
    "wv": "wv",
    "w64": "w64",
}


def is_media_container(container: str) -> bool:
    """One of the audio and video containers above. Not a playlist or list of files (HLS, DASH, ffconcat,
    webm_dash_manifest, IMF...): ffmpeg would open what those name when the file is read again."""
    return container.split(",")[0].strip() in CONTAINER_EXTENSIONS


def stored_extension(container: str, has_video: bool) -> str:
    """Where an upload's bytes go: an extension chosen from the detected container, never the user's."""
    first = container.split(",")[0].strip()
    extension = CONTAINER_EXTENSIONS.get(first, "media")
    return "m4a" if extension == "mp4" and not has_video else extension
