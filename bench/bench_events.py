"""Live updates under load: N open /events streams while pages are being served.

Serves the app with waitress exactly as `serve.py main()` does (threads = WEB_THREADS + SSE_MAX_CLIENTS,
send_bytes=1) on a private redis-server and a temporary database seeded with videos, opens N
concurrent /events clients (http.client in threads), publishes step events carrying their send time,
and measures how long each takes to reach every client; meanwhile it times `GET /` and
`GET /api/videos`, and once before the streams open, for comparison. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_events.py [--clients 100] [--events 200] [--rate 20] [--videos 1000]
                                           [--connection-limit N]

--connection-limit passes waitress's connection_limit (default 100, which main() does not change):
each open stream is a connection, so compare runs with and without it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import store.engine  # noqa: E402
import store.schema  # noqa: E402
import store.videos  # noqa: E402
from app import create_app  # noqa: E402
from bench.report import Report  # noqa: E402
from events.stream import EventPublisher  # noqa: E402
from operations import videos  # noqa: E402
from runtime.stack import free_port, redis_command, wait_for_redis  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}  # every request is logged in, as a script would be


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def describe(values: list[float]) -> str:
    if not values:
        return "no samples"
    ms = [value * 1000 for value in values]
    return (
        f"p50 {statistics.median(ms):7.1f} ms   p95 {percentile(ms, 0.95):7.1f} ms   "
        f"max {max(ms):7.1f} ms   ({len(ms)} samples)"
    )


class Client(threading.Thread):
    """One browser tab: an /events stream whose event latencies it records."""

    def __init__(self, host: str, port: int, connected: threading.Semaphore, go: threading.Event):
        super().__init__(daemon=True)
        self.host, self.port, self.connected, self.go = host, port, connected, go
        self.latencies: list[float] = []
        self.seen: set[int] = set()
        self.error: str | None = None

    def run(self) -> None:
        try:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            conn.request("GET", "/events", headers={"Accept": "text/event-stream", **AUTH})
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
            snapshot = False
            while True:
                line = response.readline()
                if not line:
                    return
                if not line.startswith(b"data: "):
                    continue
                event = json.loads(line[6:])
                if event.get("type") == "snapshot" and not snapshot:
                    snapshot = True
                    self.connected.release()
                    self.go.wait()
                elif "bench_sent" in event:
                    self.latencies.append(time.perf_counter() - event["bench_sent"])
                    self.seen.add(event["bench_seq"])
                    if event.get("bench_last"):
                        return
        except Exception as error:  # a benchmark reports failures, it does not stop on them
            self.error = f"{error.__class__.__name__}: {error}"


def time_pages(host: str, port: int, stop: threading.Event, samples: dict[str, list[float]], rounds: int = 0) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    count = 0
    while not stop.is_set() and (not rounds or count < rounds):
        for path in ("/", "/api/videos"):
            started = time.perf_counter()
            conn.request("GET", path, headers=AUTH)
            response = conn.getresponse()
            response.read()
            samples.setdefault(path, []).append(time.perf_counter() - started)
            assert response.status == 200, (path, response.status)
        count += 1


def seed(database_path: Path, count: int) -> None:
    conn = store.schema.open_database(database_path)
    with store.engine.transaction(conn):
        for n in range(count):
            video_id = videos.create_video(conn, videos.VideoRequest(url=f"https://example.org/watch?v={n}"))
            store.videos.update_video(
                conn, video_id, title=f"Conversation number {n}", duration=3600 + n, width=1280, height=720
            )
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="events published per second")
    parser.add_argument("--videos", type=int, default=1000, help="videos in the database")
    parser.add_argument("--connection-limit", type=int, default=None, help="waitress connection_limit")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-events-"))
    port = free_port()
    redis_process = subprocess.Popen(redis_command(port, workdir / "redis"), stdout=subprocess.DEVNULL)
    redis_url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_redis(redis_url)
        env = {
            "DATA_DIR": str(workdir / "data"),
            "CELERY_BROKER_URL": redis_url,
            "FLASK_SECRET_KEY": "bench",
            "LOG_LEVEL": "warning",
            "API_TOKEN": TOKEN,
            "ADMIN_PASSWORD": "bench",
            # Sized for the subscribers asked, as an operator expecting that many would set it; every
            # subscriber here comes from one address, so the per-client connection cap is lifted.
            "SSE_MAX_CLIENTS": str(max(args.clients, 200)),
            "WEB_MAX_CONNECTIONS_PER_CLIENT": "0",
        }
        app = create_app(env)
        settings = app.config["SETTINGS"]
        seed(settings.database_path, args.videos)
        options = {"connection_limit": args.connection_limit} if args.connection_limit else {}
        with LiveServer(app, **options) as server:
            run(server, redis_url, settings, args)
    finally:
        logging.getLogger("events.hub").setLevel(logging.ERROR)  # Redis going away now is expected
        redis_process.terminate()
        redis_process.wait(10)
    return 0


def run(server: LiveServer, redis_url: str, settings, args) -> None:
    address = urlparse(server.base_url)
    host, port = address.hostname, address.port
    print(f"command: {' '.join(shlex.quote(part) for part in [sys.executable, *sys.argv])}")
    print(
        f"waitress threads={server.threads} (WEB_THREADS={settings.web_threads} + SSE_MAX_CLIENTS="
        f"{settings.sse_max_clients}), send_bytes=1, connection_limit={server.server.adj.connection_limit}; "
        f"{args.videos} videos in the database"
    )

    idle: dict[str, list[float]] = {}
    time_pages(host, port, threading.Event(), idle, rounds=30)

    connected, go = threading.Semaphore(0), threading.Event()
    clients = [Client(host, port, connected, go) for _ in range(args.clients)]
    started = time.perf_counter()
    for client in clients:
        client.start()
    opened = 0
    while opened < args.clients and connected.acquire(timeout=20):
        opened += 1
    print(f"{opened} of {args.clients} /events streams open after {time.perf_counter() - started:.2f} s")
    go.set()

    busy: dict[str, list[float]] = {}
    stop = threading.Event()
    pages = threading.Thread(target=time_pages, args=(host, port, stop, busy), daemon=True)
    if opened < args.clients:
        print("  (waitress stopped accepting connections: page loads would hang now; see --connection-limit)")
        return
    pages.start()
    publish = EventPublisher(redis_url)
    interval = 1.0 / args.rate
    for seq in range(args.events):
        event = {
            "type": "step",
            "video_id": 1,
            "exchange_id": None,
            "name": "download",
            "state": "running",
            "progress": seq / args.events,
            "bench_seq": seq,
            "bench_sent": time.perf_counter(),
            "bench_last": seq == args.events - 1,
        }
        publish(event)
        time.sleep(interval)
    for client in clients:
        client.join(timeout=30)
    stop.set()
    pages.join(timeout=30)

    latencies = [value for client in clients for value in client.latencies]
    delivered = sum(len(client.seen) for client in clients)
    errors = [client.error for client in clients if client.error]
    print(
        f"events: {args.events} published at {args.rate:g}/s to {args.clients} clients; "
        f"delivered {delivered} of {args.events * args.clients}; client errors: {len(errors)}"
    )
    for error in errors[:3]:
        print(f"  error: {error}")
    print(f"event delivery latency     {describe(latencies)}")
    for path in ("/", "/api/videos"):
        print(f"GET {path:<11} no streams  {describe(idle.get(path, []))}")
        print(f"GET {path:<11} {args.clients} streams {describe(busy.get(path, []))}")
    report = Report("bench_events")
    group = f"events x{args.clients}"
    report.add(group, "streams opened", opened, f"of {args.clients}")
    report.add(group, "events delivered", delivered, f"of {args.events * args.clients}")
    p95 = percentile(latencies, 0.95) * 1000 if latencies else None
    if args.clients == 100:
        report.below(group, "event delivery p95", p95, 500, "ms")
    else:
        report.add(group, "event delivery p95", p95, "ms")
    report.add(group, "event delivery p50", percentile(latencies, 0.5) * 1000 if latencies else None, "ms")
    for path in ("/", "/api/videos"):
        samples = busy.get(path, [])
        p95_page = percentile(samples, 0.95) * 1000 if samples else None
        report.add(group, f"GET {path} p95 while streams are open", p95_page, "ms")
    report.emit()


if __name__ == "__main__":
    sys.exit(main())
