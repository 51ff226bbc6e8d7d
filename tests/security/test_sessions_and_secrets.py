"""Sessions that end, secrets that stay secret: logout and a password change end every session;
credentials in URLs are never shown or logged; runtime files are private; the embedded Redis needs
its password."""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from app import create_app
from pipeline.download import DownloadError, fetch
from runtime.stack import free_port, redis_command, wait_for_redis
from tests.support.common import TEST_ADMIN, csrf_from, log_in

ROOT = Path(__file__).resolve().parents[2]


def _stolen_cookie(client) -> str:
    return client.get_cookie("clipper").value


def _with_cookie(app, value: str):
    other = app.test_client(authenticated=False)
    other.set_cookie("clipper", value)
    return other


def test_a_session_cookie_is_dead_after_logout(app):
    browser = app.test_client(authenticated=False)
    log_in(browser)
    cookie = _stolen_cookie(browser)
    assert _with_cookie(app, cookie).get("/api/videos").status_code == 200, "a copy of the cookie works while logged in"
    browser.post("/logout", data={"csrf_token": csrf_from(browser.get("/").data)})
    assert _with_cookie(app, cookie).get("/api/videos").status_code == 401
    assert _with_cookie(app, cookie).get("/").status_code == 302


def test_a_password_change_ends_every_session(settings_env, redis_client):
    app = create_app(settings_env)
    browser = app.test_client(authenticated=False)
    log_in(browser)
    cookie = _stolen_cookie(browser)
    restarted = create_app(settings_env)  # same password: sessions survive a restart
    assert _with_cookie(restarted, cookie).get("/api/videos").status_code == 200
    changed = create_app({**settings_env, "ADMIN_PASSWORD": "a new and different password"})
    assert _with_cookie(changed, cookie).get("/api/videos").status_code == 401


def test_sessions_expire_after_the_configured_lifetime(settings_env, redis_client):
    app = create_app({**settings_env, "SESSION_LIFETIME_HOURS": "2"})
    browser = app.test_client(authenticated=False)
    log_in(browser)
    cookie = browser.get_cookie("clipper")
    assert cookie.expires is not None
    assert app.permanent_session_lifetime.total_seconds() == 2 * 3600


SECRET_URL = "https://alice:hunter2-secret@example.org/members/talk"


def test_credentials_in_urls_are_never_shown(client):
    response = client.post("/api/videos", json={"urls": [SECRET_URL, "ftp://bob:pw-secret@example.org/x"]})
    assert response.status_code == 201
    video_id = response.get_json()["videos"][0]["id"]
    shown = [
        response.get_data(as_text=True),
        client.get("/api/videos").get_data(as_text=True),
        client.get(f"/api/videos/{video_id}").get_data(as_text=True),
        client.get("/").get_data(as_text=True),
        client.get(f"/videos/{video_id}").get_data(as_text=True),
    ]
    for text in shown:
        assert "hunter2" not in text and "pw-secret" not in text
    assert "https://***@example.org/members/talk" in shown[2]


def test_credentials_stay_out_of_step_errors_and_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DownloadError) as raised:
        fetch("http://carol:s3cret-pass@127.0.0.1:9/talk", "best", tmp_path / "v", lambda f: None)
    assert "s3cret-pass" not in str(raised.value) and "***@127.0.0.1" in str(raised.value)
    assert "s3cret-pass" not in caplog.text


def test_runtime_files_and_folders_are_private(tmp_path):
    """What `make run` and workers create (database, media folders, secrets) is 0600 in 0700 folders."""
    data = tmp_path / "data"
    script = (
        "import json, sys; from runtime.process import harden_process; from app import create_app; harden_process(); "
        "app = create_app(json.loads(sys.argv[1])); "
        "from operations import uploads; uploads.start(app.config['SETTINGS'].download_dir, 'a.mp4', 10, {})"
    )
    env = {"DATA_DIR": str(data), "CELERY_BROKER_URL": "redis://127.0.0.1:1/0", "ADMIN_PASSWORD": "x"}
    subprocess.run([sys.executable, "-c", script, json.dumps(env)], cwd=ROOT, check=True, timeout=120)
    found = list(data.rglob("*"))
    assert any(path.name == "clipper.db" for path in found)
    for path in [data, *found]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def test_the_embedded_redis_needs_its_password(tmp_path):
    port = free_port()
    command = redis_command(port, tmp_path / "redis", password="generated-secret")
    assert "generated-secret" not in " ".join(command), "never on the command line (ps shows it)"
    config = tmp_path / "redis" / "redis.conf"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_for_redis(f"redis://:generated-secret@127.0.0.1:{port}/0")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).lpush("compute", "an injected task")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).config_set("dir", "/tmp")
    finally:
        process.terminate()
        process.wait(10)


def test_the_admin_login_still_works_with_the_configured_password(app):
    browser = app.test_client(authenticated=False)
    assert log_in(browser, TEST_ADMIN[0], TEST_ADMIN[1]).status_code == 302
    assert browser.get("/api/videos").status_code == 200
