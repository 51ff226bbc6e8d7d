"""The Flask application factory (`create_app`), as flaskr has it; `serve.py` starts the whole stack."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import store.schema
from config import ROOT, Settings, load_settings
from operations.auth import Credentials, SharedAttemptLimiter, load_credentials
from pipeline.redact import redact_logs

log = logging.getLogger("clipper")

EMBEDDED_URL_FILE = "embedded_redis_url"
LOGIN_WINDOW_SECONDS = 300.0  # LOGIN_MAX_ATTEMPTS failed logins per client address in this window


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
    )
    redact_logs()


def broker_url(settings: Settings) -> str:
    """CELERY_BROKER_URL, else the embedded Redis that `python serve.py` started and recorded."""
    if settings.celery_broker_url:
        return settings.celery_broker_url
    recorded = Path(settings.instance_dir) / EMBEDDED_URL_FILE
    if recorded.exists():
        return recorded.read_text().strip()
    return "redis://127.0.0.1:6379/0"


def credentials(settings: Settings) -> Credentials:
    return load_credentials(
        settings.admin_username, settings.admin_password, settings.api_token, Path(settings.instance_dir)
    )


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `test_config` replaces the environment (tests pass their own settings)."""
    from routes import register
    from routes.auth import init_auth
    from tasks import celery_init_app

    app = Flask(__name__, instance_path=str(ROOT / "instance"), instance_relative_config=True)
    settings = load_settings(test_config) if test_config is not None else load_settings()
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "true" if settings.pyannote_metrics_enabled else "false")
    app.config.update(SETTINGS=settings, SECRET_KEY=settings.flask_secret_key, JSON_SORT_KEYS=False)
    conn = store.schema.open_database(
        settings.database, settings.data_dir
    )  # tables exist whichever process starts first
    store.schema.relativize_paths(conn)
    conn.close()
    broker = broker_url(settings)
    limiter = SharedAttemptLimiter(
        redis.Redis.from_url(broker, socket_timeout=2, socket_connect_timeout=2),
        settings.login_max_attempts,
        LOGIN_WINDOW_SECONDS,
    )
    init_auth(app, credentials(settings), limiter, settings.session_cookie_secure, settings.session_lifetime_hours)
    if settings.trust_proxy_headers:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]  # as Flask documents
    register(app)
    celery_init_app(app, broker)

    return app
