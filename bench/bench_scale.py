"""Scale-out under load: 20 videos submitted at once to 2 web processes and 4 workers on PostgreSQL.

Everything is real and started here: a Redis, a throwaway PostgreSQL cluster (tests/support/postgres.py,
Debian's `postgresql` binaries), two web processes (`python serve.py` with LOCAL_WORKERS empty, so each
serves the app and runs its reconciler, as a second web host would) and four workers started as
`make worker` starts them (`python worker.py`): two on the io queue and two on the compute queue, one slot
each, all on one DATA_DIR. The media is the benchmarks' conversation (bench/conversation.py: real and
scripted speech in turn, questions and answers, 720p), one minute of it, served on 127.0.0.1 under 20
names; every video runs in auto mode with clips, so both phases run under the load.

It reports what the issue asks: all videos done, duplicate task runs (a step started more often than it
was asked for), database errors in any log, and the figures: wall time, per-video latency, API latency
while loaded, PostgreSQL connections.

    .venv/bin/python bench/bench_scale.py [--videos 20] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_pipeline import Stack
from bench.conversation import build
from bench.report import ROOT, Report
from runtime import stack as processes
from tests.support.common import wait_until
from tests.support.media_factory import MediaServer
from tests.support.postgres import INSTALL_HINT, PostgresServer, server_binaries

DATABASE_ERRORS = re.compile(r"psycopg|OperationalError|IntegrityError|deadlock|could not serialize|database is locked")
STARTED = re.compile(r"video (\d+): (\w+) started \(attempt (\d+)\)")
ACTIVE = ("queued", "running")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=1.0, help="length of each video")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for every video")
    return parser.parse_args()


def make_site(root: Path, count: int, minutes: float) -> list[str]:
    """The bench conversation under `count` names (links to one file): distinct links, the same work."""
    source = build(minutes).video_path
    names = [f"talk{n:02d}.mp4" for n in range(1, count + 1)]
    for name in names:
        (root / name).symlink_to(source)
    return names


class Api:
    def __init__(self, base_url: str, token: str):
        self.base_url, self.token = base_url, token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = json.loads(response.read() or b"null")
                return response.status, payload, time.perf_counter() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), time.perf_counter() - started

    def ready(self) -> bool:
        try:
            return self.call("GET", "/api/videos")[0] == 200
        except OSError:
            return False


def step_rows(database_url: str) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM steps ORDER BY id").fetchall()


def cut_clip_files(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM clips WHERE path IS NOT NULL").fetchone()[0]


def connections(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").fetchone()[0]


def settled(rows: list[dict[str, Any]], videos: int) -> bool:
    """Every video's phase 1 has ended and nothing is queued or running (phase 2 included)."""
    finished = {row["video_id"] for row in rows if row["name"] == "exchanges" and row["state"] in ("done", "error")}
    failed = {row["video_id"] for row in rows if row["exchange_id"] is None and row["state"] == "error"}
    return len(finished | failed) >= videos and not any(row["state"] in ACTIVE for row in rows)


def seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def main() -> int:
    args = parse_args()
    binaries = server_binaries()
    if binaries is None:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    postgres = PostgresServer(binaries).start()
    stack: Stack | None = None
    try:
        database_url = postgres.new_database()
        redis_port = processes.free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        token = secrets.token_urlsafe(24)
        env = {
            **os.environ,
            "DATA_DIR": str(workdir / "data"),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis_url,
            "ALLOWED_NETWORKS": "127.0.0.0/8",
            "FLASK_SECRET_KEY": "bench",
            "API_TOKEN": token,
            "ADMIN_PASSWORD": secrets.token_urlsafe(12),
            "LOCAL_WORKERS": "",
            "WORKER_CONCURRENCY": "1",
            "IO_WORKER_CONCURRENCY": "1",
            "COMPUTE_THREADS": "1",
            "LOG_LEVEL": "info",
            "HOST": "127.0.0.1",
        }
        stack = Stack(workdir, env)
        stack.start("redis", processes.redis_command(redis_port, workdir / "redis"))
        processes.wait_for_redis(redis_url)
        ports = [processes.free_port() for _ in range(2)]
        for n, port in enumerate(ports, start=1):
            stack.env = {**env, "PORT": str(port)}
            stack.start(f"web-{n}", [sys.executable, "serve.py"])
        stack.env = env
        for name, queue in (("io-1", "io"), ("io-2", "io"), ("compute-1", "compute"), ("compute-2", "compute")):
            stack.start(name, [sys.executable, "worker.py", queue])
        webs = [Api(f"http://127.0.0.1:{port}", token) for port in ports]
        wait_until(lambda: all(web.ready() for web in webs), 120, what="both web processes")
        time.sleep(15)  # the workers load the app (torch, models' code) before they take tasks

        site_root = workdir / "site"
        site_root.mkdir()
        names = make_site(site_root, args.videos, args.minutes)
        with MediaServer(site_root) as site:
            report = run_load(args, webs, site.base_url, names, database_url)
        logs = {name: stack.log_text(name) for name in stack.logs if name != "redis"}
    finally:
        if stack is not None:
            stack.stop()
        postgres.stop()
    add_log_figures(report, logs, report.extra.pop("rows"))
    report.emit()
    return 0


def run_load(args, webs: list[Api], base_url: str, names: list[str], database_url: str) -> Report:
    report = Report("bench_scale")
    submitted = time.time()

    def submit(n: int):
        body = {"urls": [f"{base_url}/{names[n]}"], "auto": True, "clips": True}
        return webs[n % len(webs)].call("POST", "/api/videos", body)

    with ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(submit, range(len(names))))
    accepted = sum(status == 201 for status, _body, _seconds in answers)
    report.add("load", "videos submitted at once (accepted)", accepted, "", f"= {len(names)}", accepted == len(names))
    report.add(
        "load",
        "submission p95 (20 at once, 2 web processes)",
        percentile([seconds_ for _s, _b, seconds_ in answers], 95) * 1000,
        "ms",
    )

    latencies, peak_connections, rows = [], 0, []
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        for web in webs:
            latencies.append(web.call("GET", "/api/videos")[2])
        peak_connections = max(peak_connections, connections(database_url))
        rows = step_rows(database_url)
        if settled(rows, len(names)):
            time.sleep(3)  # a step queued by the last one to finish would show now
            rows = step_rows(database_url)
            if settled(rows, len(names)):
                break
        time.sleep(1)
    wall = max(seconds(row["finished_at"]) for row in rows if row["finished_at"]) - submitted

    per_video: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        if row["name"] != "translate":  # optional: never run by auto mode
            per_video.setdefault(row["video_id"], []).append(row)
    done = [vid for vid, steps in per_video.items() if all(step["state"] == "done" for step in steps)]
    report.add("outcome", "videos with every step done", len(done), "", f"= {len(names)}", len(done) == len(names))
    report.add("outcome", "steps run (phase 1 and 2)", len(rows))
    report.add("outcome", "exchanges cut (cut_clips steps)", sum(row["name"] == "cut_clips" for row in rows))
    report.add("outcome", "clip files cut", cut_clip_files(database_url))
    ends = [
        max(seconds(step["finished_at"]) for step in steps if step["finished_at"]) - submitted
        for steps in per_video.values()
    ]
    report.add("time", "submit → last step done", wall, "s")
    report.add("time", "wall / audio processed", wall / (len(names) * args.minutes * 60), "× real time")
    report.add("time", "per video, submit → its last step (median)", statistics.median(ends), "s")
    report.add("time", "per video, submit → its last step (max)", max(ends), "s")
    report.add("web", "GET /api/videos while loaded, p50", percentile(latencies, 50) * 1000, "ms")
    report.add("web", "GET /api/videos while loaded, p95", percentile(latencies, 95) * 1000, "ms")
    report.add("database", "PostgreSQL connections, peak", peak_connections)
    report.extra["rows"] = rows
    return report


def add_log_figures(report: Report, logs: dict[str, str], rows: list[dict[str, Any]]) -> None:
    """Duplicate runs: a step started more times than its attempts say it was asked to."""
    starts: dict[tuple[str, str], int] = {}
    for name, text in logs.items():
        if name.startswith(("io", "compute")):
            for video, step, _attempt in STARTED.findall(text):
                starts[(video, step)] = starts.get((video, step), 0) + 1
    asked: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (str(row["video_id"]), row["name"])
        asked[key] = asked.get(key, 0) + row["attempts"]
    duplicates = sum(max(0, count - asked.get(key, 0)) for key, count in starts.items())
    retried = sum(row["attempts"] > 1 for row in rows)
    report.add("outcome", "duplicate task runs (started beyond attempts)", duplicates, "", "= 0", duplicates == 0)
    report.add("outcome", "steps that needed more than one attempt", retried, "", "= 0", retried == 0)
    errors = [line for text in logs.values() for line in text.splitlines() if DATABASE_ERRORS.search(line)]
    report.add("database", "database errors in any log", len(errors), "", "= 0", not errors)
    report.notes += [f"log: {line}" for line in errors[:5]]
    report.notes.append(
        "2 web processes (serve.py, LOCAL_WORKERS empty), workers: python worker.py io ×2, "
        "compute ×2, one slot each, COMPUTE_THREADS=1; PostgreSQL from Debian, fsync off"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
