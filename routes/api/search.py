"""Search across every transcript in the library."""

from __future__ import annotations

import re
import time
from datetime import date

from flask import jsonify, request

from routes import get_db
from routes.api import BadRequest, api
from utils.core import library

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
