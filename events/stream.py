"""Step and video events on a bounded Redis stream.

The database is the source of truth; events only tell browsers to look again. A stream (rather than
pub/sub) keeps the last `maxlen` events, so a browser reconnecting with Last-Event-ID misses nothing.
Publishing never fails the caller: with Redis down the step still completes and a reload shows it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import redis

log = logging.getLogger(__name__)

STREAM = "clipper:events"
QUIET_AFTER_FAILURE_SECONDS = 5.0  # events are notifications: skip them briefly rather than stall steps


class EventPublisher:
    """Callable that appends an event to the stream; one Redis client per process, made lazily."""

    def __init__(self, redis_url: str, maxlen: int = 10_000):
        self.redis_url = redis_url
        self.maxlen = maxlen
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
        self._quiet_until = 0.0

    @property
    def client(self) -> redis.Redis:
        with self._lock:
            if self._client is None:
                self._client = redis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
            return self._client

    def __call__(self, event: dict[str, Any]) -> str | None:
        if time.monotonic() < self._quiet_until:  # Redis failed just now: do not wait on it again
            return None
        try:
            entry_id = self.client.xadd(STREAM, {"data": json.dumps(event)}, maxlen=self.maxlen, approximate=True)
        except redis.RedisError as error:
            self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_SECONDS
            log.warning("event not published (%s): %s", error.__class__.__name__, event.get("type"))
            return None
        return as_text(entry_id)


# An entry as redis-py returns it (its `redis.typing.StreamEntry`): (None, None) stands for a deleted
# entry, which only the claiming commands report, never XRANGE, XREVRANGE or XREAD.
Entry = tuple[bytes | str | None, Mapping[bytes | str, bytes | str] | None]


def as_text(value: bytes | str) -> str:
    """An id or a field of a reply as text: the clients here leave replies as bytes."""
    return value.decode() if isinstance(value, bytes) else value


def decode_entries(entries: Iterable[Entry]) -> list[tuple[str, dict[str, Any]]]:
    """Turn XRANGE/XREAD entries into (id, event) pairs."""
    decoded = []
    for entry_id, fields in entries:
        if entry_id is None or fields is None:
            continue  # a deleted entry (see `Entry`)
        raw = fields[b"data"] if b"data" in fields else fields["data"]
        decoded.append((as_text(entry_id), json.loads(raw)))
    return decoded


def read_since(
    client: redis.Redis, last_id: str = "0", block_ms: int | None = None, count: int = 500
) -> list[tuple[str, dict[str, Any]]]:
    """Events after `last_id`, waiting up to `block_ms` for the first one when given."""
    result = client.xread({STREAM: last_id}, count=count, block=block_ms)
    if not result:
        return []
    assert isinstance(result, list)  # RESP2, the protocol these clients speak: [[stream, entries]]
    _stream, entries = result[0]
    return decode_entries(entries)


def latest_id(client: redis.Redis) -> str:
    """The id of the newest event, to start listening from now."""
    entries = client.xrevrange(STREAM, count=1)
    entry_id = entries[0][0] if entries else None
    return "0" if entry_id is None else as_text(entry_id)


@cache
def publisher(redis_url: str, maxlen: int) -> EventPublisher:
    """One publisher (one connection pool) per broker and process."""
    return EventPublisher(redis_url, maxlen)
