"""One reader of the event stream per process, fanning events out to every open /events client.

A single thread does `XREAD BLOCK` on the Redis stream and copies each event into a bounded queue
per subscriber, so 200 open pages cost one Redis connection rather than 200. The thread starts with
the first subscriber and ends a few seconds after the last one leaves. When Redis is unreachable it
retries with backoff and tells every subscriber (pages show that live updates paused); when Redis
answers again it says so, and subscribers send a fresh snapshot because events may have been lost.
No Flask here: the SSE route wraps this.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from events.stream import STREAM, Entry, as_text, decode_entries, latest_id, read_since

log = logging.getLogger(__name__)

EVENT, STATUS, RESYNC = "event", "status", "resync"


@dataclass(frozen=True)
class Item:
    """What a subscriber receives: an event, a change of the hub's Redis status, or a resync order."""

    kind: str
    id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class HubFull(RuntimeError):
    """Every slot for open streams is taken (SSE_MAX_CLIENTS)."""


def parse_id(entry_id: str) -> tuple[int, int] | None:
    """A stream id `ms-seq` as a comparable pair; None when it is not one."""
    ms, sep, seq = str(entry_id).partition("-")
    if not (_digits(ms) and (not sep or _digits(seq))):
        return None
    return int(ms), int(seq or 0)


def _digits(text: str) -> bool:
    """0-9 only, at most a 64-bit number's length (str.isdigit also takes "²")."""
    return text.isascii() and text.isdecimal() and len(text) <= 19


class Subscription:
    """One client's queue. `position` is the stream id it joined at: later events come through the queue."""

    def __init__(self, hub: EventHub, position: str | None, maxsize: int):
        self.hub = hub
        self.position = position
        self._queue: queue.Queue[Item] = queue.Queue(maxsize)
        self._closed = False

    def offer(self, item: Item) -> None:
        """Called by the hub under its lock; a client too slow to keep up is told to resync instead."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._drain()
            self._queue.put_nowait(Item(RESYNC, item.id))

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def get(self, timeout: float) -> Item | None:
        try:
            return self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.hub.unsubscribe(self)


class EventHub:
    """Reads the stream in one thread for every subscriber of this process."""

    def __init__(self, redis_url: str, block_ms: int = 1000, idle_seconds: float = 5.0, queue_size: int = 1000):
        self.redis_url = redis_url
        self.block_ms = block_ms
        self.idle_seconds = idle_seconds
        self.queue_size = queue_size
        self.client = redis.Redis.from_url(
            redis_url, socket_timeout=block_ms / 1000 + 5, socket_connect_timeout=2, health_check_interval=30
        )
        self.position: str | None = None  # newest stream id fanned out (None: not known yet)
        self.connected = True
        self._lock = threading.Lock()
        self._subscribers: set[Subscription] = set()
        self._thread: threading.Thread | None = None
        self._idle_since = time.monotonic()

    # ---- subscribers -------------------------------------------------------------------------

    def subscribe(self, limit: int) -> Subscription:
        """A new queue, or HubFull when `limit` streams are open already."""
        with self._lock:
            if len(self._subscribers) >= limit:
                raise HubFull(f"{limit} live-update streams are open already (SSE_MAX_CLIENTS)")
            if self._thread is None:
                self._start_locked()
            subscription = Subscription(self, self.position, self.queue_size)
            self._subscribers.add(subscription)
            return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)
            if not self._subscribers:
                self._idle_since = time.monotonic()

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def _start_locked(self) -> None:
        try:  # know where "now" is before the first subscriber joins, so it misses nothing after it
            self.position = latest_id(self.client)
            self.connected = True
        except redis.RedisError:
            self.position, self.connected = None, False
        self._thread = threading.Thread(target=self._run, name="event-hub", daemon=True)
        self._thread.start()

    # ---- replay ------------------------------------------------------------------------------

    def replay(self, after: str, limit: int = 1000) -> list[tuple[str, dict[str, Any]]] | None:
        """Every event after `after` still in the stream, or None when some may be missing (trimmed,
        a reset stream, too many to be worth it): the caller then sends a snapshot instead."""
        after_key = parse_id(after)
        if after_key is None:
            return None
        try:
            first = _only_id(self.client.xrange(STREAM, count=1))
            last = _only_id(self.client.xrevrange(STREAM, count=1))
            if first is None or last is None or first > after_key or last < after_key:
                return None  # the client's last event is gone, or it came from another stream
            entries = self.client.xrange(STREAM, min=f"({after}", count=limit + 1) or []
        except redis.RedisError:
            return None
        if len(entries) > limit:
            return None
        return decode_entries(entries)

    # ---- the reader thread -------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.5
        while True:
            with self._lock:
                if not self._subscribers and time.monotonic() - self._idle_since > self.idle_seconds:
                    self._thread, self.position = None, None
                    return
                position = self.position
            try:
                if position is None:
                    position = latest_id(self.client)
                    with self._lock:
                        self.position = position
                entries = read_since(self.client, position, block_ms=self.block_ms)
            except redis.RedisError as error:
                self._set_connected(False, error)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.5
            self._set_connected(True)
            if entries:
                self._fan_out(entries)

    def _fan_out(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        with self._lock:
            for entry_id, event in entries:
                item = Item(EVENT, entry_id, event)
                for subscription in self._subscribers:
                    subscription.offer(item)
            self.position = entries[-1][0]

    def _set_connected(self, connected: bool, error: Exception | None = None) -> None:
        with self._lock:
            if connected == self.connected:
                return
            self.connected = connected
            if connected:
                log.info("event stream: Redis answers again; live updates resume")
            else:
                log.warning("event stream: Redis unreachable (%s); retrying", error.__class__.__name__)
            item = Item(STATUS, self.position, {"type": "status", "redis": "up" if connected else "down"})
            for subscription in self._subscribers:
                subscription.offer(item)


def _only_id(entries: Sequence[Entry] | None) -> tuple[int, int] | None:
    """The id of the first of `entries` (a COUNT 1 range), or None for an empty stream."""
    entry_id = entries[0][0] if entries else None
    return None if entry_id is None else parse_id(as_text(entry_id))


_hubs: dict[str, EventHub] = {}
_hubs_lock = threading.Lock()


def get_hub(redis_url: str) -> EventHub:
    """The process's hub for this Redis (one per URL, made on first use)."""
    with _hubs_lock:
        hub = _hubs.get(redis_url)
        if hub is None:
            hub = _hubs[redis_url] = EventHub(redis_url)
        return hub
