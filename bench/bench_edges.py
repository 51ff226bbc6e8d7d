"""The server's edges under hostile clients, measured on a real waitress and a real Redis:

- pages while N idle, half-sent connections are open (slowloris): GET /login p50/p95, and whether
  any request failed; the same with the waitress settings this project had before (select(), a
  connection limit of WEB_THREADS + SSE_MAX_CLIENTS + 100), measured in the same run as the floor;
- a submission while Redis is frozen (SIGSTOP): seconds until the 503;
- an /events stream reset by its client: seconds until its slot is free again.

    .venv/bin/python bench/bench_edges.py [--idle 1000] [--samples 40]

Everything runs on 127.0.0.1. Prints figures and a RESULT line for bench/run_all.py.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from bench.report import RESULT_PREFIX
from tests.support.live_server import LiveServer
from tests.support.processes import RedisProcess

TOKEN = "bench-token"
OLD_WAITRESS = {"asyncore_use_poll": False, "channel_timeout": 120, "cleanup_interval": 30}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1000, help="idle half-sent connections to hold open")
    parser.add_argument("--samples", type=int, default=40, help="GET /login requests timed under load")
    return parser.parse_args()


def settings_env(data: Path, broker: str) -> dict[str, str]:
    return {"DATA_DIR": str(data), "CELERY_BROKER_URL": broker, "API_TOKEN": TOKEN, "ADMIN_PASSWORD": "bench",
            "LOG_LEVEL": "warning"}  # fmt: skip


def port_of(server: LiveServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def timed_get(port: int, path: str, timeout: float = 10.0) -> float | None:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        if connection.getresponse().status != 200:
            return None
        return (time.perf_counter() - started) * 1000
    except OSError:
        return None
    finally:
        connection.close()


def slow_clients(app, idle: int, samples: int, **options) -> dict[str, float]:
    """Hold `idle` half-sent requests open, then time GET /login."""
    with LiveServer(app, **options) as server:
        port, held = port_of(server), []
        try:
            for _ in range(idle):
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                    sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")
                    held.append(sock)
                except OSError:
                    break
            times = [timed_get(port, "/login") for _ in range(samples)]
        finally:
            for sock in held:
                sock.close()
    answered = sorted(value for value in times if value is not None)
    return {
        "held": len(held),
        "failed": len(times) - len(answered),
        "p50": statistics.median(answered) if answered else float("nan"),
        "p95": answered[int(0.95 * (len(answered) - 1))] if answered else float("nan"),
    }


def frozen_redis(data: Path) -> float:
    broker = RedisProcess(data / "redis").start()
    try:
        client = create_app(settings_env(data / "frozen", broker.url)).test_client()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        client.post("/api/videos", json={"urls": ["https://example.org/warm"], "again": True}, headers=headers)
        os.kill(broker.process.pid, signal.SIGSTOP)
        try:
            started = time.perf_counter()
            response = client.post(
                "/api/videos", json={"urls": ["https://example.org/a"], "again": True}, headers=headers
            )
            elapsed = time.perf_counter() - started
        finally:
            os.kill(broker.process.pid, signal.SIGCONT)
        assert response.status_code == 503, response.status_code
        return elapsed
    finally:
        broker.stop()


def stream_slot_release(app) -> float:
    with LiveServer(app) as server:
        port = port_of(server)
        request = f"GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(request)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert not open_stream(port, request), "with the one slot taken, a second stream must be refused"
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        closed = time.perf_counter()
        while time.perf_counter() - closed < 60:
            if open_stream(port, request):
                return time.perf_counter() - closed
            time.sleep(0.05)
        return float("inf")


def open_stream(port: int, request: bytes) -> bool:
    """Whether an /events stream is accepted now (it is closed again at once)."""
    probe = socket.create_connection(("127.0.0.1", port), timeout=10)
    probe.sendall(request)
    accepted = probe.recv(4096).startswith(b"HTTP/1.1 200")
    probe.close()
    return accepted


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-edges-") as folder:
        data = Path(folder)
        broker = RedisProcess(data / "main-redis").start()
        try:
            app = create_app(settings_env(data / "app", broker.url))
            settings = app.config["SETTINGS"]
            before = {**OLD_WAITRESS, "connection_limit": settings.web_threads + settings.sse_max_clients + 100}
            old = slow_clients(app, args.idle, args.samples, **before)
            new = slow_clients(app, args.idle, args.samples)
            single = create_app({**settings_env(data / "one", broker.url), "SSE_MAX_CLIENTS": "1"})
            release = stream_slot_release(single)
        finally:
            broker.stop()
        to_503 = frozen_redis(data)
    print(f"idle half-sent connections held: {new['held']} (before: {old['held']})")
    for label, figures in (("before (select, limit 316)", old), ("now", new)):
        print(f"GET /login with them open, {label}: p50 {figures['p50']:.1f} ms  p95 {figures['p95']:.1f} ms  "
              f"failed {figures['failed']}/{args.samples}")  # fmt: skip
    print(f"submission with Redis frozen: 503 after {to_503:.2f} s (target < 5 s)")
    print(f"/events slot free again {release:.2f} s after the client reset its connection (target < 5 s)")
    group = f"{args.idle} idle half-sent connections"
    figures = [
        _figure(group, "connections held", new["held"], "", f"= {args.idle}", new["held"] == args.idle),
        _figure(group, "GET /login p95", new["p95"], "ms", "answers", new["failed"] == 0, f"failed {new['failed']}"),
        _figure(
            group,
            "GET /login p95, previous settings",
            old["p95"],
            "ms",
            note=f"failed {old['failed']}/{args.samples}, held {old['held']}",
        ),
        _figure("frozen Redis", "time to 503", to_503, "s", "< 5", to_503 < 5),
        _figure("/events", "slot released after a reset", release, "s", "< 5", release < 5),
    ]
    print(RESULT_PREFIX + json.dumps({"script": "bench_edges", "figures": figures, "notes": []}))
    return 0


def _figure(group, name, value, unit="", target="", ok=None, note=""):
    return {"group": group, "name": name, "value": value, "unit": unit, "target": target, "ok": ok, "note": note}


if __name__ == "__main__":
    sys.exit(main())
