"""The real stack for browser tests: waitress serving the app, a Celery worker, Redis, generated HLS
on a loopback media server, and Debian's chromium driven by Playwright (never any outside address)."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

import store.engine
import store.speakers
import store.steps
import store.transcripts
from app import create_app
from pipeline.types import Segment, Word
from tests.support.common import wait_until
from tests.support.live_server import LiveServer
from tests.support.media_factory import MediaServer, make_hls
from tests.support.processes import RedisProcess, Worker

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STEP_TIMEOUT = 120.0
ADMIN = ("admin", "browser-test-password")
API_TOKEN = "browser-test-api-token"


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def media_site(tmp_path_factory) -> Iterator[MediaServer]:
    root = tmp_path_factory.mktemp("site")
    make_hls(root / "talk")
    with MediaServer(root) as server:
        yield server


@pytest.fixture(scope="session")
def stack_redis_url(tmp_path_factory) -> Iterator[str]:
    """A real redis-server of the browser stack's own: other tests flush theirs (`redis_client`), and
    this stack's worker must not take the tasks those tests count on their queue."""
    server = RedisProcess(tmp_path_factory.mktemp("browser-redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory, stack_redis_url) -> dict[str, str]:
    return {
        "DATA_DIR": str(tmp_path_factory.mktemp("browser-data")),
        "ALLOWED_NETWORKS": "127.0.0.0/8",  # media is served on loopback
        "FLASK_SECRET_KEY": "browser-test",
        "CELERY_BROKER_URL": stack_redis_url,
        "LOG_LEVEL": "info",
        "WEB_THREADS": "8",
        "SSE_MAX_CLIENTS": "20",
        "SSE_HEARTBEAT_SECONDS": "5",
        # Used once login is required (ignored before): the page logs in, the API helper sends the token.
        "ADMIN_USERNAME": ADMIN[0],
        "ADMIN_PASSWORD": ADMIN[1],
        "API_TOKEN": API_TOKEN,
    }


@pytest.fixture(scope="session")
def worker(stack_env, artifacts_dir):
    process = Worker(stack_env, queues="io", log=artifacts_dir / "browser-worker.log").start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def flask_app(stack_env):
    return create_app(stack_env)


@pytest.fixture(scope="session")
def live_server(flask_app, worker) -> Iterator[LiveServer]:
    with LiveServer(flask_app) as server:
        yield server


class Api:
    """The JSON API over HTTP (standard library only), for set-up and for checking what the UI did."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {API_TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, json.loads(raw) if raw.strip().startswith(b"{") else None

    def get(self, path: str) -> dict:
        status, body = self.call("GET", path)
        assert status == 200, (path, status, body)
        return body

    def video(self, video_id: int) -> dict:
        return self.get(f"/api/videos/{video_id}")

    def step(self, video_id: int, name: str) -> dict:
        return next(step for step in self.video(video_id)["steps"] if step["name"] == name)

    def submit(self, url: str, **options) -> int:
        status, body = self.call("POST", "/api/videos", {"urls": [url], "again": True, **options})
        assert status == 201, body
        return body["videos"][0]["id"]

    def wait_step(self, video_id: int, name: str, states=("done", "error")) -> dict:
        def finished():
            step = self.step(video_id, name)
            return step if step["state"] in states else None

        return wait_until(finished, timeout=STEP_TIMEOUT, what=f"{name} of video {video_id}")


@pytest.fixture(scope="session")
def api(live_server) -> Api:
    return Api(live_server.base_url)


DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.base_url, viewport=DESKTOP)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    log_in_if_asked(tab)
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def log_in_if_asked(tab) -> None:
    """Every page requires a login: sign in through the login form like a person would."""
    tab.goto("/")
    if "/login" in tab.url:
        tab.screenshot(path=str(Path(__file__).parent.parent / "artifacts" / "browser-login.png"))
        tab.fill("#username", ADMIN[0])
        tab.fill("#password", ADMIN[1])
        tab.click("button[type=submit]")
        tab.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def screenshot(page, artifacts_dir) -> Callable[[str], Path]:
    """Save full-page PNGs under tests/artifacts/ to look at after the run: at the test's desktop size
    and at a phone's (390×844, `-phone.png`)."""

    def save(name: str, full_page: bool = True) -> Path:
        path = artifacts_dir / f"browser-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        desktop = page.viewport_size
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(artifacts_dir / f"browser-{name}-phone.png"), full_page=full_page)
        page.set_viewport_size(desktop)
        return path

    return save


# ---- a video to work on, shared by the page tests -----------------------------------------------

STEP_MS = 120_000


@pytest.fixture
def downloaded(api, media_site) -> int:
    video_id = api.submit(f"{media_site.base_url}/talk/master.m3u8", resolution="360")
    assert api.wait_step(video_id, "download")["state"] == "done"
    return video_id


def segment(start: float, end: float, text: str, speaker: str) -> Segment:
    """A segment whose words share its time evenly, as Whisper's word timestamps would."""
    tokens = text.split()
    step = (end - start) / len(tokens)
    words = tuple(
        Word(round(start + i * step, 3), round(start + (i + 1) * step, 3), f" {token}", 0.9, speaker)
        for i, token in enumerate(tokens)
    )
    return Segment(start, end, text, words, speaker)


SEGMENTS = (
    segment(0.0, 1.2, "So, what brought you here?", "SPEAKER_00"),
    segment(1.2, 2.5, 'Curiosity, <b>mostly</b> & "luck".', "SPEAKER_01"),
    segment(2.5, 3.8, "That is a fine answer.", "SPEAKER_00"),
)


@pytest.fixture
def transcribed(downloaded, flask_app) -> int:
    """A downloaded video given a transcript and speakers directly in the database (the set-up only;
    the page reads and changes them through the API)."""
    conn = store.engine.connect_to(flask_app.config["SETTINGS"])
    try:
        with store.engine.transaction(conn):
            store.transcripts.replace_segments(conn, downloaded, SEGMENTS)
            store.speakers.ensure_speakers(conn, downloaded, ["SPEAKER_00", "SPEAKER_01"])
            for name in ("audio", "transcribe", "diarize"):  # as if they had run: phase 2 needs them done
                store.steps.update_step(
                    conn, store.steps.find_step(conn, downloaded, name).id, state="done", progress=1.0
                )
    finally:
        conn.close()
    return downloaded


def cut_a_qa(api, video_id: int) -> int:
    """A Q&A over the whole test video, processed and cut through the API; its id once its clips exist."""
    status, body = api.call("POST", f"/api/videos/{video_id}/exchanges", {"start": 0, "end": 3.8, "process": True})
    assert status == 201
    exchange_id = body["exchange"]["id"]
    wait_until(
        lambda: all(s["state"] == "done" for s in api.get(f"/api/exchanges/{exchange_id}")["steps"]),
        timeout=STEP_MS / 1000,
        what="the clips to be cut",
    )
    return exchange_id


def accessibility_problems(page) -> list[str]:
    """What axe-core (the engine behind browsers' accessibility audits) finds on the page as it is, at
    every impact: a button with no name, text too faint to read, a table column with no header..."""
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [
        f"{rule['id']} ({rule['impact']}): {rule['help']} at {where}"
        for rule in results.response["violations"]
        for where in [[(node["target"], node["failureSummary"]) for node in rule["nodes"][:4]]]
    ]
