"""Password guessing is held to LOGIN_MAX_ATTEMPTS per client even when the guesses arrive all at once,
through the real waitress, in one web process or spread over several that share Redis."""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from app import create_app
from operations.auth import Credentials
from tests.support.common import TEST_ADMIN, csrf_from
from tests.support.live_server import LiveServer

GUESSES = 60
LIMIT = 5  # LOGIN_MAX_ATTEMPTS's default


@pytest.fixture
def password_checks(monkeypatch) -> Counter:
    """How many times a password hash was actually compared (the slow step the limit exists to bound)."""
    seen: Counter = Counter()
    lock = threading.Lock()
    original = Credentials.check_password

    def counted(self, username: str, password: str) -> bool:
        with lock:
            seen[password] += 1
        return original(self, username, password)

    monkeypatch.setattr(Credentials, "check_password", counted)
    return seen


def _port(server: LiveServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def _login_form(server: LiveServer) -> tuple[str, str]:
    """A session cookie and its CSRF token, as a browser gets them from the login page."""
    connection = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=30)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    connection.close()
    return cookie, csrf_from(page)


def _guess(server: LiveServer, cookie: str, token: str, password: str) -> int:
    body = urlencode({"username": TEST_ADMIN[0], "password": password, "csrf_token": token, "next": ""})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    connection = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=60)
    try:
        connection.request("POST", "/login", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _guess_all_at_once(servers: list[LiveServer]) -> Counter:
    forms = [_login_form(server) for server in servers]
    start = threading.Barrier(GUESSES)

    def one(n: int) -> int:
        server, (cookie, token) = servers[n % len(servers)], forms[n % len(servers)]
        start.wait()
        return _guess(server, cookie, token, f"guess-{n}")

    with ThreadPoolExecutor(GUESSES) as pool:
        return Counter(pool.map(one, range(GUESSES)))


def test_simultaneous_guesses_are_held_to_the_limit(app, password_checks):
    with LiveServer(app) as server:
        answers = _guess_all_at_once([server])
    assert sum(password_checks.values()) <= LIMIT, f"{sum(password_checks.values())} passwords checked"
    assert answers[401] <= LIMIT and answers[401] + answers[429] == GUESSES, answers


def test_simultaneous_guesses_across_web_processes_share_one_limit(settings_env, redis_client, password_checks):
    """Two web processes (two apps on one Redis): guesses raced at both still add up to one limit."""
    first, second = (create_app(settings_env) for _ in range(2))
    with LiveServer(first) as one, LiveServer(second) as other:
        answers = _guess_all_at_once([one, other])
    assert sum(password_checks.values()) <= LIMIT, f"{sum(password_checks.values())} passwords checked"
    assert answers[401] <= LIMIT and answers[401] + answers[429] == GUESSES, answers


def test_simultaneous_guesses_are_held_without_redis(settings_env, password_checks):
    """With Redis unreachable, the count in this process still holds against a burst."""
    app = create_app({**settings_env, "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"})  # nothing listens there
    with LiveServer(app) as server:
        answers = _guess_all_at_once([server])
    assert sum(password_checks.values()) <= LIMIT, f"{sum(password_checks.values())} passwords checked"
    assert answers[401] <= LIMIT and answers[401] + answers[429] == GUESSES, answers
