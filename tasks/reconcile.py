"""Durability: find steps whose task is lost and queue them again (or give up after MAX_STEP_ATTEMPTS).

The database remembers what was asked; the broker and workers only carry it out. A step that is
`queued` or `running` must have its task somewhere: waiting in a Redis queue, reserved by a worker
or running on one. `live_task_ids` asks the workers and reads the queues; `Reconciler` runs
`StepService.recover` at start-up and then periodically.

Several web processes, on several hosts, may each run a `Reconciler`; one of them leads at a time,
holding a lease in Redis that it renews on every pass (`LEADER_KEY`). The others stand by and take
over when the lease runs out, so a lost step is re-queued once, not once per web process, and the
workers are asked what they hold once per interval, not once per process.
"""

from __future__ import annotations

import json
import logging
import threading

import redis
from celery import Celery
from redis.exceptions import LockError

from config import Settings
from operations import steps
from operations.unit_of_work import UnitOfWork, connect
from tasks import build_step_service

log = logging.getLogger(__name__)

QUEUES = (steps.IO_QUEUE, steps.COMPUTE_QUEUE)
LEADER_KEY = "clipper:reconciler-leader"
LEASE_INTERVALS = 3  # the lease outlives this many passes, so one slow pass does not hand it over


def queued_task_ids(client: redis.Redis) -> set[str]:
    """Task ids of messages waiting in the Redis queues (kombu stores them as JSON in lists)."""
    ids = set()
    for queue in QUEUES:
        for raw in client.lrange(queue, 0, -1):
            try:
                ids.add(json.loads(raw)["headers"]["id"])
            except (ValueError, KeyError, TypeError):
                continue
    return ids


def worker_task_ids(celery_app: Celery, timeout: float = 2.0) -> set[str]:
    """Task ids that live workers are running or hold reserved."""
    inspector = celery_app.control.inspect(timeout=timeout)
    ids: set[str] = set()
    for reply in (inspector.active() or {}, inspector.reserved() or {}):
        for tasks in reply.values():
            ids.update(task["id"] for task in tasks)
    return ids


def live_task_ids(celery_app: Celery, client: redis.Redis) -> set[str]:
    return queued_task_ids(client) | worker_task_ids(celery_app)


class Reconciler:
    """Runs recovery passes every `interval` seconds in a daemon thread, while it holds the lease."""

    def __init__(self, celery_app: Celery, settings: Settings, interval: float = 20.0):
        self.celery_app = celery_app
        self.settings = settings
        self.interval = interval
        self.suspects: dict[int, str | None] = {}
        self._stop = threading.Event()
        self._client = redis.Redis.from_url(celery_app.conf.broker_url, socket_timeout=5, socket_connect_timeout=2)
        self._lease = self._client.lock(LEADER_KEY, timeout=interval * LEASE_INTERVALS, thread_local=False)

    def leads(self) -> bool:
        """Renew the lease if this process holds it, else take it if it is free."""
        if self._lease.local.token is not None:  # held it on the last pass: renew, if it has not run out
            try:
                return bool(self._lease.reacquire())
            except LockError:
                self._lease.local.token = None  # it ran out and may be someone else's: stand by or take it
        if self._lease.acquire(blocking=False):
            self.suspects = {}  # sightings from an earlier lead are stale: another leader acted since
            return True
        return False

    def run_once(self) -> bool:
        """One pass if this process leads; whether it did."""
        conn = None
        try:
            if not self.leads():
                return False
            conn = connect(self.settings)
            live = live_task_ids(self.celery_app, self._client)
            uow = UnitOfWork(conn, build_step_service(conn, self.celery_app, self.settings))
            self.suspects = uow.steps.recover(live, self.suspects, self.settings.max_step_attempts)
            return True
        except (redis.RedisError, LockError) as error:  # with the broker down nothing can be re-queued
            log.warning("reconciler: broker unavailable (%s)", error)
            return False
        finally:
            if conn is not None:
                conn.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("reconciler pass failed")
            self._stop.wait(self.interval)

    def start(self) -> None:
        threading.Thread(target=self._loop, name="reconciler", daemon=True).start()

    def stop(self) -> None:
        """Stop, and hand the lease over at once rather than when it runs out."""
        self._stop.set()
        try:
            if self._lease.owned():
                self._lease.release()
        except (redis.RedisError, LockError):
            pass
        self._client.close()
