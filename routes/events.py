"""Server-Sent Events: `/events` pushes step and video events to the browser.

On connect a client gets a snapshot of the state its page shows (or, when it sends Last-Event-ID,
the events it missed), then every event from the Redis stream as it happens, and a heartbeat comment
every SSE_HEARTBEAT_SECONDS so dead connections are noticed. `?video=<id>` (repeatable) scopes the
snapshot and the events to those videos; without it the client gets every event and a summary.
The database connection is closed before streaming; each open stream holds a waitress thread and a
slot of SSE_MAX_CLIENTS, released in `finally` (or when the response is closed unstarted).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from config import Settings
from events.hub import EVENT, RESYNC, STATUS, EventHub, HubFull, Item, Subscription, get_hub, parse_id
from operations.pages import Scope, snapshot_on_own_connection
from routes import settings

events = Blueprint("events", __name__)

RETRY_MS = 3000  # how long EventSource waits before reconnecting
FULL_RETRY_SECONDS = 10  # Retry-After when every stream slot is taken
MAX_SCOPE = 200  # most videos one stream may follow
DISCONNECT_POLL_SECONDS = 1.0

Snapshot = Callable[[], dict[str, Any]]


def format_event(data: dict[str, Any], event_id: str | None = None) -> str:
    """One SSE message; the JSON is on one line, so one `data:` field is enough."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n"


HEARTBEAT = ": heartbeat\n\n"


# ---- snapshots ---------------------------------------------------------------------------------


def snapshot_reader(settings: Settings, scope: Scope) -> Snapshot:
    """Takes a snapshot on a short-lived connection, so an open stream holds no database connection."""
    return lambda: snapshot_on_own_connection(settings, scope)


# ---- the stream --------------------------------------------------------------------------------


def in_scope(event: dict[str, Any], scope: Scope) -> bool:
    """A video's events go to the streams that follow it; where each step stands in line, to every stream
    (a step of another video starting moves this video's steps up), and so does the count of steps in error
    (every page's navbar shows it)."""
    return scope is None or event.get("video_id") in scope or event.get("type") in ("queue", "errors")


def opening(hub: EventHub, last_event_id: str | None, scope: Scope, read: Snapshot, position: str | None):
    """What a client gets first, and the id it covers: the events it missed when it can resume,
    else a snapshot (whose id is where this subscription joined the stream)."""
    if last_event_id:
        missed = hub.replay(last_event_id)
        if missed is not None:
            chunks = [format_event(event, entry_id) for entry_id, event in missed if in_scope(event, scope)]
            return chunks, missed[-1][0] if missed else last_event_id
    return [format_event(read(), position)], None


def _never() -> bool:
    return False


def stream(
    subscription: Subscription,
    first: Iterable[str],
    scope: Scope,
    read: Snapshot,
    heartbeat: float,
    sent_through: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    disconnected: Callable[[], bool] = _never,
) -> Iterator[str]:
    """The body of an /events response; the subscription is released however the stream ends.
    Events up to `sent_through` were replayed already and are skipped when the queue brings them.
    `disconnected` (waitress tells) is asked every DISCONNECT_POLL_SECONDS, so a client that went
    away frees its slot within seconds, not at the next heartbeat."""
    skip = parse_id(sent_through) if sent_through else None
    try:
        yield f"retry: {RETRY_MS}\n\n"
        yield from first
        if not subscription.hub.connected:
            yield format_event({"type": "status", "redis": "down"})
        last_write = clock()
        while not disconnected():
            wait = min(DISCONNECT_POLL_SECONDS, heartbeat - (clock() - last_write))
            item = subscription.get(timeout=wait)
            if item is not None and _replayed(item, skip):
                continue
            chunk = render(item, scope, read) if item is not None else None
            if chunk:
                yield chunk
                last_write = clock()
            elif clock() - last_write >= heartbeat:
                yield HEARTBEAT
                last_write = clock()
    finally:
        subscription.close()


def _replayed(item: Item, skip: tuple[int, int] | None) -> bool:
    """An event at or before the last one the replay sent (the hub's events carry Redis stream ids)."""
    if skip is None or item.kind != EVENT:
        return False
    entry = parse_id(item.id or "")
    return entry is not None and entry <= skip


def render(item: Item, scope: Scope, read: Snapshot) -> str | None:
    if item.kind == EVENT:
        return format_event(item.data, item.id) if in_scope(item.data, scope) else None
    if item.kind == STATUS:
        chunk = format_event(item.data)
        # Events published while Redis was down are lost; the database still has the truth.
        return chunk + format_event(read(), item.id) if item.data.get("redis") == "up" else chunk
    if item.kind == RESYNC:  # this client fell too far behind: its queue was dropped
        return format_event(read(), item.id)
    return None


# ---- the route ---------------------------------------------------------------------------------


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdecimal() and len(text) <= 18


def _scope() -> Scope:
    raw = [part for value in request.args.getlist("video") for part in value.split(",") if part.strip()]
    if not raw:
        return None
    if len(raw) > MAX_SCOPE or not all(_is_id(part.strip()) for part in raw):
        raise ValueError(f"video must be up to {MAX_SCOPE} video ids")
    return frozenset(int(part) for part in raw)


def _last_event_id() -> str | None:
    """The header EventSource sends on reconnect, or `last_id` for a stream a page opens anew."""
    value = request.headers.get("Last-Event-ID") or request.args.get("last_id") or ""
    value = value.strip()
    return value if parse_id(value) else None


@events.get("/events")
def event_stream():
    config = settings()
    try:
        scope = _scope()
    except ValueError as error:
        return jsonify(error=str(error)), 400
    hub = get_hub(current_app.extensions["celery"].conf.broker_url)
    try:
        subscription = hub.subscribe(config.sse_max_clients)
    except HubFull as error:
        message = f"{error}; retry in {FULL_RETRY_SECONDS} s"
        return jsonify(error=message), 503, {"Retry-After": str(FULL_RETRY_SECONDS)}
    try:
        read = snapshot_reader(config, scope)
        first, sent_through = opening(hub, _last_event_id(), scope, read, subscription.position)
    except BaseException:
        subscription.close()
        raise
    disconnected = request.environ.get("waitress.client_disconnected", _never)
    body = stream(
        subscription, first, scope, read, config.sse_heartbeat_seconds, sent_through, disconnected=disconnected
    )
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # a reverse proxy must not hold events back
    response.call_on_close(subscription.close)  # also when the body never started
    return response
