"""Media files: only files the database points to, only inside the managed folders, and only with a
content type found from the file's bytes (`utils.filetypes`), never from its name."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, request, send_file

from operations import lookup, presenters
from operations.media import CLIP_COLUMNS, clip_download_name, clip_path
from pipeline.filetypes import OCTET_STREAM, is_image, media_type, text_type
from routes import settings, unit_of_work

media = Blueprint("media", __name__, url_prefix="/media")

SUBTITLE_TYPES = {"srt": "application/x-subrip", "vtt": "text/vtt"}


def managed_file(path: str | None) -> Path:
    """The file if it exists inside DOWNLOAD_DIR or PROCESSED_CLIPS_DIR, else 404."""
    if not path:
        abort(404, "This file does not exist (yet).")
    resolved = Path(path).resolve()
    roots = [Path(settings().download_dir).resolve(), Path(settings().processed_clips_dir).resolve()]
    if not any(resolved.is_relative_to(root) for root in roots) or not resolved.is_file():
        abort(404, "This file does not exist (yet).")
    return resolved


def send_checked(
    path: Path, mimetype: str, download_name: str | None = None, max_age: int | None = None, save: bool = False
):
    """Send with the given type; a file of no known type is only ever offered as a download, and any file
    is when `save` asks for one."""
    return send_file(
        path,
        mimetype=mimetype,
        conditional=True,
        as_attachment=save or mimetype == OCTET_STREAM,
        download_name=download_name or path.name,
        max_age=max_age,
    )


@media.get("/videos/<int:video_id>")
def video_file(video_id: int):
    """The source video, played in place, or saved (`?download=1`) under the name editing timelines reference."""
    video = lookup.video(unit_of_work(), video_id) or abort(404, f"There is no video {video_id}.")
    path = managed_file(video.video_path)
    return send_checked(
        path, media_type(path), download_name=presenters.source_file_name(video), save="download" in request.args
    )


@media.get("/thumbnails/<int:video_id>")
def thumbnail(video_id: int):
    video = lookup.video(unit_of_work(), video_id) or abort(404, f"There is no video {video_id}.")
    path = managed_file(video.thumbnail_path)
    if not is_image(path):  # only pictures we drew ourselves are shown inline
        abort(404, "This video has no thumbnail.")
    return send_checked(path, media_type(path), max_age=3600)


@media.get("/clips/<int:clip_id>.<kind>")
def clip_file(clip_id: int, kind: str):
    if kind not in CLIP_COLUMNS:
        abort(404, "Clips come as mp4, srt, vtt or jpg.")
    uow = unit_of_work()
    clip = lookup.clip(uow, clip_id) or abort(404, f"There is no clip {clip_id}.")
    path = managed_file(clip_path(clip, kind))
    if kind == "jpg" and not is_image(path):
        abort(404, "This clip has no still.")
    mimetype = text_type(path, SUBTITLE_TYPES[kind]) if kind in SUBTITLE_TYPES else media_type(path)
    return send_checked(path, mimetype, download_name=clip_download_name(uow, clip, kind))
