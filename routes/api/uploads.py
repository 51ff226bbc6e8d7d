"""Upload a local media file as a video, in chunks that can be resumed (see `utils.uploads`).

    POST   /api/uploads              {"filename", "size", and the URL form's options} → {"id", "offset": 0, ...}
    PATCH  /api/uploads/<id>         body: up to chunk_bytes raw bytes, header Upload-Offset → {"offset"}
    GET    /api/uploads/<id>         → {"offset", "size"}: where to resume
    DELETE /api/uploads/<id>         abandon it

The PATCH that brings the last byte (and only that one: it claims the upload under the file's lock)
checks the file by its content (`utils.media.probe`: the name proves nothing) and its length, stores it
as DOWNLOAD_DIR/<video id>/video.<ext> with an extension chosen from the detected container, and answers
201 with the new video, its download step done. With `auto` on, the steps that were waiting for it are
queued as a finished download would queue them. A start is refused with 429 while MAX_OPEN_UPLOADS are
open, and with 503 when what the open ones still announce would fill the disk.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import Any

from flask import jsonify, request

import operations.videos
from operations import uploads
from operations.videos import UploadedFile, VideoRequest
from pipeline.filetypes import is_media_container, stored_extension
from pipeline.limits import LimitExceeded, check_free_space, check_media_duration
from pipeline.media import MediaError, MediaInfo, probe
from routes import settings, unit_of_work
from routes.api import BadRequest, NotFound, api, json_body
from routes.api.videos import submission_options

OFFSET_HEADER = "Upload-Offset"

log = logging.getLogger(__name__)


def _size(body: dict[str, Any], limit_mb: int) -> int:
    size = body.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise BadRequest('"size" must be the file\'s length in bytes, a whole number above 0')
    if size > limit_mb * 2**20:
        raise LimitExceeded(f"the file is larger than the upload limit of {limit_mb} MB (MAX_UPLOAD_MB)")
    return size


def _gone(upload_id: str) -> NotFound:
    return NotFound(f"no upload {upload_id[:64]!r}: it finished, was abandoned or expired; start it again")


def _pending(upload_id: str) -> uploads.PendingUpload:
    pending = uploads.find(Path(settings().download_dir), upload_id)
    if pending is None:
        raise _gone(upload_id)
    return pending


def _progress(pending: uploads.PendingUpload, offset: int | None = None) -> dict[str, Any]:
    return {
        "id": pending.id,
        "offset": pending.offset if offset is None else offset,
        "size": pending.size,
        "chunk_bytes": uploads.CHUNK_BYTES,
    }


@api.post("/uploads")
def start_upload():
    config = settings()
    body = json_body()
    size = _size(body, config.max_upload_mb)
    options = submission_options(body)
    filename = uploads.display_name(body.get("filename"))
    try:
        pending = uploads.start(
            Path(config.download_dir),
            filename,
            size,
            options,
            max_open=config.max_open_uploads,
            min_free_bytes=config.min_free_disk_mb * 2**20,
        )
    except uploads.TooManyOpen as error:
        return jsonify(error=str(error)), 429
    return jsonify(_progress(pending, 0)), 201, {"Location": f"/api/uploads/{pending.id}"}


@api.get("/uploads/<upload_id>")
def upload_status(upload_id: str):
    return jsonify(_progress(_pending(upload_id)))


@api.delete("/uploads/<upload_id>")
def abandon_upload(upload_id: str):
    try:
        uploads.abandon(_pending(upload_id))
    except uploads.UploadGone:
        raise _gone(upload_id) from None
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
    check_free_space(pending.folder.parent, config.min_free_disk_mb * 2**20)  # the spool: it stays
    try:
        appended = uploads.append(pending, offset, request.get_data(cache=False))
    except uploads.OffsetMismatch as error:
        return jsonify(error=str(error), offset=error.offset, size=pending.size), 409
    except uploads.ChunkTooLong as error:
        raise BadRequest(str(error)) from None
    except uploads.UploadGone:
        raise _gone(upload_id) from None
    if appended.finished is None:  # more to come (an empty PATCH never finishes an upload)
        return jsonify(_progress(pending, appended.offset))
    try:
        return _finish(appended.finished)  # this request wrote the last byte: it alone finishes
    finally:
        uploads.discard(appended.finished)


def _media_info(path: Path) -> MediaInfo:
    try:
        info = probe(path)
    except MediaError:
        info = None
    except Exception:  # anything else PyAV trips on: refused, never a 500
        log.warning("probing an upload failed; refused as not a media file", exc_info=True)
        info = None
    if info is None or not (info.has_video or info.has_audio):
        raise BadRequest("not a media file: no video or audio stream was found in it")
    if not is_media_container(info.container):
        raise BadRequest(
            f"not a media file: {info.container.split(',')[0]} is a list of other files, not audio or video"
        )
    if info.has_video and not info.has_audio and info.duration <= 0:
        raise BadRequest("not a media file: it looks like a still image; upload a video or audio file")
    return info


def _finish(pending: uploads.PendingUpload):
    """The request that wrote the last byte: the file, checked by its content, becomes a video."""
    config = settings()
    info = _media_info(pending.data)  # a length its header does not give plausibly is measured
    try:
        info = check_media_duration(pending.data, info, config.max_video_duration_seconds, config.ffmpeg_path)
    except MediaError as error:
        raise BadRequest(str(error)) from None
    upload = UploadedFile(
        path=pending.data,
        extension=stored_extension(info.container, info.has_video),
        title=PurePosixPath(pending.filename).stem or pending.filename,
        duration=info.duration,
        width=info.width,
        height=info.height,
    )
    request_ = VideoRequest(url=f"upload:{pending.filename}", **pending.options)
    video_id, queued, warning = operations.videos.add_uploaded_video(
        unit_of_work(), request_, upload, Path(config.download_dir)
    )
    body: dict[str, Any] = {"videos": [{"id": video_id, "url": f"upload:{pending.filename}"}], "rejected": []}
    body.update(queued=queued, warning=warning)
    return jsonify(body), 201
