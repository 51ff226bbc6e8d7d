"""Upload a local media file as a video, in chunks that can be resumed (see `utils.uploads`).

    POST   /api/uploads              {"filename", "size", and the URL form's options} → {"id", "offset": 0, ...}
    PATCH  /api/uploads/<id>         body: up to chunk_bytes raw bytes, header Upload-Offset → {"offset"}
    GET    /api/uploads/<id>         → {"offset", "size"}: where to resume
    DELETE /api/uploads/<id>         abandon it

The PATCH that brings the last byte checks the file by its content (`utils.media.probe`: the name
proves nothing) and its length, stores it as DOWNLOAD_DIR/<video id>/video.<ext> with an extension
chosen from the detected container, and answers 201 with the new video, its download step done.
With `auto` on, the steps that were waiting for it are queued as a finished download would queue them.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from flask import jsonify, request

from routes import get_db, settings, step_service
from routes.api import BadRequest, NotFound, api, json_body
from routes.api.videos import submission_options
from utils.core import db, library, uploads
from utils.pipeline.filetypes import stored_extension
from utils.pipeline.limits import LimitExceeded, check_duration, check_free_space
from utils.pipeline.media import MediaError, MediaInfo, probe

OFFSET_HEADER = "Upload-Offset"


def _size(body: dict[str, Any], limit_mb: int) -> int:
    size = body.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise BadRequest('"size" must be the file\'s length in bytes, a whole number above 0')
    if size > limit_mb * 2**20:
        raise LimitExceeded(f"the file is larger than the upload limit of {limit_mb} MB (MAX_UPLOAD_MB)")
    return size


def _pending(upload_id: str) -> uploads.PendingUpload:
    pending = uploads.find(Path(settings().download_dir), upload_id)
    if pending is None:
        raise NotFound(f"no upload {upload_id[:64]!r}: it finished, was abandoned or expired; start it again")
    return pending


def _progress(pending: uploads.PendingUpload, offset: int | None = None) -> dict[str, Any]:
    return {"id": pending.id, "offset": pending.offset if offset is None else offset, "size": pending.size,
            "chunk_bytes": uploads.CHUNK_BYTES}  # fmt: skip


@api.post("/uploads")
def start_upload():
    config = settings()
    body = json_body()
    size = _size(body, config.max_upload_mb)
    options = submission_options(body)
    filename = uploads.display_name(body.get("filename"))
    check_free_space(Path(config.download_dir), config.min_free_disk_mb * 2**20, size)
    pending = uploads.start(Path(config.download_dir), filename, size, options)
    return jsonify(_progress(pending, 0)), 201, {"Location": f"/api/uploads/{pending.id}"}


@api.get("/uploads/<upload_id>")
def upload_status(upload_id: str):
    return jsonify(_progress(_pending(upload_id)))


@api.delete("/uploads/<upload_id>")
def abandon_upload(upload_id: str):
    uploads.discard(_pending(upload_id))
    return "", 204


def _offset_header() -> int:
    raw = request.headers.get(OFFSET_HEADER, "")
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 15):
        raise BadRequest(f"send the chunk's position in the file in the {OFFSET_HEADER} header (bytes)")
    return int(raw)


@api.patch("/uploads/<upload_id>")
def append_chunk(upload_id: str):
    pending = _pending(upload_id)
    offset = _offset_header()
    if (request.content_length or 0) > uploads.CHUNK_BYTES:
        raise LimitExceeded(f"a chunk may carry at most {uploads.CHUNK_BYTES} bytes")
    config = settings()
    check_free_space(pending.folder, config.min_free_disk_mb * 2**20)
    try:
        end = uploads.append(pending, offset, request.get_data(cache=False))
    except uploads.OffsetMismatch as error:
        return jsonify(error=str(error), offset=error.offset, size=pending.size), 409
    except uploads.ChunkTooLong as error:
        raise BadRequest(str(error)) from None
    if end < pending.size:
        return jsonify(_progress(pending, end))
    try:
        return _finish(pending)
    finally:
        uploads.discard(pending)


def _media_info(path: Path) -> MediaInfo:
    try:
        info = probe(path)
    except MediaError:
        info = None
    if info is None or not (info.has_video or info.has_audio):
        raise BadRequest("not a media file: no video or audio stream was found in it")
    if info.has_video and not info.has_audio and info.duration <= 0:
        raise BadRequest("not a media file: it looks like a still image; upload a video or audio file")
    return info


def _finish(pending: uploads.PendingUpload):
    info = _media_info(pending.data)
    check_duration(info.duration, settings().max_video_duration_seconds)
    conn = get_db()
    video_id = _store(conn, pending, info)
    queued, warning = _continue(conn, video_id, pending.options["auto"])
    body = {"videos": [{"id": video_id, "url": f"upload:{pending.filename}"}], "rejected": []}
    body.update(queued=queued, warning=warning)
    return jsonify(body), 201


def _store(conn, pending: uploads.PendingUpload, info: MediaInfo) -> int:
    """Create the video from the uploaded file, its download step recorded done."""
    upload = library.UploadedFile(
        path=pending.data, extension=stored_extension(info.container, info.has_video),
        title=PurePosixPath(pending.filename).stem or pending.filename,
        duration=info.duration, width=info.width, height=info.height,
    )  # fmt: skip
    with db.transaction(conn):
        request_ = library.VideoRequest(url=f"upload:{pending.filename}", **pending.options)
        return library.add_uploaded_video(conn, request_, upload, Path(settings().download_dir))


def _continue(conn, video_id: int, auto: bool) -> tuple[list[str], str | None]:
    """Tell pages about the new video and, in auto mode, queue what the download unblocked."""
    service = step_service()
    done = db.find_step(conn, video_id, "download")
    service.announce(done)
    service.publish({"type": "video", "video_id": video_id})
    if not auto:
        return [], None
    return service.queue_ready_dependents(done)
