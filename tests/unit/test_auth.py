"""Login, logout, CSRF, API tokens, throttling and cookie flags, through the real app."""

from __future__ import annotations

import stat

import pytest

from app import create_app
from operations.auth import AttemptLimiter, SharedAttemptLimiter, client_key, load_credentials
from tests.support.common import TEST_ADMIN, TEST_API_TOKEN, csrf_from, log_in


@pytest.fixture
def browser(app):
    """A client with no token: it must log in like a person."""
    return app.test_client(authenticated=False)


def test_everything_needs_a_login(browser):
    page = browser.get("/videos/1")
    assert page.status_code == 302 and "/login?next=/videos/1" in page.headers["Location"]
    for path in ("/api/videos", "/events", "/media/videos/1", "/api/errors"):
        response = browser.get(path)
        assert response.status_code == 401, path
        assert "log in first" in response.get_json()["error"]
    assert browser.get("/login").status_code == 200
    assert browser.get("/static/app.css").status_code == 200


def test_api_token_is_checked(app):
    client = app.test_client(authenticated=False)
    assert client.get("/api/videos", headers={"Authorization": f"Bearer {TEST_API_TOKEN}"}).status_code == 200
    wrong = client.get("/api/videos", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "invalid API token" in wrong.get_json()["error"]
    # A script with a token needs no CSRF token: browsers never add this header by themselves.
    posted = client.post(
        "/api/videos", json={"urls": ["https://example.org/a"]}, headers={"Authorization": f"Bearer {TEST_API_TOKEN}"}
    )
    assert posted.status_code == 201


def test_login_then_logout(browser):
    response = log_in(browser, next_path="/errors")
    assert response.status_code == 302 and response.headers["Location"] == "/errors"
    assert browser.get("/").status_code == 200
    assert browser.get("/api/videos").status_code == 200
    page = browser.get("/").data
    assert browser.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert browser.get("/").status_code == 302


def test_wrong_password_is_refused(browser):
    response = log_in(browser, password="guess")
    assert response.status_code == 401 and b"Wrong user name or password" in response.data
    assert browser.get("/").status_code == 302


def test_session_requests_need_the_csrf_token(browser):
    log_in(browser)
    refused = browser.post("/api/videos", json={"urls": ["https://example.org/a"]})
    assert refused.status_code == 403 and "CSRF" in refused.get_json()["error"]
    token = csrf_from(browser.get("/").data)
    accepted = browser.post("/api/videos", json={"urls": ["https://example.org/a"]}, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201


def test_login_form_without_csrf_token_is_refused(browser):
    response = browser.post("/login", data={"username": TEST_ADMIN[0], "password": TEST_ADMIN[1]})
    assert response.status_code == 400
    assert browser.get("/").status_code == 302


def test_repeated_failures_are_throttled(browser):
    for _ in range(5):
        assert log_in(browser, password="guess").status_code == 401
    blocked = log_in(browser)  # even the right password waits now
    assert blocked.status_code == 429 and b"Too many failed attempts" in blocked.data


def test_next_cannot_leave_the_site(browser):
    response = log_in(browser, next_path="//evil.example/phish")
    assert response.headers["Location"] == "/"


def test_session_cookie_flags(app):
    plain = app.test_client(authenticated=False)
    cookie = log_in(plain).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client(authenticated=False)
    token = csrf_from(secure.get("/login", base_url="https://localhost").data)
    form = {"username": TEST_ADMIN[0], "password": TEST_ADMIN[1], "csrf_token": token}
    cookie = secure.post("/login", data=form, base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in cookie


def test_generated_password_is_private_hashed_and_made_once(tmp_path):
    first = load_credentials("admin", "", "", tmp_path)
    assert first.generated_password and len(first.generated_password) >= 12
    assert stat.S_IMODE((tmp_path / "admin_password").stat().st_mode) == 0o600
    assert first.generated_password not in first.password_hash
    again = load_credentials("admin", "", "", tmp_path)
    assert again.generated_password is None, "printed only the first time"
    assert again.check_password("admin", first.generated_password)
    assert not again.check_password("root", first.generated_password)


def test_password_may_be_given_as_a_hash(tmp_path):
    from werkzeug.security import generate_password_hash

    credentials = load_credentials("admin", generate_password_hash("s3cret"), "", tmp_path)
    assert credentials.check_password("admin", "s3cret")
    assert not (tmp_path / "admin_password").exists()


def test_token_access_is_off_without_api_token(tmp_path):
    assert not load_credentials("admin", "pw", "", tmp_path).check_token("")


def test_failures_count_across_web_processes(settings_env, redis_client):
    """Two web processes (two apps on one Redis): guesses sent to either add up to one limit."""
    first, second = (create_app(settings_env).test_client(authenticated=False) for _ in range(2))
    for n in range(5):
        assert log_in(first if n % 2 else second, password="guess").status_code == 401
    assert log_in(first).status_code == 429 and log_in(second).status_code == 429


def test_without_redis_each_process_still_throttles_on_its_own(settings_env):
    app = create_app({**settings_env, "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"})  # nothing listens there
    browser = app.test_client(authenticated=False)
    for _ in range(5):
        assert log_in(browser, password="guess").status_code == 401
    assert log_in(browser).status_code == 429


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"),  # the same /64: one client
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("fe80::1%eth0", "fe80::/64"),  # a zone id does not make another client
        ("::ffff:203.0.113.9", "203.0.113.9"),  # IPv4-mapped: the IPv4 client it is
        ("unknown", "unknown"),
    ],
)
def test_clients_are_counted_by_address_and_ipv6_by_its_64(address, key):
    assert client_key(address) == key


def test_failures_from_one_ipv6_64_add_up(browser):
    """An IPv6 client holds a whole /64 (2^64 addresses): changing the last 64 bits gives no new guesses."""
    for n in range(5):
        browser.environ_base["REMOTE_ADDR"] = f"2001:db8:7:7::{n + 1:x}"
        assert log_in(browser, password="guess").status_code == 401
    browser.environ_base["REMOTE_ADDR"] = "2001:db8:7:7:dead:beef:0:1"
    assert log_in(browser).status_code == 429, "another address in the same /64"
    browser.environ_base["REMOTE_ADDR"] = "2001:db8:7:8::1"
    assert log_in(browser).status_code == 302, "the next /64 is another client"


@pytest.mark.parametrize("shared", [True, False])
def test_an_attempt_is_counted_when_reserved_and_forgiven_on_success(redis_client, shared):
    limiter = SharedAttemptLimiter(redis_client, limit=2, window=60) if shared else AttemptLimiter(2, 60)
    assert limiter.reserve("203.0.113.9") == 0 and limiter.reserve("203.0.113.9") == 0
    assert 59 < limiter.reserve("203.0.113.9") <= 60, "the third waits for the first to age out"
    assert limiter.reserve("203.0.113.10") == 0, "another client has its own count"
    limiter.succeeded("203.0.113.9")
    assert limiter.reserve("203.0.113.9") == 0
