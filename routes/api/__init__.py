"""The JSON API: one blueprint under /api with one error handler; its routes live in the modules below.

Routes validate, write rows through the core, enqueue and return; tasks do the work. Every error is
{"error": message} with the status the exception class maps to.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from operations import lookup
from operations.people import UnknownSpeaker
from operations.steps import QueueUnavailable, StepBlocked, StepNotFound
from pipeline.limits import DiskFull, LimitExceeded
from routes import unit_of_work
from store.records import ExchangeRecord, VideoRecord

api = Blueprint("api", __name__, url_prefix="/api")

MAX_SPEAKERS = 50
MAX_PAGE = 10**6
MAX_PER_PAGE = 200


class BadRequest(ValueError):
    """A request the API refuses with 400 and this message."""


class NotFound(LookupError):
    """No such video, exchange, clip or speaker; answered with 404."""


class Conflict(RuntimeError):
    """The request does not fit the current state (nothing to accept, say); answered with 409."""


ERROR_STATUSES: dict[type[Exception], int] = {
    BadRequest: 400,
    NotFound: 404,
    StepNotFound: 404,
    UnknownSpeaker: 404,
    StepBlocked: 409,
    Conflict: 409,
    LimitExceeded: 413,
    QueueUnavailable: 503,
    DiskFull: 503,
}
for _error_class, _status in ERROR_STATUSES.items():
    api.register_error_handler(_error_class, lambda error, status=_status: (jsonify(error=str(error)), status))
api.register_error_handler(HTTPException, lambda error: (jsonify(error=error.description), error.code))


# ---- request helpers shared by the API modules -------------------------------------------------


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object body")
    return body


def flag(body: dict[str, Any], key: str, default: bool = False) -> bool:
    """A JSON boolean: true or false, never "false" (a non-empty string) taken as true."""
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{key} must be true or false (a JSON boolean), got {json.dumps(value)[:40]}")
    return value


def page_args() -> tuple[int, int]:
    page = request.args.get("page", "1")
    per_page = request.args.get("per_page", "50")
    if not all(value.isascii() and value.isdecimal() and len(value) <= 7 for value in (page, per_page)):
        raise BadRequest(f"page and per_page must be whole numbers (page up to {MAX_PAGE})")
    return min(max(int(page), 1), MAX_PAGE), min(max(int(per_page), 1), MAX_PER_PAGE)


def video_or_404(video_id: int) -> VideoRecord:
    video = lookup.video(unit_of_work(), video_id)
    if video is None:
        raise NotFound(f"no video {video_id}")
    return video


def exchange_or_404(exchange_id: int) -> ExchangeRecord:
    exchange = lookup.exchange(unit_of_work(), exchange_id)
    if exchange is None:
        raise NotFound(f"no exchange {exchange_id}")
    return exchange


# importing the modules registers their routes
from routes.api import exchanges, people, previews, search, transcripts, uploads, videos  # noqa: E402, F401
