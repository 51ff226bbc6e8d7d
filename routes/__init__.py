"""Blueprints: pages (HTML), api (JSON); and the per-request helpers they share."""

from __future__ import annotations

import sqlite3

from flask import Flask, current_app, g

from config import Settings
from tasks import make_enqueuer
from tasks.base import publisher
from utils import db
from utils.steps import StepService


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
    from routes.api import api
    from routes.pages import pages

    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.teardown_appcontext(close_db)
