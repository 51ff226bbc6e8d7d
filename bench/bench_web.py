"""Web pages under load: `GET /` and `GET /api/videos` with 1,000 videos in the database, measured by wrk.

The app runs in a child process served by waitress as `python serve.py` serves it (serve.waitress_options:
threads = WEB_THREADS + SSE_MAX_CLIENTS, send_bytes=1, ...), on a temporary DATA_DIR filled with videos
in every state, with an embedded Redis as broker. wrk (Debian package `wrk`) drives it on 127.0.0.1 for
a bounded time per path and connection count and reports p50, p95, p99 and requests per second. When
the app asks for authentication, requests carry `Authorization: Bearer <API_TOKEN>`.

Run from the repository root:
    .venv/bin/python bench/bench_web.py [--videos 1000] [--duration 15] [--connections 1,8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import ROOT, Report

PATHS = ("/", "/api/videos")
P95_TARGET_MS = {"/": 150.0}
WRK_PREFIX = "WRK "
# wrk calls done() once at the end; latency is in microseconds.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000, help="videos in the database")
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per path and connection count")
    parser.add_argument("--connections", default="1,8", help="comma-separated open connections (wrk -c)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the child: serve the app
    return parser.parse_args()


# ---- the server (child process) --------------------------------------------------------------


def serve() -> None:
    """What serve.py main() does once the stack is up: create_app() served by waitress with main()'s options."""
    from waitress import serve as waitress_serve

    from app import configure_logging, create_app
    from config import load_settings
    from serve import waitress_options

    configure_logging("warning")
    waitress_serve(create_app(), **waitress_options(load_settings()))


# ---- the database ----------------------------------------------------------------------------


def seed(database_path: Path, count: int) -> dict[str, int]:
    """`count` videos with metadata, most done, some failed, running or waiting, like a busy instance."""
    import store.engine
    import store.schema
    import store.steps
    import store.videos
    from operations import steps, videos

    rng = random.Random(1)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    kinds = {"done": 0, "error": 0, "running": 0, "queued": 0}
    conn = store.schema.open_database(database_path)
    try:
        with store.engine.transaction(conn):
            for n in range(count):
                request = videos.VideoRequest(
                    url=f"https://www.youtube.com/watch?v=bench{n:07d}",
                    resolution="720",
                    wants_whole_pipeline=True,
                    wants_clips=n % 2 == 0,
                )
                video_id = videos.create_video(conn, request)
                store.videos.update_video(
                    conn,
                    video_id,
                    title=f"Conversation number {n} about boats, gardens and languages",
                    uploader=f"Channel {n % 37}",
                    duration=rng.uniform(300, 7200),
                    width=1280,
                    height=720,
                    video_path=f"/nonexistent/{video_id}/video.mp4",
                    language="en",
                )
                kind = rng.choices(list(kinds), weights=(85, 5, 5, 5))[0]
                kinds[kind] += 1
                _set_states(conn, video_id, kind, base + timedelta(minutes=n), steps.PHASE1_STEPS)
    finally:
        conn.close()
    return kinds


def _set_states(conn, video_id: int, kind: str, when: datetime, names: tuple[str, ...]) -> None:
    import store.engine
    import store.schema
    import store.steps
    import store.videos

    rows = {step.name: step for step in store.steps.steps_of(conn, [video_id])}
    stop_at = {"done": len(names), "error": 2, "running": 2, "queued": 0}[kind]
    for index, name in enumerate(names):
        stamp = (when + timedelta(seconds=30 * index)).isoformat(timespec="milliseconds")
        if index < stop_at:
            fields = {
                "state": "done",
                "progress": 1.0,
                "attempts": 1,
                "queued_at": stamp,
                "started_at": stamp,
                "finished_at": stamp,
            }
        elif index == stop_at and kind == "error":
            fields = {
                "state": "error",
                "attempts": 1,
                "started_at": stamp,
                "finished_at": stamp,
                "error": "transcribe failed unexpectedly (RuntimeError: out of memory); see the worker log",
            }
        elif index == stop_at and kind in ("running", "queued"):
            fields = {
                "state": kind,
                "progress": 0.4 if kind == "running" else 0.0,
                "queued_at": stamp,
                "started_at": stamp if kind == "running" else None,
                "task_id": f"bench-{video_id}-{name}",
            }
        else:
            continue
        store.steps.update_step(conn, rows[name].id, **fields)


# ---- load ------------------------------------------------------------------------------------


def get(url: str, headers: dict[str, str]) -> tuple[int, int]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, len(response.read())
    except urllib.error.HTTPError as error:
        return error.code, 0


def wait_for_server(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url + "/static/", timeout=2)  # any answer means it listens
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


def wrk(url: str, connections: int, seconds: int, script: Path, headers: dict[str, str]) -> dict[str, Any]:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    command = [
        binary,
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith(WRK_PREFIX):
            return json.loads(line[len(WRK_PREFIX) :])
    raise RuntimeError(f"wrk printed no summary: {done.stdout[-500:]} {done.stderr[-500:]}")


def main() -> None:
    args = parse_args()
    if args.serve:
        serve()
        return
    from runtime.stack import free_port, redis_command, wait_for_redis

    report = Report("bench_web")
    connection_counts = [int(c) for c in args.connections.split(",") if c.strip()]
    with tempfile.TemporaryDirectory(prefix="bench_web_") as tmp:
        data_dir = Path(tmp)
        redis_port, port = free_port(), free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        token = secrets.token_urlsafe(24)
        env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "FLASK_SECRET_KEY": "bench",
            "CELERY_BROKER_URL": redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "warning",
            "API_TOKEN": token,
            "ADMIN_PASSWORD": secrets.token_urlsafe(12),
        }
        began = time.perf_counter()
        kinds = seed(data_dir / "clipper.db", args.videos)
        report.add("database", "videos", args.videos, note=", ".join(f"{k} {v}" for k, v in kinds.items()))
        report.add("database", "seeding time", time.perf_counter() - began, "s")
        processes = []
        try:
            processes.append(subprocess.Popen(redis_command(redis_port, data_dir / "redis"), stdout=subprocess.DEVNULL))
            wait_for_redis(redis_url)
            server = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"], cwd=ROOT, env=env)
            processes.append(server)
            base = f"http://127.0.0.1:{port}"
            wait_for_server(base, server)
            headers = authentication(report, base, token)
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
                lua.write(WRK_SCRIPT)
            script = Path(lua.name)
            for path in PATHS:
                status, size = get(base + path, headers)
                if status != 200:
                    raise RuntimeError(f"GET {path} answered {status}: the benchmark needs 200")
                report.add(f"GET {path}", "response size", size, "bytes")
                wrk(base + path, 1, 1, script, headers)  # warm-up, not counted
                for connections in connection_counts:
                    add_wrk_figures(
                        report, path, connections, wrk(base + path, connections, args.duration, script, headers)
                    )
            script.unlink()
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait(20)
    report.notes += [
        f"wrk {wrk_version()}, closed loop: each connection sends its next request when the last one is answered, "
        f"for {args.duration} s per row, on 127.0.0.1; the load generator shares the machine's cores with the server",
        "served with serve.waitress_options() as serve.py main() serves it: threads = WEB_THREADS + SSE_MAX_CLIENTS "
        "(16 + 200 by default), send_bytes=1",
    ]
    report.emit()


def authentication(report: Report, base: str, token: str) -> dict[str, str]:
    """Bearer token when the app refuses anonymous requests (401 or a redirect to a login page)."""
    request = urllib.request.Request(base + "/api/videos?per_page=1")
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        status = opener.open(request, timeout=30).status
    except urllib.error.HTTPError as error:
        status = error.code
    needed = status in (301, 302, 303, 307, 401, 403)
    report.add("server", "authentication", "Bearer API_TOKEN" if needed else "none asked", note=f"anonymous: {status}")
    return {"Authorization": f"Bearer {token}"} if needed else {}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def add_wrk_figures(report: Report, path: str, connections: int, result: dict[str, Any]) -> None:
    group = f"GET {path}"
    label = f"{connections} connection{'s' if connections > 1 else ''}"
    seconds = result["duration_us"] / 1e6
    errors = sum(result[key] for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
    p95 = result["p95_us"] / 1000
    report.add(group, f"{label}: p50", result["p50_us"] / 1000, "ms")
    if path in P95_TARGET_MS:
        report.below(group, f"{label}: p95", p95, P95_TARGET_MS[path], "ms")
    else:
        report.add(group, f"{label}: p95", p95, "ms")
    report.add(group, f"{label}: p99", result["p99_us"] / 1000, "ms")
    report.add(
        group,
        f"{label}: requests/second",
        result["requests"] / seconds,
        "req/s",
        note=f"{result['requests']} requests, {errors} errors or non-2xx",
    )


def wrk_version() -> str:
    binary = shutil.which("wrk")
    if binary is None:
        return "missing"
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).split("[")[0].replace("wrk", "").strip()


if __name__ == "__main__":
    main()
