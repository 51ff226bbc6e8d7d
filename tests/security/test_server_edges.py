"""The server under hostile clients: huge anonymous bodies, hundreds of half-sent requests, a frozen
Redis, event streams dropped without a goodbye. Each runs against a real waitress (or a real Redis)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import struct
import time

import pytest

from app import REQUEST_BODY_LIMIT, create_app
from tests.support.common import TEST_API_TOKEN, wait_until
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
    from tests.support.media_factory import make_video
    from utils.core.uploads import CHUNK_BYTES

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
            for _ in range(400):
                sock = socket.create_connection(("127.0.0.1", _port(server)), timeout=5)
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
