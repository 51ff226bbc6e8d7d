"""HTML pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from routes import get_db
from utils import db, videos
from utils.download import RESOLUTIONS

pages = Blueprint("pages", __name__)

PER_PAGE = 50


@pages.get("/")
def dashboard():
    page = max(request.args.get("page", 1, type=int), 1)
    conn = get_db()
    rows = db.list_videos(conn, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    total = db.count_videos(conn)
    return render_template(
        "dashboard.html",
        videos=videos.describe_many(conn, rows),
        total=total,
        page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        resolutions=RESOLUTIONS,
    )


@pages.get("/videos/<int:video_id>")
def video_details(video_id: int):
    conn = get_db()
    video = db.get_video(conn, video_id)
    if video is None:
        abort(404, f"There is no video {video_id}.")
    return render_template("video.html", video=videos.describe(video, db.steps_of(conn, [video_id])))
