"""The server under hostile clients: huge anonymous bodies, hundreds of half-sent requests, one client
holding every connection it can, floods of slow anonymous uploads, a frozen Redis, event streams dropped
without a goodbye. Each runs against a real waitress as `serve.main()` serves it (or a real Redis)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import struct
import time
from urllib.parse import urlencode

import pytest

from app import create_app
from serve import REQUEST_BODY_LIMIT
from tests.support.common import TEST_ADMIN, TEST_API_TOKEN, csrf_from, wait_until
from tests.support.live_server import LiveServer
from tests.support.processes import RedisProcess


def _port(server: LiveServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def _get(server: LiveServer, path: str, timeout: float = 10.0) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=timeout)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_an_anonymous_300_mb_post_is_refused_before_it_is_stored(live):
    with socket.create_connection(("127.0.0.1", _port(live)), timeout=10) as sock:
        sock.sendall(
            b"POST /api/videos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 314572800\r\n\r\n"
        )
        sent = 0
        try:
            while sent < 8 * 2**20:  # keep sending: the server must stop us long before 300 MB
                sock.sendall(b"\0" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]


def test_headers_over_64_kib_are_refused_before_the_app(live):
    """Headers are held before the login check: 2,000 half-sent connections of waitress's default 256 KiB
    each would be 500 MB; at 64 KiB a request with more is answered 431 and closed."""
    with socket.create_connection(("127.0.0.1", _port(live)), timeout=10) as sock:
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (80 * 2**10) + b"\r\n\r\n")
        assert sock.recv(200).split(b"\r\n")[0].split(b" ")[1] == b"431"
    assert _get(live, "/login") == 200


def test_an_anonymous_chunked_body_is_cut_at_the_limit(live):
    with socket.create_connection(("127.0.0.1", _port(live)), timeout=10) as sock:
        sock.sendall(b"POST /api/uploads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"\0" * 0x10000 + b"\r\n"
        try:
            for _ in range(REQUEST_BODY_LIMIT // 0x10000 + 8):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]


def test_a_logged_in_upload_of_several_mb_goes_through_the_real_server(live, tmp_path):
    from operations.uploads import CHUNK_BYTES
    from tests.support.media_factory import make_video

    data = make_video(tmp_path / "talk.mp4", 1280, 720, duration=6).read_bytes()
    assert len(data) > 2 * CHUNK_BYTES
    auth = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
    connection = http.client.HTTPConnection("127.0.0.1", _port(live), timeout=30)
    body = json.dumps({"filename": "talk.mp4", "size": len(data)})
    connection.request("POST", "/api/uploads", body, {**auth, "Content-Type": "application/json"})
    upload_id = json.loads(connection.getresponse().read())["id"]
    for offset in range(0, len(data), CHUNK_BYTES):  # full 1 MiB chunks: exactly what the limit allows
        headers = {**auth, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        connection.request("PATCH", f"/api/uploads/{upload_id}", data[offset : offset + CHUNK_BYTES], headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
    connection.close()
    assert response.status == 201, answer
    assert answer["videos"][0]["url"] == "upload:talk.mp4"


def test_pages_still_answer_with_hundreds_of_half_sent_requests_open(app):
    with LiveServer(app) as server:
        idle = []
        try:
            for number in range(400):  # from four clients, 100 each: under the cap of one client
                source = (f"127.0.0.{2 + number % 4}", 0)
                sock = socket.create_connection(("127.0.0.1", _port(server)), timeout=5, source_address=source)
                sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")  # never finished
                idle.append(sock)
            assert _get(server, "/login") == 200
        finally:
            for sock in idle:
                sock.close()


def test_a_frozen_redis_answers_503_quickly_and_leaves_nothing(settings_env, tmp_path):
    broker = RedisProcess(tmp_path / "redis").start()
    try:
        client = create_app({**settings_env, "CELERY_BROKER_URL": broker.url}).test_client()
        assert client.post("/api/videos", json={"urls": ["https://example.org/warm"], "again": True}).status_code == 201
        os.kill(broker.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            response = client.post(
                "/api/videos", json={"urls": ["https://example.org/a", "https://example.org/b"], "again": True}
            )
            elapsed = time.monotonic() - started
        finally:
            os.kill(broker.process.pid, signal.SIGCONT)
        assert response.status_code == 503 and "queue unavailable" in response.get_json()["error"]
        assert elapsed < 5, f"answered after {elapsed:.1f} s"
        urls = [video["url"] for video in client.get("/api/videos").get_json()["videos"]]
        assert urls == ["https://example.org/warm"], "the refused submission left no video behind"
    finally:
        broker.stop()


def _open_stream(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", _port(server)), timeout=10)
    sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-api-token\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    return sock


def test_an_abruptly_closed_event_stream_frees_its_slot_within_5_s(settings_env, redis_client):
    app = create_app({**settings_env, "SSE_MAX_CLIENTS": "3", "SSE_HEARTBEAT_SECONDS": "30"})
    with LiveServer(app) as server:
        streams = [_open_stream(server) for _ in range(3)]
        assert _get(server, "/events?video=1") == 503, "every slot is taken"
        for sock in streams:  # a reset, as a crashed browser or a dropped network leaves it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        closed = time.monotonic()
        replacement = wait_until(lambda: _try_stream(server), timeout=5, interval=0.25, what="a free stream slot")
        replacement.close()
        assert time.monotonic() - closed < 5


def _try_stream(server: LiveServer) -> socket.socket | None:
    sock = socket.create_connection(("127.0.0.1", _port(server)), timeout=10)
    sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-api-token\r\n\r\n")
    if sock.recv(4096).startswith(b"HTTP/1.1 200"):
        return sock
    sock.close()
    return None


@pytest.mark.parametrize("path", ["/api/videos/99999999999999999999999", "/media/videos/99999999999999999999999"])
def test_ids_beyond_the_database_are_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.is_json


FLOOD_CLIENT = "127.0.0.2"  # another loopback address: the flood's client, while tests ask from 127.0.0.1


def _status(server: LiveServer, path: str, timeout: float = 3.0) -> int | None:
    """The status of an anonymous GET, or None when no answer came within `timeout`."""
    connection = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def _half_sent(server: LiveServer, request: bytes, source: str = FLOOD_CLIENT) -> socket.socket | None:
    """A connection from `source` that sent `request` and then nothing more; None if it was refused."""
    try:
        sock = socket.create_connection(("127.0.0.1", _port(server)), timeout=5, source_address=(source, 0))
        sock.sendall(request)
        return sock
    except OSError:
        return None


def _closed_by_server(sock: socket.socket, timeout: float) -> bytes | None:
    """What the server said before closing `sock` (b"" for nothing); None while it stays open."""
    sock.settimeout(timeout)
    try:
        answer = sock.recv(4096)
    except TimeoutError:
        return None
    except OSError:
        return b""
    return answer


def test_one_client_over_its_connection_cap_cannot_hold_the_server(settings_env, redis_client):
    app = create_app({**settings_env, "WEB_MAX_CONNECTIONS": "60", "WEB_MAX_CONNECTIONS_PER_CLIENT": "20"})
    with LiveServer(app) as server:
        flood = [_half_sent(server, b"GET /login HTTP/1.1\r\nHost: x\r\n") for _ in range(80)]
        try:
            assert _status(server, "/login") == 200, "another client is still served"
            open_ = [sock for sock in flood if sock is not None and _closed_by_server(sock, 0.01) is None]
            assert len(open_) <= 20, f"{len(open_)} connections from one client held, cap 20"
        finally:
            for sock in flood:
                if sock is not None:
                    sock.close()


def test_anonymous_bodies_share_a_budget_and_the_rest_are_refused_unread(settings_env, redis_client):
    app = create_app({**settings_env, "WEB_MAX_BUFFERED_BODY_MB": "4"})
    head = f"POST /api/videos HTTP/1.1\r\nHost: x\r\nContent-Length: {REQUEST_BODY_LIMIT - 1}\r\n\r\n".encode()
    with LiveServer(app) as server:
        already = _spilled_files()  # pytest's own captured output among them
        flood = [_half_sent(server, head + b"\0" * 600_000) for _ in range(12)]  # and the rest never comes
        try:
            time.sleep(0.5)  # for the server to read what was sent
            answers = [_closed_by_server(sock, 0.05) for sock in flood]
            refused = [answer for answer in answers if answer is not None]
            assert len(refused) >= 8, f"only {len(refused)} of 12 refused with a 4 MiB budget"
            assert all(answer.startswith(b"HTTP/1.1 503") for answer in refused if answer), refused
            assert _status(server, "/login") == 200
            assert _spilled_files() == already, "bodies in flight stay in memory, never in deleted temp files"
        finally:
            for sock in flood:
                sock.close()
        time.sleep(0.5)  # for the server to see them gone
        released = [_half_sent(server, head + b"\0" * 600_000) for _ in range(4)]
        try:
            time.sleep(0.5)  # for the server to read what was sent
            assert [_closed_by_server(sock, 0.05) for sock in released] == [None] * 4, "closing frees the budget"
        finally:
            for sock in released:
                sock.close()


def _spilled_files() -> list[str]:
    """Deleted files this process still holds open (waitress spills large bodies to such temp files)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.endswith("(deleted)"):
            held.append(target)
    return held


def test_a_logged_in_browser_uploads_while_anonymous_bodies_fill_the_budget(settings_env, redis_client):
    from operations.uploads import CHUNK_BYTES

    app = create_app({**settings_env, "WEB_MAX_BUFFERED_BODY_MB": "2"})
    head = f"POST /api/videos HTTP/1.1\r\nHost: x\r\nContent-Length: {CHUNK_BYTES}\r\n\r\n".encode()
    with LiveServer(app) as server:
        flood = [_half_sent(server, head + b"\0" * 600_000) for _ in range(4)]
        try:
            time.sleep(0.5)
            held = [sock for sock in flood if _closed_by_server(sock, 0.05) is None]
            assert len(held) == 2, "two anonymous bodies of 1 MiB fill a 2 MiB budget"
            cookie, token = _log_in(server)  # a login form is small: the full budget does not stop it
            browser = {"Cookie": cookie, "X-CSRF-Token": token}
            status, answer = _request(
                server,
                "POST",
                "/api/uploads",
                json.dumps({"filename": "talk.mp4", "size": 2 * CHUNK_BYTES}),
                {**browser, "Content-Type": "application/json"},
            )
            assert status == 201, answer
            chunk = {**browser, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
            status, answer = _request(server, "PATCH", f"/api/uploads/{answer['id']}", b"\0" * CHUNK_BYTES, chunk)
            assert (status, answer["offset"]) == (200, CHUNK_BYTES), answer
        finally:
            for sock in flood:
                sock.close()


def _request(server: LiveServer, method: str, path: str, body, headers: dict[str, str]) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=10)
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def _log_in(server: LiveServer) -> tuple[str, str]:
    """A logged-in browser's session cookie and CSRF token, through the login form."""
    connection = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=10)
    try:
        connection.request("GET", "/login")
        response = connection.getresponse()
        token = csrf_from(response.read())
        cookie = response.getheader("Set-Cookie").split(";", 1)[0]
        form = urlencode({"username": TEST_ADMIN[0], "password": TEST_ADMIN[1], "csrf_token": token, "next": ""})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        connection.request("POST", "/login", form, headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 302, response.status
        cookie = response.getheader("Set-Cookie").split(";", 1)[0]
        connection.request("GET", "/", headers={"Cookie": cookie})
        page = connection.getresponse().read()
        return cookie, csrf_from(page)
    finally:
        connection.close()
