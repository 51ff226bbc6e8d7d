"""HTML pages: the dashboard, a video's details, the error log, and the fragments pages refresh live.

Pages render the database's truth; the browser then follows `/events` and patches states in place,
fetching a fragment (rendered by the same templates) when rows come or go.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, send_file, send_from_directory

from routes import get_db, settings
from utils.core import db, library, presenters, steps
from utils.pipeline.download import RESOLUTIONS
from utils.pipeline.redact import redact_url
from utils.pipeline.timecode import format_clock, format_timecode

pages = Blueprint("pages", __name__)

PER_PAGE = 50
ERRORS_SHOWN = 500


@pages.app_template_filter("duration")
def format_duration(seconds: float | None) -> str:
    """1:02:03 or 2:03; empty when unknown."""
    return "" if seconds is None else format_timecode(round(float(seconds)))


@pages.app_template_filter("clock")
def clock(seconds: float | None, decimals: int = 0) -> str:
    return format_clock(seconds, decimals)


@pages.app_template_global("clip_file_name")
def clip_file_name(*args) -> str:
    return presenters.clip_file_name(*args)


@pages.app_template_filter("speaker_placeholder")
def speaker_placeholder(label: str) -> str:
    return presenters.speaker_placeholder(label)


@pages.app_template_filter("exchange_title")
def exchange_title(label: str) -> str:
    return presenters.exchange_title(label)


@pages.app_template_filter("file_version")
def file_version(path: str | None) -> str:
    """The file's modification time: part of a clip's URLs, so a clip cut again is fetched again."""
    try:
        return str(Path(path).stat().st_mtime_ns) if path else "0"
    except OSError:
        return "0"


@pages.app_template_filter("step_title")
def step_title(name: str) -> str:
    definition = steps.STEP.get(name)
    return definition.title if definition else name


@pages.app_template_filter("when")
def format_when(iso: str | None) -> str:
    """ISO UTC text as `YYYY-MM-DD HH:MM:SS`; pages turn it into local time."""
    return iso[:19].replace("T", " ") if iso else ""


@pages.get("/favicon.ico")
def favicon():
    """For the clients that ask for /favicon.ico whatever the page says (pages link the SVG)."""
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml")


@pages.app_context_processor
def error_count() -> dict[str, Any]:
    """Steps in error, for the badge on the navbar's "Error log" (pages of a logged-in person only)."""
    if request.endpoint in (None, "static", "auth.login") or request.path.startswith(("/partials/", "/api/")):
        return {}
    return {"error_count": db.count_errors(get_db())}


def _page_number(total: int) -> tuple[int, int]:
    pages_count = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    return min(max(request.args.get("page", 1, type=int), 1), pages_count), pages_count


def _jobs_context() -> dict[str, Any]:
    conn = get_db()
    total = db.count_videos(conn)
    page, pages_count = _page_number(total)
    rows = db.list_videos(conn, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return {"videos": presenters.describe_many(conn, rows), "total": total, "page": page, "pages": pages_count}


@pages.get("/")
def dashboard():
    return render_template(
        "dashboard.html",
        resolutions=RESOLUTIONS,
        max_upload_mb=settings().max_upload_mb,
        **_jobs_context(),
    )


@pages.get("/partials/videos")
def videos_fragment():
    """The jobs table of one page, for the dashboard to swap in when videos come or go."""
    return render_template("_jobs.html", **_jobs_context())


@pages.get("/videos/<int:video_id>")
def video_details(video_id: int):
    context = _video_context(video_id, SECTIONS)
    page_data = {"video": {"id": video_id, "steps": context["video"]["steps"], "status": context["video"]["status"]}}
    return render_template("video.html", page_data=page_data, **context)


# The details page is made of sections, each one template under templates/video/; the page renders all
# of them, and the browser fetches one again when an event says it changed (the same HTML either way).
SECTIONS = ("panel", "speakers", "transcript", "exchanges", "clips")


@pages.get("/partials/videos/<int:video_id>/<section>")
def video_section(video_id: int, section: str):
    if section not in SECTIONS:
        abort(404, f"no section {section!r}; sections are {', '.join(SECTIONS)}")
    return render_template(f"video/_{section}.html", **_video_context(video_id, (section,)))


def _standing(conn, video, video_steps) -> steps.Standing:
    return steps.standings(conn, [video], {video.id: video_steps})[video.id]


def _video_context(video_id: int, sections: tuple[str, ...]) -> dict[str, Any]:
    """What the given sections of a video's page show; every section needs the video and its speakers."""
    conn = get_db()
    video = db.get_video(conn, video_id)
    if video is None:
        abort(404, f"There is no video {video_id}. It may have been deleted.")
    video_steps = db.steps_of(conn, [video_id])
    speakers = presenters.describe_speakers(db.get_speakers(conn, video_id))
    context: dict[str, Any] = {
        "video": presenters.describe(video, video_steps, _standing(conn, video, video_steps)),
        "speakers": speakers,
        "speakers_by_label": {speaker["label"]: speaker for speaker in speakers},
        "phase2_steps": [definition for definition in steps.REGISTRY if definition.phase == 2],
        "captions_default": "plain" if settings().clip_burn_subtitles else "none",
    }
    if "transcript" in sections:
        context["segments"] = db.get_segments(conn, video_id)
    if "exchanges" in sections or "clips" in sections:
        rows = db.list_exchanges(conn, video_id)
        exchange_steps = db.exchange_steps(conn, [row.id for row in rows])
        context["exchanges"] = presenters.describe_exchanges(rows, exchange_steps, video_steps)
    if "clips" in sections:
        groups = [
            {"exchange": exchange, "clips": db.list_clips(conn, exchange["id"])} for exchange in context["exchanges"]
        ]
        context["clip_groups"] = [group for group in groups if group["clips"]]
    return context


CLIPS_SHOWN = 500


def _clips_filter() -> tuple[int | None, str]:
    return request.args.get("video", type=int), request.args.get("speaker", "").strip()[:80]


@pages.get("/clips")
def clips_page():
    """Every cut clip in the library, newest first, to watch and download; filters by video and speaker."""
    conn = get_db()
    video_id, speaker = _clips_filter()
    everyone = library.clips_in_library(conn, video_id, CLIPS_SHOWN)
    names = sorted({item.speaker_name for item in everyone if item.clip.kind == "speaker" and item.speaker_name})
    items = library.spoken_by(conn, everyone, speaker) if speaker else everyone
    return render_template(
        "clips.html", items=items, videos=db.videos_with_clips(conn), speakers=names,
        chosen_video=video_id, chosen_speaker=speaker, limit=CLIPS_SHOWN,
    )  # fmt: skip


@pages.get("/clips/download.zip")
def clips_zip():
    """The clips shown (with the same filters) in one zip: MP4 and SRT under their descriptive names."""
    video_id, speaker = _clips_filter()
    conn = get_db()
    items = library.clips_in_library(conn, video_id, CLIPS_SHOWN)
    items = library.spoken_by(conn, items, speaker) if speaker else items
    if not items:
        abort(404, "No clips to download: cut some first, or change the filters.")
    archive = tempfile.SpooledTemporaryFile(max_size=64 * 2**20)  # noqa: SIM115  (send_file closes it once sent)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
        for item in items:
            stem = presenters.clip_file_name(
                item.video.title, item.exchange.label, item.clip, item.speaker_name, "mp4"
            )[:-4]  # fmt: skip
            for path, ext in ((item.clip.path, "mp4"), (item.clip.srt_path, "srt")):
                if path and Path(path).is_file():
                    bundle.write(path, f"{stem}_{item.clip.id}.{ext}")
    archive.seek(0)
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name="clipper-clips.zip")


def _errors_context() -> dict[str, Any]:
    rows = [replace(row, video_url=redact_url(row.video_url)) for row in db.error_steps(get_db(), limit=ERRORS_SHOWN)]
    return {"errors": rows, "limit": ERRORS_SHOWN}


@pages.get("/errors")
def error_log():
    return render_template("errors.html", **_errors_context())


@pages.get("/partials/errors")
def errors_fragment():
    return render_template("_errors.html", **_errors_context())
