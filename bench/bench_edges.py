"""The server's edges under hostile clients, measured on a real waitress (as `app.main()` serves it) and Redis:

- pages while N idle, half-sent connections are open (slowloris) from many clients: GET /login p50/p95,
  and whether any request failed; the same with the waitress settings this project had before (select(),
  a connection limit of WEB_THREADS + SSE_MAX_CLIENTS + 100), measured in the same run as the floor;
- one client opening 2,100 half-sent requests, and 1,500 anonymous POSTs whose 1 MiB − 1 byte bodies
  never finish: GET /login p50/p95 from another client during each flood next to the same with no flood,
  how many flood connections were refused, and how many body bytes the server held (in memory and in
  deleted temp files); each also against plain waitress with the same options (no caps), unless --no-before;
- a submission while Redis is frozen (SIGSTOP): seconds until the 503;
- an /events stream reset by its client: seconds until its slot is free again.

    .venv/bin/python bench/bench_edges.py [--idle 1000] [--samples 40] [--headers 2100] [--posts 1500]

Everything runs on loopback: the floods come from 127.0.0.2 and up, GET /login from 127.0.0.1. Prints
figures and a RESULT line for bench/run_all.py.
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
from contextlib import contextmanager, suppress
from pathlib import Path
from unittest import mock

import waitress.server
from waitress.adjustments import Adjustments

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from bench.report import RESULT_PREFIX
from runtime.process import harden_process
from serve import REQUEST_BODY_LIMIT, create_web_server
from tests.support import live_server
from tests.support.live_server import LiveServer
from tests.support.processes import RedisProcess

TOKEN = "bench-token"
OLD_WAITRESS = {"asyncore_use_poll": False, "channel_timeout": 120, "cleanup_interval": 30}
PER_SOURCE = 100  # connections per loopback client where a test wants many clients, under the per-client cap
BODY = REQUEST_BODY_LIMIT - 2  # 1 MiB − 1 byte: the largest body under the limit, less one


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1000, help="idle half-sent connections to hold open")
    parser.add_argument("--samples", type=int, default=40, help="GET /login requests timed under load")
    parser.add_argument("--headers", type=int, default=2100, help="half-sent requests from one client")
    parser.add_argument("--posts", type=int, default=1500, help="anonymous POSTs with unfinished 1 MiB bodies")
    parser.add_argument("--no-before", action="store_true", help="skip the floods against plain waitress")
    return parser.parse_args()


def settings_env(data: Path, broker: str) -> dict[str, str]:
    return {
        "DATA_DIR": str(data),
        "CELERY_BROKER_URL": broker,
        "API_TOKEN": TOKEN,
        "ADMIN_PASSWORD": "bench",
        "LOG_LEVEL": "warning",
    }


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


@contextmanager
def serving(app, capped: bool = True, **options):
    """LiveServer on the server main() runs (capped) or on plain waitress with the same options."""
    factory = create_web_server if capped else waitress.server.create_server
    with mock.patch.object(live_server, "create_server", factory):
        server = LiveServer(app, **options)
    with server:
        yield server


def source(number: int, per_source: int) -> tuple[str, int]:
    """The loopback client of a flood's `number`th connection: 127.0.0.2 for the first `per_source`..."""
    return (f"127.0.{(2 + number // per_source) // 256}.{(2 + number // per_source) % 256}", 0)


def latency(port: int, samples: int, timeout: float = 10.0) -> dict[str, float]:
    """GET /login from 127.0.0.1 `samples` times (after three failures in a row, the rest count as failed)."""
    times: list[float | None] = []
    while len(times) < samples:
        times.append(timed_get(port, "/login", timeout))
        if times[-3:] == [None, None, None]:
            times += [None] * (samples - len(times))
    answered = sorted(value for value in times if value is not None)
    return {
        "failed": len(times) - len(answered),
        "p50": statistics.median(answered) if answered else float("nan"),
        "p95": answered[int(0.95 * (len(answered) - 1))] if answered else float("nan"),
    }


def slow_clients(app, idle: int, samples: int, capped: bool = True, **options) -> dict[str, float]:
    """Hold `idle` half-sent requests open from clients of PER_SOURCE connections each, then time GET /login."""
    with serving(app, capped, **options) as server:
        port, held = port_of(server), []
        try:
            for number in range(idle):
                try:
                    sock = socket.create_connection(("127.0.0.1", port), 5, source(number, PER_SOURCE))
                    sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")
                    held.append(sock)
                except OSError:
                    break
            figures = latency(port, samples)
        finally:
            for sock in held:
                sock.close()
    return {"held": len(held), **figures}


def flood(app, kind: str, count: int, samples: int, capped: bool) -> dict[str, float]:
    """GET /login with no flood, then during one: `count` connections that send a request and never finish
    it. headers: one client's half-sent headers; posts: anonymous POSTs of 1 MiB − 1 byte bodies less their
    last byte, PER_SOURCE per client (so the body budget is what stops them, not the per-client cap).
    Uncapped is waitress as main() ran it before the caps: bodies over 512 kB in temp files."""
    options = {} if capped else {"inbuf_overflow": Adjustments.inbuf_overflow}
    with serving(app, capped, **options) as server:
        port = port_of(server)
        quiet = latency(port, samples)
        sockets: list[socket.socket] = []
        before = spilled_bytes()
        try:
            for number in range(count):
                if kind == "headers":
                    sockets.append(half_sent(port, b"GET /login HTTP/1.1\r\nHost: x\r\n", source(0, 1)))
                else:
                    head = f"POST /api/videos HTTP/1.1\r\nHost: x\r\nContent-Length: {BODY}\r\n\r\n".encode()
                    sockets.append(half_sent(port, head + b"\0" * (BODY - 1), source(number, PER_SOURCE)))
            time.sleep(1.0)  # for the server to read what came, and refuse what it refuses
            held_bytes = spilled_bytes() - before
            buffered = buffered_bytes(server)
            during = latency(port, samples, timeout=3.0)
            outcome = [connection_state(sock) for sock in sockets]
        finally:
            for sock in sockets:
                sock.close()
    return {
        "quiet_p50": quiet["p50"],
        "quiet_p95": quiet["p95"],
        **during,
        "held": outcome.count("open"),
        "refused_503": outcome.count("503"),
        "closed": outcome.count("closed"),
        "temp_bytes": held_bytes,
        "body_bytes": buffered,
    }


def half_sent(port: int, request: bytes, client: tuple[str, int]) -> socket.socket:
    """A connection that sent `request` (as much as the server took before refusing it) and then waits."""
    sock = socket.create_connection(("127.0.0.1", port), 5, client)
    sock.settimeout(5)
    with suppress(OSError):  # refused part way (503, then closed): connection_state counts it
        sock.sendall(request)
    return sock


def connection_state(sock: socket.socket) -> str:
    """open: the server still holds it; 503: answered so; closed: closed (or reset) with no answer."""
    sock.setblocking(False)
    try:
        answer = sock.recv(64)
    except BlockingIOError:
        return "open"
    except OSError:
        return "closed"
    return "503" if answer.startswith(b"HTTP/1.1 503") else "closed"


def buffered_bytes(server: LiveServer) -> int:
    """Bytes of request bodies the server holds now, read but not yet served (in memory or temp files)."""
    total = 0
    for channel in list(server.server._map.values()):
        for request in [getattr(channel, "request", None), *getattr(channel, "requests", [])]:
            if request is not None and request.body_rcv is not None:
                total += len(request.body_rcv)
    return total


def spilled_bytes() -> int:
    """Bytes in deleted files this process holds open: where plain waitress keeps bodies over 512 kB."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").endswith("(deleted)"):
                total += os.fstat(int(fd)).st_size
        except OSError:
            continue
    return total


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
    with serving(app) as server:
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
    harden_process()  # file descriptors for both ends of every connection
    with tempfile.TemporaryDirectory(prefix="bench-edges-") as folder:
        data = Path(folder)
        broker = RedisProcess(data / "main-redis").start()
        try:
            app = create_app(settings_env(data / "app", broker.url))
            settings = app.config["SETTINGS"]
            before = {**OLD_WAITRESS, "connection_limit": settings.web_threads + settings.sse_max_clients + 100}
            old = slow_clients(app, args.idle, args.samples, capped=False, **before)
            new = slow_clients(app, args.idle, args.samples)
            floods = {}
            for kind, count in (("headers", args.headers), ("posts", args.posts)):
                floods[kind] = flood(app, kind, count, args.samples, capped=True)
                if not args.no_before:
                    floods[f"{kind} uncapped"] = flood(app, kind, count, min(args.samples, 10), capped=False)
            single = create_app({**settings_env(data / "one", broker.url), "SSE_MAX_CLIENTS": "1"})
            release = stream_slot_release(single)
        finally:
            broker.stop()
        to_503 = frozen_redis(data)
    print(f"idle half-sent connections held: {new['held']} (before: {old['held']}), {PER_SOURCE} per client")
    for label, figures in (("before (select, limit 316)", old), ("now", new)):
        print(
            f"GET /login with them open, {label}: p50 {figures['p50']:.1f} ms  p95 {figures['p95']:.1f} ms  "
            f"failed {figures['failed']}/{args.samples}"
        )
    caps = (
        f"WEB_MAX_CONNECTIONS_PER_CLIENT={settings.web_max_connections_per_client}, "
        f"WEB_MAX_BUFFERED_BODY_MB={settings.web_max_buffered_body_mb}"
    )
    print(f"floods against the server main() runs ({caps}); 'uncapped': plain waitress as main() ran it before")
    for label, figures in floods.items():
        print_flood(label, args.headers if label.startswith("headers") else args.posts, figures)
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
        *_flood_figures(floods, args, settings),
        _figure("frozen Redis", "time to 503", to_503, "s", "< 5", to_503 < 5),
        _figure("/events", "slot released after a reset", release, "s", "< 5", release < 5),
    ]
    print(RESULT_PREFIX + json.dumps({"script": "bench_edges", "figures": figures, "notes": []}))
    return 0


def print_flood(label: str, count: int, figures: dict) -> None:
    refused = figures["refused_503"] + figures["closed"]
    print(
        f"  {label:17} {count} conns: GET /login no flood p50 {figures['quiet_p50']:.1f} ms "
        f"p95 {figures['quiet_p95']:.1f} ms | during p50 {figures['p50']:.1f} ms p95 {figures['p95']:.1f} ms "
        f"failed {figures['failed']} | refused {refused} (503: {figures['refused_503']}), held {figures['held']}, "
        f"bodies buffered {figures['body_bytes'] / 2**20:.0f} MiB, "
        f"temp files {figures['temp_bytes'] / 2**20:.0f} MiB"
    )


def _flood_figures(floods: dict, args: argparse.Namespace, settings) -> list[dict]:
    cap, budget = settings.web_max_connections_per_client, settings.web_max_buffered_body_mb * 2**20
    headers, posts = floods["headers"], floods["posts"]
    one = f"{args.headers} half-sent requests from one client"
    many = f"{args.posts} anonymous 1 MiB POSTs never finished"
    figures = [
        _figure(
            one, "GET /login p95 with no flood", headers["quiet_p95"], "ms", note=f"p50 {headers['quiet_p50']:.1f} ms"
        ),
        _figure(
            one,
            "GET /login p95 during the flood",
            headers["p95"],
            "ms",
            "answers",
            headers["failed"] == 0,
            f"p50 {headers['p50']:.1f} ms, failed {headers['failed']}/{args.samples}",
        ),
        _figure(
            one,
            "connections held",
            headers["held"],
            "",
            f"≤ {cap}",
            headers["held"] <= cap,
            f"refused {headers['refused_503'] + headers['closed']}",
        ),
        _figure(
            many, "GET /login p95 with no flood", posts["quiet_p95"], "ms", note=f"p50 {posts['quiet_p50']:.1f} ms"
        ),
        _figure(
            many,
            "GET /login p95 during the flood",
            posts["p95"],
            "ms",
            "answers",
            posts["failed"] == 0,
            f"p50 {posts['p50']:.1f} ms, failed {posts['failed']}/{args.samples}",
        ),
        _figure(
            many,
            "body bytes buffered",
            posts["body_bytes"] / 2**20,
            "MiB",
            f"≤ {budget / 2**20:g}",
            posts["body_bytes"] <= budget,
            f"held {posts['held']}, refused {posts['refused_503'] + posts['closed']} (503: {posts['refused_503']})",
        ),
        _figure(many, "temp-file bytes held", posts["temp_bytes"] / 2**20, "MiB", "0", posts["temp_bytes"] == 0),
    ]
    for kind, group in (("headers", one), ("posts", many)):
        plain = floods.get(f"{kind} uncapped")
        if plain:
            figures.append(
                _figure(
                    group,
                    "GET /login p95 during the flood, plain waitress",
                    plain["p95"],
                    "ms",
                    note=f"failed {plain['failed']}, held {plain['held']}, bodies read "
                    f"{plain['body_bytes'] / 2**20:.0f} MiB, temp files "
                    f"{plain['temp_bytes'] / 2**20:.0f} MiB",
                )
            )
    return figures


def _figure(group, name, value, unit="", target="", ok=None, note=""):
    return {"group": group, "name": name, "value": value, "unit": unit, "target": target, "ok": ok, "note": note}


if __name__ == "__main__":
    sys.exit(main())
