"""Test credentials and small helpers used across the test groups."""

from __future__ import annotations

import re
import time

import pytest

TEST_API_TOKEN = "test-api-token"
TEST_ADMIN = ("admin", "correct horse battery staple")
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'  # what hostile text looks like
AUTH_ENV = {"API_TOKEN": TEST_API_TOKEN, "ADMIN_USERNAME": TEST_ADMIN[0], "ADMIN_PASSWORD": TEST_ADMIN[1]}


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail the test with `what` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def csrf_from(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def log_in(client, username=TEST_ADMIN[0], password=TEST_ADMIN[1], next_path=""):
    token = csrf_from(client.get("/login").data)
    form = {"username": username, "password": password, "csrf_token": token, "next": next_path}
    return client.post("/login", data=form)
