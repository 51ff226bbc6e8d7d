"""Celery wiring in the Flask pattern: tasks run inside the app context, steps are enqueued by name.

Task modules are imported by the worker (`include`), never by the web app, so routes enqueue with
`send_task` and no import cycle forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery, Task
from flask import Flask

from config import Settings
from events.stream import publisher
from operations import steps
from operations.step_service import StepService
from operations.unit_of_work import Database
from store.records import StepRecord

TASK_MODULES = ["tasks.video_steps", "tasks.clip_steps"]
BROKER_SOCKET_TIMEOUT = 2  # seconds; with Redis hung, a submission answers "queue unavailable" in about this


def celery_config(settings: Settings, broker_url: str) -> dict[str, Any]:
    longest = max([settings.step_time_limit_seconds, *settings.step_time_limits.values()])
    return {
        "broker_url": broker_url,
        "result_backend": settings.celery_result_backend or None,
        "task_ignore_result": not settings.celery_result_backend,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": steps.IO_QUEUE,
        "broker_connection_retry_on_startup": True,
        # A message not acknowledged within this time is delivered again; it must outlast the
        # longest step, or a long transcription would start a second time while still running.
        # Socket timeouts: a Redis that hangs (not just one that is down) must not hang a request.
        "broker_transport_options": {
            "visibility_timeout": longest + 600,
            "socket_timeout": BROKER_SOCKET_TIMEOUT,
            "socket_connect_timeout": BROKER_SOCKET_TIMEOUT,
        },
        "broker_connection_timeout": BROKER_SOCKET_TIMEOUT,
        "worker_hijack_root_logger": False,
        "include": TASK_MODULES,
    }


def celery_init_app(app: Flask, broker_url: str) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    settings: Settings = app.config["SETTINGS"]
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(celery_config(settings, broker_url))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def make_enqueuer(celery_app: Celery, settings: Settings) -> Callable[[StepRecord], None]:
    """The `enqueue` callback of StepService: send a step's task with its id and time limits."""

    def enqueue(step: StepRecord) -> None:
        limit = settings.time_limit(step.name)
        celery_app.send_task(
            steps.STEP[step.name].task,
            args=[step.id],
            task_id=step.task_id,
            queue=steps.STEP[step.name].queue,
            soft_time_limit=limit,
            time_limit=limit + 60,
            retry=False,  # the step records the failure; the caller answers 503 now rather than later
        )

    return enqueue


def build_step_service(conn: Database, celery_app: Celery, settings: Settings) -> StepService:
    """The step service as the web app, the tasks and the reconciler all use it: events to the Redis
    stream on the broker, steps sent to Celery."""
    publish = publisher(celery_app.conf.broker_url, settings.events_stream_maxlen)
    return StepService(conn, publish, make_enqueuer(celery_app, settings))
