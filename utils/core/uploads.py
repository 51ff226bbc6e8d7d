"""Resumable uploads in chunks: the bytes of a file arrive over many small requests.

The web server refuses any request body over 1 MiB before the login check runs, so nobody can make
it keep more than that without logging in; large files therefore come in chunks, after login:

1. `start` records the file's name, size and the submission options, and makes a folder for it;
2. `append` adds one chunk at the offset the client names (a chunk sent twice, or out of order,
   is refused with the offset the server has, so a client can always resume where it stopped);
3. when every byte is there, the caller checks the file by its content and moves it into place.

Pending uploads live under DOWNLOAD_DIR/.uploads/<id>/ (so the final move is a rename) and are swept
after a day without a chunk. Nothing here knows about Flask.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

SPOOL_FOLDER = ".uploads"
CHUNK_BYTES = 2**20  # the most one request may carry; the web server's body limit is set from it
STALE_SECONDS = 24 * 3600
MAX_NAME = 200
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class OffsetMismatch(ValueError):
    """The chunk does not start where the file ends; `offset` is where it does."""

    def __init__(self, sent: int, offset: int):
        super().__init__(f"this chunk starts at byte {sent} but the upload has {offset} bytes: resume from {offset}")
        self.offset = offset


class ChunkTooLong(ValueError):
    """The chunk would make the file larger than the size announced."""


def display_name(filename: Any) -> str:
    """The last path component of what the browser sent, for titles; never used as a file name."""
    name = PurePosixPath(str(filename or "").replace("\\", "/")).name.strip()
    return name[:MAX_NAME] or "upload"


@dataclass(frozen=True)
class PendingUpload:
    folder: Path
    filename: str
    size: int
    options: dict[str, Any]

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def data(self) -> Path:
        return self.folder / "data.part"

    @property
    def offset(self) -> int:
        return self.data.stat().st_size if self.data.exists() else 0

    @property
    def complete(self) -> bool:
        return self.offset == self.size


def spool_dir(download_dir: Path) -> Path:
    return Path(download_dir) / SPOOL_FOLDER


def start(download_dir: Path, filename: str, size: int, options: dict[str, Any]) -> PendingUpload:
    sweep(download_dir)
    folder = spool_dir(download_dir) / secrets.token_urlsafe(24)
    folder.mkdir(parents=True, mode=0o700)
    meta = {"filename": filename, "size": size, "options": options}
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "data.part").touch()
    return PendingUpload(folder, filename, size, options)


def find(download_dir: Path, upload_id: str) -> PendingUpload | None:
    """The pending upload with this id; None for an unknown or malformed id (never a path outside)."""
    if not _TOKEN.match(upload_id):
        return None
    folder = spool_dir(download_dir) / upload_id
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    return PendingUpload(folder, meta["filename"], int(meta["size"]), meta["options"])


def append(pending: PendingUpload, offset: int, chunk: bytes) -> int:
    """Write `chunk` at `offset`, which must be the current end; returns the new end."""
    with open(pending.data, "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two requests for one upload: one at a time
        current = handle.seek(0, os.SEEK_END)
        if offset != current:
            raise OffsetMismatch(offset, current)
        if current + len(chunk) > pending.size:
            raise ChunkTooLong(f"the chunk goes past the {pending.size} bytes announced for this upload")
        handle.write(chunk)
        return current + len(chunk)


def discard(pending: PendingUpload) -> None:
    shutil.rmtree(pending.folder, ignore_errors=True)


def sweep(download_dir: Path, now: float | None = None) -> int:
    """Remove uploads that received nothing for STALE_SECONDS; returns how many."""
    root = spool_dir(download_dir)
    if not root.is_dir():
        return 0
    cutoff = (now or time.time()) - STALE_SECONDS
    removed = 0
    for folder in root.iterdir():
        data = folder / "data.part"
        try:
            stamp = (data if data.exists() else folder).stat().st_mtime
        except OSError:
            continue
        if stamp < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
