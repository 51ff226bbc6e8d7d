"""/events against a real Redis: snapshot first, events with ids, heartbeats, resume, scope, the cap,
and a Redis outage in the middle of a stream."""

from __future__ import annotations

import json
import socket
import time
from contextlib import contextmanager

import pytest

from app import create_app
from events.hub import get_hub
from events.stream import EventPublisher
from tests.support.common import AUTH_ENV, TEST_API_TOKEN, wait_until
from tests.support.live_server import LiveServer
from tests.support.processes import RedisProcess

READ_TIMEOUT = 20.0  # heartbeats arrive every second, so every read returns well before this


@pytest.fixture
def sse_env(settings_env, own_database_env):
    return {**settings_env, **own_database_env, "SSE_HEARTBEAT_SECONDS": "1", "SSE_MAX_CLIENTS": "3"}


@pytest.fixture
def sse_app(sse_env, redis_client):
    app = create_app(sse_env)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def publish(redis_url):
    return EventPublisher(redis_url)


class Stream:
    """An open /events response read message by message (comments are kept as {'comment': ...})."""

    def __init__(self, response):
        self.response = response
        self.chunks = iter(response.response)
        self.buffer = ""

    def next_message(self) -> dict:
        while "\n\n" not in self.buffer:
            self.buffer += next(self.chunks).decode()
        raw, self.buffer = self.buffer.split("\n\n", 1)
        message: dict = {}
        for line in raw.splitlines():
            field, _, value = line.partition(":")
            if field == "":
                message["comment"] = value.strip()
            else:
                message[field] = value.strip()
        if "data" in message:
            message["event"] = json.loads(message["data"])
        return message

    def find(self, predicate, what: str) -> dict:
        """The next message matching `predicate`, skipping others; fails after READ_TIMEOUT."""
        deadline = time.monotonic() + READ_TIMEOUT
        while time.monotonic() < deadline:
            message = self.next_message()
            if predicate(message):
                return message
        pytest.fail(f"no {what} on the stream within {READ_TIMEOUT:.0f} s")

    def event(self, predicate=lambda event: True, what: str = "event") -> dict:
        return self.find(lambda message: "event" in message and predicate(message["event"]), what)


@contextmanager
def open_stream(client, path: str = "/events", **kwargs):
    response = client.get(path, buffered=False, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    try:
        yield Stream(response)
    finally:
        response.close()


def is_step(video_id: int, state: str | None = None):
    def matches(event: dict) -> bool:
        return event.get("type") == "step" and event["video_id"] == video_id and state in (None, event["state"])

    return matches


def submit(client, url: str = "https://example.org/a") -> int:
    response = client.post("/api/videos", json={"urls": [url], "again": True})
    assert response.status_code == 201
    return response.get_json()["videos"][0]["id"]


def test_snapshot_comes_first_with_the_steps_of_the_video(sse_app):
    client = sse_app.test_client()
    video_id = submit(client)
    with open_stream(client, f"/events?video={video_id}") as stream:
        assert stream.next_message() == {"retry": "3000"}
        first = stream.next_message()
    snapshot = first["event"]
    assert snapshot["type"] == "snapshot"
    assert first["id"], "the snapshot carries the stream position, so a reconnect resumes after it"
    (video,) = snapshot["videos"]
    assert video["id"] == video_id and video["status"] == "queued"
    assert {step["name"]: step["state"] for step in video["steps"]}["download"] == "queued"
    assert snapshot["missing"] == []


def test_summary_snapshot_without_scope_lists_active_steps(sse_app):
    client = sse_app.test_client()
    video_id = submit(client)
    with open_stream(client) as stream:
        snapshot = stream.event(lambda event: event["type"] == "snapshot", "snapshot")["event"]
    assert snapshot["total"] == 1
    assert [(step["video_id"], step["name"], step["state"]) for step in snapshot["active"]] == [
        (video_id, "download", "queued")
    ]


def test_step_events_arrive_with_their_stream_ids(sse_app, publish):
    client = sse_app.test_client()
    video_id = submit(client)
    with open_stream(client) as stream:
        stream.event(lambda event: event["type"] == "snapshot", "snapshot")
        published = publish(
            {
                "type": "step",
                "video_id": video_id,
                "name": "download",
                "state": "running",
                "progress": 0.5,
                "exchange_id": None,
            }
        )
        message = stream.event(is_step(video_id, "running"), "the running event")
    assert message["id"] == published
    assert message["event"]["progress"] == 0.5


def test_a_triggered_step_reaches_the_stream(sse_app):
    client = sse_app.test_client()
    video_id = submit(client)
    with open_stream(client, f"/events?video={video_id}") as stream:
        stream.event(lambda event: event["type"] == "snapshot", "snapshot")
        response = client.delete(f"/api/videos/{video_id}")
        assert response.status_code == 204
        deleted = stream.event(lambda event: event["type"] == "video_deleted", "video_deleted")
    assert deleted["event"]["video_id"] == video_id


def test_heartbeat_comments_keep_an_idle_stream_alive(sse_app):
    with open_stream(sse_app.test_client()) as stream:
        stream.event(lambda event: event["type"] == "snapshot", "snapshot")
        heartbeat = stream.find(lambda message: "comment" in message, "heartbeat")
    assert heartbeat["comment"] == "heartbeat"


def test_scope_filters_other_videos_out(sse_app, publish):
    client = sse_app.test_client()
    mine, other = submit(client, "https://example.org/mine"), submit(client, "https://example.org/other")
    with open_stream(client, f"/events?video={mine}") as stream:
        stream.event(lambda event: event["type"] == "snapshot", "snapshot")
        publish({"type": "video", "video_id": other})
        publish({"type": "video", "video_id": mine})
        message = stream.event(lambda event: event["type"] == "video", "a video event")
    assert message["event"]["video_id"] == mine


def test_every_stream_learns_where_its_queued_steps_stand_in_line(sse_app):
    client = sse_app.test_client()
    first = submit(client, "https://example.org/first")
    with open_stream(client, f"/events?video={first}") as stream:
        snapshot = stream.event(lambda event: event["type"] == "snapshot", "snapshot")["event"]
        (download,) = [step for step in snapshot["videos"][0]["steps"] if step["name"] == "download"]
        assert snapshot["ahead"] == {str(download["id"]): 0}, "next in line"
        second = submit(client, "https://example.org/second")  # another video: its queue event still comes
        queue = stream.event(lambda event: event["type"] == "queue", "a queue event")["event"]
    assert list(queue["ahead"].values()) == [0, 1] and str(download["id"]) in queue["ahead"]
    assert second != first


def test_last_event_id_replays_what_was_missed(sse_app, publish):
    client = sse_app.test_client()
    with open_stream(client) as stream:
        stream.event(lambda event: event["type"] == "snapshot", "snapshot")
        seen = publish({"type": "video", "video_id": 1})
        assert stream.event(lambda event: event["type"] == "video", "first event")["id"] == seen
    missed = [publish({"type": "video", "video_id": n}) for n in (2, 3)]
    with open_stream(client, headers={"Last-Event-ID": seen}) as stream:
        assert stream.next_message() == {"retry": "3000"}
        replayed = [stream.next_message(), stream.next_message()]
    assert [message["id"] for message in replayed] == missed
    assert [message["event"]["video_id"] for message in replayed] == [2, 3]


def test_last_id_in_the_query_works_like_the_header(sse_app, publish):
    client = sse_app.test_client()
    seen = publish({"type": "video", "video_id": 1})
    missed = publish({"type": "video", "video_id": 2})
    with open_stream(client, f"/events?last_id={seen}") as stream:
        stream.next_message()
        assert stream.next_message()["id"] == missed


def test_an_unknown_last_event_id_gets_a_snapshot(sse_app, publish, redis_client):
    client = sse_app.test_client()
    publish({"type": "video", "video_id": 1})
    redis_client.xtrim("clipper:events", maxlen=0)  # the client's last event is gone from the stream
    publish({"type": "video", "video_id": 2})
    with open_stream(client, headers={"Last-Event-ID": "1-0"}) as stream:
        stream.next_message()
        assert stream.next_message()["event"]["type"] == "snapshot"


def test_streams_beyond_the_cap_are_refused_with_a_retry_hint(sse_app):
    client = sse_app.test_client()
    with open_stream(client) as first, open_stream(client) as second, open_stream(client) as third:
        for stream in (first, second, third):
            stream.next_message()
        refused = client.get("/events")
        assert refused.status_code == 503
        assert refused.headers["Retry-After"].isdigit()
        assert "SSE_MAX_CLIENTS" in refused.get_json()["error"]
    with open_stream(client) as again:  # closed streams gave their slots back
        assert again.next_message() == {"retry": "3000"}


def test_bad_scope_is_a_400(sse_app):
    assert sse_app.test_client().get("/events?video=abc").status_code == 400


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own, which it may stop and start again on the same port."""
    server = RedisProcess(tmp_path / "own-redis").start()
    yield server
    server.stop()


def test_the_stream_survives_redis_going_away_and_coming_back(tmp_path, own_redis):
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "FLASK_SECRET_KEY": "t",
        "CELERY_BROKER_URL": own_redis.url,
        "SSE_HEARTBEAT_SECONDS": "1",
        **AUTH_ENV,
    }
    client = create_app(env).test_client()
    with open_stream(client) as stream:
        stream.event(lambda event: event["type"] == "snapshot", "snapshot")
        own_redis.stop()
        down = stream.event(lambda event: event["type"] == "status", "the 'down' status")
        assert down["event"]["redis"] == "down"
        stream.find(lambda message: "comment" in message, "a heartbeat while Redis is down")
        own_redis.start()
        up = stream.event(lambda event: event["type"] == "status", "the 'up' status")
        assert up["event"]["redis"] == "up"
        assert stream.next_message()["event"]["type"] == "snapshot", "state may have changed meanwhile"
        sent = EventPublisher(own_redis.url)({"type": "video", "video_id": 7})
        assert stream.event(lambda event: event["type"] == "video", "an event after recovery")["id"] == sent


def test_a_browser_that_goes_away_frees_its_slot_under_waitress(settings_env, redis_client):
    """Served as serve.py serves it: the next heartbeat write fails, and the stream ends and cleans up."""
    env = {**settings_env, "SSE_HEARTBEAT_SECONDS": "1", "WEB_THREADS": "2", "SSE_MAX_CLIENTS": "4"}
    app = create_app(env)
    hub = get_hub(app.extensions["celery"].conf.broker_url)
    with LiveServer(app) as server:
        address = server.base_url.removeprefix("http://").split(":")
        sockets = []
        for _ in range(3):
            sock = socket.create_connection((address[0], int(address[1])), timeout=10)
            request = f"GET /events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TEST_API_TOKEN}\r\n\r\n"
            sock.sendall(request.encode())
            assert b"snapshot" in read_until(sock, b"snapshot")
            sockets.append(sock)
        assert hub.subscriber_count == 3
        for sock in sockets:
            sock.close()
        wait_until(lambda: hub.subscriber_count == 0, timeout=20, what="the streams to notice their clients left")


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    received = b""
    while marker not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received
