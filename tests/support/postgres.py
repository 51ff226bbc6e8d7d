"""A throwaway PostgreSQL cluster for the tests: Debian's `postgresql` binaries, `initdb` + `pg_ctl`.

The cluster lives in a temporary folder, listens on 127.0.0.1 at a free port with trust
authentication, and each test module gets a database of its own (`new_database`). When the tests run
as root (CI in a container) the server runs as the `postgres` user the package creates, because
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from itertools import count
from pathlib import Path

from runtime.stack import free_port

INSTALL_HINT = "PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)"


def server_binaries() -> Path | None:
    """The newest installed server's bin folder (Debian keeps them under /usr/lib/postgresql/<major>)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="clipper-pg-"))  # not under pytest's 0700 folders: see below
        self.data = self.root / "data"
        self.user = None
        if os.geteuid() == 0:  # initdb and postgres will not run as root
            self.user = pwd.getpwnam("postgres")
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self._names = count(1)

    def _run(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.user else []
        return subprocess.run([*prefix, *command], check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> PostgresServer:
        self._run(
            str(self.binaries / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=300"
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                  "-w", "-t", "60", "start")  # fmt: skip
        return self

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self, prefix: str = "clipper") -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}_{time.monotonic_ns() % 10**6}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already gone
            self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
