"""Durability: find steps whose task is lost and queue them again (or give up after MAX_STEP_ATTEMPTS).

The database remembers what was asked; the broker and workers only carry it out. A step that is
`queued` or `running` must have its task somewhere: waiting in a Redis queue, reserved by a worker
or running on one. `live_task_ids` asks the workers and reads the queues; `Reconciler` runs
`StepService.recover` at start-up and then periodically.
"""

from __future__ import annotations

import json
import logging
import threading

import redis
from celery import Celery

from config import Settings
from tasks import build_step_service
from utils.core import db, steps

log = logging.getLogger(__name__)

QUEUES = (steps.IO_QUEUE, steps.COMPUTE_QUEUE)


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
    ids = set()
    for reply in (inspector.active() or {}, inspector.reserved() or {}):
        for tasks in reply.values():
            ids.update(task["id"] for task in tasks)
    return ids


def live_task_ids(celery_app: Celery, client: redis.Redis) -> set[str]:
    return queued_task_ids(client) | worker_task_ids(celery_app)


class Reconciler:
    """Runs recovery passes every `interval` seconds in a daemon thread."""

    def __init__(self, celery_app: Celery, settings: Settings, interval: float = 20.0):
        self.celery_app = celery_app
        self.settings = settings
        self.interval = interval
        self.suspects: dict[int, str] = {}
        self._stop = threading.Event()

    def run_once(self) -> None:
        broker = self.celery_app.conf.broker_url
        client = redis.Redis.from_url(broker, socket_timeout=5, socket_connect_timeout=2)
        conn = db.connect(self.settings.database_path)
        try:
            live = live_task_ids(self.celery_app, client)
            service = build_step_service(conn, self.celery_app, self.settings)
            self.suspects = service.recover(live, self.suspects, self.settings.max_step_attempts)
        except redis.RedisError as error:  # with the broker down nothing can be re-queued; try next time
            log.warning("reconciler: broker unavailable (%s)", error)
        finally:
            conn.close()
            client.close()

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
        self._stop.set()
