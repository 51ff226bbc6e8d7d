"""Start one Celery worker on this host: `make worker QUEUES=compute` (or `python worker.py compute`).

This is how a second machine (a GPU box, say) joins: with the web host's broker, database and shared
folder it takes steps from the queues named. It needs
  CELERY_BROKER_URL  the Redis the web app uses (not the embedded one, which listens on 127.0.0.1 only),
  DATABASE_URL       the PostgreSQL the web app uses (a SQLite file cannot be shared between hosts),
  DATA_DIR           the shared folder, mounted wherever suits this host.
Queues: `compute` (transcription, diarization), `io` (download, audio, cutting), or `io,compute`.
"""

from __future__ import annotations

import os
import sys

from config import ConfigError, load_settings
from runtime.stack import worker_command

QUEUES = ("io", "compute")


def command(queues: str, env: dict[str, str] | None = None) -> list[str]:
    """The worker command line for these queues; a ConfigError says what is missing to join."""
    settings = load_settings(env)
    wanted = [name.strip() for name in queues.split(",") if name.strip()]
    if not wanted or set(wanted) - set(QUEUES):
        raise ConfigError(f"QUEUES: expected io, compute or io,compute, got {queues!r}")
    if settings.embedded_redis:
        raise ConfigError("CELERY_BROKER_URL: set it to the Redis the web app uses (redis://host:6379/0)")
    if not settings.database_url:
        raise ConfigError("DATABASE_URL: set it to the PostgreSQL the web app uses (postgresql://user:pw@host/db)")
    concurrency = settings.worker_concurrency if "compute" in wanted else settings.io_worker_concurrency
    # Node names must differ between workers, or the reconciler's roll call mixes their replies up and
    # takes a running task for a lost one: this host may run several workers of the same queues.
    name = f"{'-'.join(wanted)}-{os.getpid()}"
    return worker_command(name, ",".join(wanted), concurrency, settings.log_level)


def main(argv: list[str]) -> int:
    try:
        line = command(argv[1] if len(argv) > 1 else "io,compute")
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    os.execv(line[0], line)  # the worker takes this process's place, so signals reach it directly
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv))
