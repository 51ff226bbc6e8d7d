"""Blueprints: pages (HTML), api (JSON, a package), events (SSE), media, auth; and the per-request helpers
they share."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from config import Settings
from operations.step_service import StepService
from operations.unit_of_work import Database, UnitOfWork, connect
from tasks import build_step_service

log = logging.getLogger(__name__)

# No inline script anywhere (page data travels in <script type="application/json">, which is not run);
# style attributes are allowed for progress bars, <style> elements and remote anything are not.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Files under /media are never documents: even one that slipped through could run nothing.
MEDIA_POLICY = "default-src 'none'; media-src 'self'; img-src 'self'; sandbox; frame-ancestors 'none'"
SQLITE_MAX_INT = 2**63 - 1


class DatabaseId(IntegerConverter):
    """`<int:...>` in every route: ids beyond what the database can hold are simply not found."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", SQLITE_MAX_INT)
        super().__init__(map, *args, **kwargs)


def security_headers(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    policy = MEDIA_POLICY if request.path.startswith("/media/") else CONTENT_SECURITY_POLICY
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


JSON_PREFIXES = ("/api/", "/events", "/media/")  # machine-facing paths: errors there are JSON


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == "application/json"


def http_error(error: HTTPException):
    """Every error as JSON under /api (and the other machine-facing paths), as a page elsewhere."""
    message: str | None
    if isinstance(error, InternalServerError):
        message = "Something went wrong on the server. The log has the details; try again."
    else:
        message = error.description
    if wants_json():
        return jsonify(error=message), error.code
    return render_template("error.html", code=error.code, message=message), error.code


def settings() -> Settings:
    return current_app.config["SETTINGS"]


def get_db() -> Database:
    """One connection per app context (so per request and per thread), closed on teardown."""
    if "db" not in g:
        g.db = connect(settings())
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def step_service() -> StepService:
    return build_step_service(get_db(), current_app.extensions["celery"], settings())


def unit_of_work() -> UnitOfWork:
    """This request's connection and step service: what every operation is called with (one per request,
    so changes collected in a transaction are published by the same unit that opened it)."""
    if "uow" not in g:
        g.uow = UnitOfWork(get_db(), step_service())
    return g.uow


def register(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseId
    from routes.api import api
    from routes.events import events
    from routes.media import media
    from routes.pages import pages

    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.register_blueprint(media)
    app.register_blueprint(events)
    app.teardown_appcontext(close_db)
    app.after_request(security_headers)
    app.register_error_handler(HTTPException, http_error)
