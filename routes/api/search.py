"""Search across every transcript in the library, and export a video's exchanges as an editing timeline."""

from __future__ import annotations

import io
import re
import time
from datetime import date
from pathlib import Path

from flask import jsonify, request, send_file

from routes import get_db
from routes.api import BadRequest, Conflict, NotFound, api, video_or_404
from utils.core import db, library, presenters
from utils.pipeline import media, timeline

MAX_RESULTS = 200


def search_filters() -> dict:
    """The filters of a search request (?person=&video=&since=&until=&limit=), checked."""
    args = request.args
    filters: dict = {}
    for name in ("person", "video"):
        value = args.get(name, "").strip()
        if value:
            if not value.isdecimal():
                raise BadRequest(f"{name} must be an id (a whole number)")
            filters[f"{name}_id"] = int(value)
    for name in ("since", "until"):
        value = args.get(name, "").strip()
        if value:
            try:
                filters[name] = date.fromisoformat(value).isoformat()
            except ValueError:
                raise BadRequest(f"{name} must be a date like 2026-05-31") from None
    limit = args.get("limit", "50")
    if not re.fullmatch(r"\d{1,4}", limit):
        raise BadRequest(f"limit must be a whole number up to {MAX_RESULTS}")
    filters["limit"] = min(max(int(limit), 1), MAX_RESULTS)
    return filters


@api.get("/search")
def search():
    """?q=words or "a phrase" — the matching sentences across the library, best first."""
    text = request.args.get("q", "").strip()
    if not text:
        raise BadRequest('q is empty: give words to find (or "a phrase" in double quotes)')
    if len(text) > 500:
        raise BadRequest("q is too long (at most 500 characters)")
    filters = search_filters()
    started = time.perf_counter()
    hits = library.search(get_db(), text, **filters)
    return jsonify(query=text, hits=hits, took_ms=round((time.perf_counter() - started) * 1000, 1))


@api.get("/videos/<int:video_id>/timeline.<fmt>")
def video_timeline(video_id: int, fmt: str):
    """The video's exchanges as an editing timeline: .otio (OpenTimelineIO), .fcpxml (DaVinci Resolve, Final
    Cut Pro) or .edl (CMX 3600: Premiere, Avid), each exchange a clip with a marker for its question."""
    video = video_or_404(video_id)
    if fmt not in timeline.FORMATS:
        raise NotFound(f"no timeline format {fmt!r}; use {', '.join(timeline.FORMATS)}")
    conn = get_db()
    if not db.list_exchanges(conn, video_id):
        raise Conflict("this video has no Q&A yet: find them (or add one by hand) first")
    rate = media.probe(video.video_path).frame_rate if video.video_path and Path(video.video_path).is_file() else None
    body = timeline.write(library.timeline_of(conn, video, rate), fmt)
    name = f"{Path(presenters.source_file_name(video)).stem}.{fmt}"
    # send_file names it for every browser: an ASCII fallback plus filename*= for titles in any script
    return send_file(io.BytesIO(body.encode()), mimetype=timeline.FORMATS[fmt][1], as_attachment=True,
                     download_name=name)  # fmt: skip
