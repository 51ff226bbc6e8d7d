"""Blueprints: pages (HTML), api (JSON); and the per-request helpers they share."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, Flask, current_app, g, jsonify
from werkzeug.exceptions import HTTPException

from config import Settings
from tasks import make_enqueuer
from tasks.base import publisher
from utils import db
from utils.steps import QueueUnavailable, StepBlocked, StepNotFound, StepService


class BadRequest(ValueError):
    """A request the API refuses with 400 and this message."""


class NotFound(LookupError):
    """No such video, exchange, clip or speaker; answered with 404."""


def json_errors(blueprint: Blueprint) -> None:
    """Every API blueprint answers errors as {"error": message} with the right status."""
    statuses = {BadRequest: 400, NotFound: 404, StepNotFound: 404, StepBlocked: 409, QueueUnavailable: 503}
    for error_class, status in statuses.items():
        blueprint.register_error_handler(error_class, lambda error, status=status: (jsonify(error=str(error)), status))
    blueprint.register_error_handler(HTTPException, lambda error: (jsonify(error=error.description), error.code))


def settings() -> Settings:
    return current_app.config["SETTINGS"]


def get_db() -> sqlite3.Connection:
    """One connection per app context (so per request and per thread), closed on teardown."""
    if "db" not in g:
        g.db = db.connect(settings().database_path)
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def step_service() -> StepService:
    celery_app = current_app.extensions["celery"]
    publish = publisher(celery_app.conf.broker_url, settings().events_stream_maxlen)
    return StepService(get_db(), publish, make_enqueuer(celery_app, settings()))


def register(app: Flask) -> None:
    from routes.analysis import analysis_api
    from routes.api import api
    from routes.events import events
    from routes.media import media
    from routes.pages import pages
    from routes.uploads import uploads

    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.register_blueprint(analysis_api)
    app.register_blueprint(media)
    app.register_blueprint(events)
    app.register_blueprint(uploads)
    app.teardown_appcontext(close_db)
