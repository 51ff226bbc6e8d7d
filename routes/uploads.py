"""Upload a local media file as a video: `POST /api/uploads` (multipart field `file`).

The file is streamed to a spool folder inside DOWNLOAD_DIR (so moving it into place is a rename, not
a copy), checked by its content with `utils.media.probe` (the name proves nothing), then stored as
DOWNLOAD_DIR/<video id>/video.<ext>. The video's download step is recorded done at once; with
`auto` on, the steps that were waiting for it are queued as a finished download would queue them.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from routes import BadRequest, get_db, json_errors, settings, step_service
from routes.api import submission_options
from utils import db, videos
from utils.media import MediaError, MediaInfo, probe
from utils.steps import DONE, step_event

uploads = Blueprint("uploads", __name__, url_prefix="/api")
json_errors(uploads)

SPOOL_FOLDER = ".uploads"
MAX_NAME = 200
SAFE_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")
TRUE_WORDS = ("1", "true", "on", "yes")


class Spool:
    """Temporary files for the parts of one upload, all removed by `cleanup` unless moved away."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.paths: list[Path] = []

    def __call__(self, total_content_length, content_type, filename, content_length=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=self.folder, prefix="upload-", suffix=".part", delete=False)  # noqa: SIM115
        self.paths.append(Path(handle.name))
        return handle

    def file_of(self, upload: FileStorage) -> Path:
        """The upload as a closed file in the spool folder, ready to probe and move."""
        name = getattr(upload.stream, "name", None)
        if isinstance(name, str) and Path(name) in self.paths:
            upload.stream.close()  # written in full by the parser
            return Path(name)
        handle = self(None, upload.content_type, upload.filename)  # parsed earlier by someone else
        handle.close()
        upload.save(handle.name)
        return Path(handle.name)

    def cleanup(self) -> None:
        for path in self.paths:
            path.unlink(missing_ok=True)


def _parse(spool: Spool) -> tuple[MultiDict, MultiDict]:
    if request.mimetype != "multipart/form-data":
        raise BadRequest('send the file as multipart/form-data in the field "file"')
    if "files" in request.__dict__:  # something (a form CSRF check) parsed the body already: use that
        return request.form, request.files
    parser = FormDataParser(
        stream_factory=spool, max_form_memory_size=request.max_form_memory_size, max_form_parts=request.max_form_parts
    )
    stream, mimetype, length = request.stream, request.mimetype, request.content_length
    _rest, form, files = parser.parse(stream, mimetype, length, request.mimetype_params)
    return form, files


def _options(form: MultiDict) -> dict[str, Any]:
    """The URL form's choices, sent as form fields; checked by the same rules as the JSON API."""
    body: dict[str, Any] = {key: form.get(key) for key in ("num_speakers", "min_speakers", "max_speakers")}
    body["resolution"] = form.get("resolution") or "best"
    for key in ("auto", "clips"):
        body[key] = (form.get(key) or "").strip().lower() in TRUE_WORDS
    return submission_options(body)


def _display_name(filename: str | None) -> str:
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return name[:MAX_NAME] or "upload"


def _extension(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    return suffix if SAFE_EXTENSION.match(suffix) else "bin"


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


def _store(conn, upload: FileStorage, source: Path, info: MediaInfo, options: dict[str, Any]) -> int:
    """Create the video, move the file into its folder and record the download step done."""
    name = _display_name(upload.filename)
    root = Path(settings().download_dir)
    folder: Path | None = None
    try:
        with db.transaction(conn):
            video_id = videos.create_video(conn, videos.VideoRequest(url=f"upload:{name}", **options))
            folder = videos.video_dir(root, video_id)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"video.{_extension(name)}"
            os.replace(source, target)
            db.update_video(
                conn, video_id, title=PurePosixPath(name).stem or name, duration=info.duration,
                width=info.width, height=info.height, video_path=str(target),
            )  # fmt: skip
            step = db.find_step(conn, video_id, "download")
            now = db.now()
            db.update_step(
                conn, step["id"], state=DONE, progress=1.0, attempts=1, error=None, task_id=None,
                queued_at=now, started_at=now, finished_at=now,
            )  # fmt: skip
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return video_id


def _continue(conn, video_id: int, auto: bool) -> tuple[list[str], str | None]:
    """Tell pages about the new video and, in auto mode, queue what the download unblocked."""
    service = step_service()
    done = db.find_step(conn, video_id, "download")
    service.publish(step_event(done))
    service.publish({"type": "video", "video_id": video_id})
    if not auto:
        return [], None
    return service.queue_ready_dependents(done)


@uploads.post("/uploads")
def upload_file():
    config = settings()
    limit_mb = config.max_upload_mb
    too_large = f"the file is larger than the upload limit of {limit_mb} MB (MAX_UPLOAD_MB)"
    request.max_content_length = limit_mb * 1024 * 1024
    spool = Spool(Path(config.download_dir) / SPOOL_FOLDER)
    try:
        try:
            form, files = _parse(spool)
        except RequestEntityTooLarge:
            return jsonify(error=too_large, videos=[], rejected=[]), 413
        upload = files.get("file")
        if upload is None or not upload.filename:
            raise BadRequest('no file: choose a media file and send it in the field "file"')
        options = _options(form)
        source = spool.file_of(upload)
        if source.stat().st_size > limit_mb * 1024 * 1024:
            return jsonify(error=too_large, videos=[], rejected=[]), 413
        info = _media_info(source)
        conn = get_db()
        video_id = _store(conn, upload, source, info, options)
    finally:
        spool.cleanup()
    queued, warning = _continue(conn, video_id, options["auto"])
    body = {"videos": [{"id": video_id, "url": f"upload:{_display_name(upload.filename)}"}], "rejected": []}
    body.update(queued=queued, warning=warning)
    return jsonify(body), 201
