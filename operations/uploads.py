"""Resumable uploads in chunks: the bytes of a file arrive over many small requests.

The web server refuses any request body over 1 MiB before the login check runs, so nobody can make
it keep more than that without logging in; large files therefore come in chunks, after login:

1. `start` records the file's name, size and the submission options, and makes a folder for it, unless
   MAX_OPEN_UPLOADS are open already or what the open ones still announce would not fit on the disk;
2. `append` adds one chunk at the offset the client names (a chunk sent twice, or out of order,
   is refused with the offset the server has, so a client can always resume where it stopped);
3. the request whose chunk brings the last byte claims the upload, under the same lock, by renaming its
   folder: it alone checks the file by its content and moves it into place. Every later request for
   that upload (a chunk, an empty PATCH at the end, a DELETE) finds it gone.

Pending uploads live under DOWNLOAD_DIR/.uploads/<id>/ (so the final move is a rename) and are swept
after a day without a chunk, at most once a minute. Nothing here knows about Flask.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from pipeline.limits import DiskFull

SPOOL_FOLDER = ".uploads"
URL_PREFIX = "upload:"  # an uploaded video's url is upload:<file name>: nothing to download
CHUNK_BYTES = 2**20  # the most one request may carry; the web server's body limit is set from it
STALE_SECONDS = 24 * 3600
SWEEP_SECONDS = 60  # starting an upload sweeps stale ones at most this often (or when at the cap)
MAX_NAME = 200
FINISHING, ABANDONED, AGAIN = ".finishing", ".abandoned", ".again"  # claimed folders: no longer open
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_swept_at: dict[Path, float] = {}  # spool folder → when this process last swept it


class OffsetMismatch(ValueError):
    """The chunk does not start where the file ends; `offset` is where it does."""

    def __init__(self, sent: int, offset: int):
        super().__init__(f"this chunk starts at byte {sent} but the upload has {offset} bytes: resume from {offset}")
        self.offset = offset


class ChunkTooLong(ValueError):
    """The chunk would make the file larger than the size announced."""


class UploadGone(LookupError):
    """The upload was finished, abandoned or swept while this request waited for it."""


class TooManyOpen(RuntimeError):
    """MAX_OPEN_UPLOADS uploads are started and not yet finished or deleted."""


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
        try:
            return self.data.stat().st_size
        except FileNotFoundError:  # finished or abandoned a moment ago
            return 0

    @property
    def complete(self) -> bool:
        return self.offset == self.size


@dataclass(frozen=True)
class Appended:
    """Where the file ends after a chunk; `finished` is set for the one request whose chunk completed it:
    the upload, moved aside, for that request alone to finish (and then discard)."""

    offset: int
    finished: PendingUpload | None = None


def spool_dir(download_dir: Path) -> Path:
    return Path(download_dir) / SPOOL_FOLDER


def start(
    download_dir: Path, filename: str, size: int, options: dict[str, Any], *, max_open: int = 0, min_free_bytes: int = 0
) -> PendingUpload:
    """A new pending upload. Refused (TooManyOpen) when `max_open` are open (0: no cap), or (DiskFull)
    when its size and what the open ones still announce would leave under `min_free_bytes` free."""
    root = spool_dir(download_dir)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _spool_locked(root):
        if time.monotonic() - _swept_at.get(root, float("-inf")) >= SWEEP_SECONDS:
            _swept_at[root] = time.monotonic()
            sweep(download_dir)
        waiting = open_uploads(download_dir)
        if max_open and len(waiting) >= max_open:
            sweep(download_dir)  # stale ones never hold a slot
            waiting = open_uploads(download_dir)
        if max_open and len(waiting) >= max_open:
            raise TooManyOpen(
                f"{len(waiting)} uploads are open, the most MAX_OPEN_UPLOADS={max_open} allows: finish or delete "
                "one (DELETE /api/uploads/<id>) before starting another; unfinished ones expire after a day"
            )
        _check_room(root, waiting, size, min_free_bytes)
        folder = root / secrets.token_urlsafe(24)
        folder.mkdir(mode=0o700)
        meta = {"filename": filename, "size": size, "options": options}
        (folder / "meta.json").write_text(json.dumps(meta))
        (folder / "data.part").touch()
    return PendingUpload(folder, filename, size, options)


def _check_room(root: Path, waiting: list[PendingUpload], size: int, min_free_bytes: int) -> None:
    """Bytes announced count as written: 3,000 uploads of 2 GB must not all be accepted on a 1 TB disk."""
    free = shutil.disk_usage(root).free
    owed = sum(max(0, pending.size - pending.offset) for pending in waiting)
    if free - owed - size >= min_free_bytes:
        return
    mb = 2**20
    others = f" and the {len(waiting)} open uploads still announce {owed / mb:.0f} MB not yet sent" if owed else ""
    raise DiskFull(
        f"only {free / mb:.0f} MB free on the disk: this upload's {size / mb:.0f} MB{others} would leave less "
        f"than MIN_FREE_DISK_MB={min_free_bytes / mb:.0f}: finish or delete open uploads, or free some space"
    )


def open_uploads(download_dir: Path) -> list[PendingUpload]:
    """Uploads started and not yet finished, abandoned or swept."""
    root = spool_dir(download_dir)
    if not root.is_dir():
        return []
    found = (find(download_dir, folder.name) for folder in root.iterdir() if _TOKEN.match(folder.name))
    return [pending for pending in found if pending is not None]


# An upload begun before the video's choices were renamed (migration 15) finishes with the new names.
RENAMED_OPTIONS = {"auto": "wants_whole_pipeline", "clips": "wants_clips"}


def find(download_dir: Path, upload_id: str) -> PendingUpload | None:
    """The pending upload with this id; None for an unknown or malformed id (never a path outside)."""
    if not _TOKEN.match(upload_id):
        return None
    folder = spool_dir(download_dir) / upload_id
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    options = {RENAMED_OPTIONS.get(key, key): value for key, value in meta["options"].items()}
    return PendingUpload(folder, meta["filename"], int(meta["size"]), options)


def append(pending: PendingUpload, offset: int, chunk: bytes) -> Appended:
    """Write `chunk` at `offset`, which must be the current end. The request whose chunk completes the
    file claims it before the lock is let go; an empty chunk never does."""
    with _locked_data(pending) as handle:
        current = handle.seek(0, os.SEEK_END)
        if current >= pending.size:  # complete but never claimed (the process died): only the sweep ends it
            raise UploadGone(pending.id)
        if offset != current:
            raise OffsetMismatch(offset, current)
        if current + len(chunk) > pending.size:
            raise ChunkTooLong(f"the chunk goes past the {pending.size} bytes announced for this upload")
        if not chunk:
            return Appended(current)
        handle.write(chunk)
        handle.flush()
        end = current + len(chunk)
        return Appended(end, _claim(pending, FINISHING) if end == pending.size else None)


def abandon(pending: PendingUpload) -> None:
    """Delete an upload the client gives up; UploadGone when it finished or went meanwhile."""
    with _locked_data(pending):
        claimed = _claim(pending, ABANDONED)
    discard(claimed)


def discard(pending: PendingUpload) -> None:
    shutil.rmtree(pending.folder, ignore_errors=True)


def second_name(download_dir: Path, source: Path, min_free_bytes: int) -> Path:
    """Another name for a stored upload's file, in a folder of its own under the spool, to become another
    video's file (moved into place like an upload): a hard link, else a copy where the disk has room."""
    folder = spool_dir(download_dir) / (secrets.token_urlsafe(24) + AGAIN)
    folder.mkdir(parents=True, mode=0o700)
    target = folder / "data.part"
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        try:
            _check_room(folder, [], source.stat().st_size, min_free_bytes)
            shutil.copyfile(source, target)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return target


def sweep(download_dir: Path, now: float | None = None) -> int:
    """Remove uploads that received nothing for STALE_SECONDS; returns how many."""
    root = spool_dir(download_dir)
    if not root.is_dir():
        return 0
    cutoff = (now or time.time()) - STALE_SECONDS
    removed = 0
    for folder in root.iterdir():
        if _stale(folder, cutoff) and _remove(folder, cutoff):
            removed += 1
    return removed


def _stale(folder: Path, cutoff: float) -> bool:
    data = folder / "data.part"
    try:
        return (data if data.exists() else folder).stat().st_mtime < cutoff
    except OSError:
        return False


def _remove(folder: Path, cutoff: float) -> bool:
    """A stale open upload is claimed first, so a chunk arriving right now finds it gone rather than
    half-deleted; one busy at this moment is left for the next sweep."""
    if not (_TOKEN.match(folder.name) and (folder / "data.part").exists()):
        shutil.rmtree(folder, ignore_errors=True)
        return True
    pending = PendingUpload(folder, "", 0, {})
    try:
        with _locked_data(pending, wait=False):
            if not _stale(folder, cutoff):
                return False
            claimed = _claim(pending, ABANDONED)
    except (UploadGone, BlockingIOError):
        return False
    discard(claimed)
    return True


@contextmanager
def _spool_locked(root: Path) -> Iterator[None]:
    """One start at a time (across processes too), so two cannot both take the last slot."""
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


@contextmanager
def _locked_data(pending: PendingUpload, wait: bool = True) -> Iterator[BinaryIO]:
    """The upload's file, locked, and still the open upload's once the lock is held (not one claimed by
    the request that held the lock before); UploadGone otherwise. Never creates the file."""
    try:
        handle = open(pending.data, "r+b")  # noqa: SIM115  (closed below)
    except (FileNotFoundError, NotADirectoryError):
        raise UploadGone(pending.id) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        try:
            now_there = os.stat(pending.data)
        except FileNotFoundError:
            raise UploadGone(pending.id) from None
        held = os.fstat(handle.fileno())
        if (now_there.st_dev, now_there.st_ino) != (held.st_dev, held.st_ino):
            raise UploadGone(pending.id)
        yield handle


def _claim(pending: PendingUpload, suffix: str) -> PendingUpload:
    """Take the upload out of the open ones (an atomic rename: `find` no longer sees it); call with its
    file locked."""
    folder = pending.folder.with_name(pending.folder.name + suffix)
    os.rename(pending.folder, folder)
    return PendingUpload(folder, pending.filename, pending.size, pending.options)
