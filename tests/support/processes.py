"""Real processes for integration tests: a Celery worker started the way `make run` starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from events.stream import STREAM, decode_entries, latest_id
from runtime.stack import free_port, redis_command, wait_for_redis

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """A real `celery worker` process on the given environment, stopped with SIGTERM then SIGKILL."""

    def __init__(self, env: dict[str, str], queues: str = "io,compute", concurrency: int = 2, log: Path | None = None):
        self.env = {**os.environ, **env}
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "celery_app.celery_app",
            "worker",
            "--queues",
            queues,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ]
        self.log_path = log
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a crash or the OOM killer would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def stream_position(redis_url: str) -> str:
    """The newest event id now: other tests share this Redis, so read only what comes after."""
    return latest_id(redis.Redis.from_url(redis_url))


def step_events(redis_url: str, video_id: int, step: str | None = None, after: str = "0") -> list[dict]:
    """Step events published for a video (optionally one step) after `after`, oldest first."""
    client = redis.Redis.from_url(redis_url)
    events = [event for _id, event in decode_entries(client.xrange(STREAM, min=f"({after}"))]
    return [
        event
        for event in events
        if event.get("type") == "step" and event["video_id"] == video_id and (step is None or event["name"] == step)
    ]


class RedisProcess:
    """A redis-server of the test's own, so a test can stop and restart it (an outage)."""

    def __init__(self, data_dir: Path):
        self.port = free_port()
        self.data_dir = data_dir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisProcess:
        self.process = subprocess.Popen(redis_command(self.port, self.data_dir), stdout=subprocess.DEVNULL)
        wait_for_redis(self.url)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
