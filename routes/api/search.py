"""Search across every transcript in the library."""

from __future__ import annotations

import re
import time
from datetime import date

from flask import jsonify, request

import operations.search
from routes import SQLITE_MAX_INT, unit_of_work
from routes.api import BadRequest, api

MAX_RESULTS = 200
MAX_ID = SQLITE_MAX_INT  # the largest id either database can hold or compare (SQLite's 64-bit integers)
MAX_ID_DIGITS = len(str(MAX_ID))


def query_id(name: str) -> int | None:
    """`?name=<id>`: None when absent or empty. The one place ids are read from query strings: anything
    but a whole number the database's integers can hold is refused here, not left to overflow in SQLite."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdecimal() and len(value) <= MAX_ID_DIGITS and int(value) <= MAX_ID):
        raise BadRequest(f"{name} must be an id (a whole number up to {MAX_ID})")
    return int(value)


def search_filters() -> dict:
    """The filters of a search request (?person=&video=&since=&until=&limit=), checked."""
    args = request.args
    filters: dict = {}
    for name in ("person", "video"):
        value = query_id(name)
        if value is not None:
            filters[f"{name}_id"] = value
    for name in ("since", "until"):
        text = args.get(name, "").strip()
        if text:
            try:
                filters[name] = date.fromisoformat(text).isoformat()
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
    hits = operations.search.search(unit_of_work(), text, **filters)
    return jsonify(query=text, hits=hits, took_ms=round((time.perf_counter() - started) * 1000, 1))
