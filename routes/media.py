"""Media files: only files the database points to, and only inside the managed folders."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_file

from routes import get_db, settings
from utils import db

media = Blueprint("media", __name__, url_prefix="/media")

CLIP_COLUMNS = {"mp4": "path", "srt": "srt_path", "vtt": "vtt_path"}
MIMETYPES = {"mp4": "video/mp4", "srt": "application/x-subrip", "vtt": "text/vtt"}


def managed_file(path: str | None) -> Path:
    """The file if it exists inside DOWNLOAD_DIR or PROCESSED_CLIPS_DIR, else 404."""
    if not path:
        abort(404, "This file does not exist (yet).")
    resolved = Path(path).resolve()
    roots = [Path(settings().download_dir).resolve(), Path(settings().processed_clips_dir).resolve()]
    if not any(resolved.is_relative_to(root) for root in roots) or not resolved.is_file():
        abort(404, "This file does not exist (yet).")
    return resolved


@media.get("/videos/<int:video_id>")
def video_file(video_id: int):
    video = db.get_video(get_db(), video_id) or abort(404, f"There is no video {video_id}.")
    return send_file(managed_file(video["video_path"]), conditional=True)


@media.get("/thumbnails/<int:video_id>")
def thumbnail(video_id: int):
    video = db.get_video(get_db(), video_id) or abort(404, f"There is no video {video_id}.")
    return send_file(managed_file(video["thumbnail_path"]), conditional=True, max_age=3600)


@media.get("/clips/<int:clip_id>.<kind>")
def clip_file(clip_id: int, kind: str):
    if kind not in CLIP_COLUMNS:
        abort(404, "Clips come as mp4, srt or vtt.")
    clip = db.get_clip(get_db(), clip_id) or abort(404, f"There is no clip {clip_id}.")
    path = managed_file(clip[CLIP_COLUMNS[kind]])
    return send_file(path, mimetype=MIMETYPES[kind], conditional=True, download_name=f"clip-{clip_id}.{kind}")
