"""`python serve.py` (what `make run` runs) starts the whole stack: an embedded Redis (unless
CELERY_BROKER_URL is set), a Celery worker for I/O steps, one for compute steps, and waitress serving
`create_app()`. Ctrl-C or SIGTERM stops every child.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from flask import Flask

from app import EMBEDDED_URL_FILE, broker_url, configure_logging, create_app, credentials
from config import ROOT, ConfigError, Settings, load_settings, secret_file
from operations.uploads import CHUNK_BYTES
from runtime import web_server
from runtime.process import harden_process

log = logging.getLogger("clipper")

REDIS_PASSWORD_FILE = "redis_password"
# waitress refuses a request body of this size or more before the app sees it (and so before the login
# check): an anonymous client can make the server keep at most one upload chunk (1 MiB) per request.
REQUEST_BODY_LIMIT = CHUNK_BYTES + 1
# Headers are read before the login check too: 64 KiB each (waitress allows 256) keeps 2,000 half-sent
# connections under 128 MB; the app's own headers and cookies are a few kB.
REQUEST_HEADER_LIMIT = 64 * 2**10


def waitress_options(settings: Settings) -> dict[str, Any]:
    """How waitress serves the app; shared by `main()` and the benchmarks so they measure the same server.

    Each open /events stream holds a thread and a connection, so streams get their own share on top
    of WEB_THREADS; send_bytes=1 makes waitress flush every event instead of buffering 18 kB.
    Slow or idle clients cost a socket, not a thread (waitress reads whole requests before a thread
    sees them); poll() lifts select()'s limit of 1024 sockets, and a connection that sends nothing for
    WEB_IDLE_TIMEOUT_SECONDS is closed. A request lookahead lets /events notice a closed client.
    Every body the limit lets in stays in memory (inbuf_overflow): create_web_server's budget bounds
    what anonymous clients can make it hold, and no body lingers on disk in a deleted temp file.
    """
    return {
        "host": settings.host,
        "port": settings.port,
        "threads": settings.web_threads + settings.sse_max_clients,
        "connection_limit": settings.web_max_connections,
        "asyncore_use_poll": True,
        "channel_timeout": settings.web_idle_timeout_seconds,
        "cleanup_interval": max(1, min(10, settings.web_idle_timeout_seconds // 3)),
        "channel_request_lookahead": 1,
        "max_request_body_size": REQUEST_BODY_LIMIT,
        "max_request_header_size": REQUEST_HEADER_LIMIT,
        "inbuf_overflow": REQUEST_BODY_LIMIT,
        "send_bytes": 1,
        "ident": "clipper",
    }


def client_limits(app: Flask) -> web_server.ClientLimits:
    """The caps the server holds before the login check can. Behind a proxy (TRUST_PROXY_HEADERS) every
    connection comes from the proxy, so capping connections per client is the proxy's job (README)."""
    from routes.preauth import carries_credentials

    settings: Settings = app.config["SETTINGS"]
    per_client = 0 if settings.trust_proxy_headers else settings.web_max_connections_per_client
    return web_server.ClientLimits(per_client, settings.web_max_buffered_body_mb * 2**20, carries_credentials(app))


def create_web_server(app: Flask, **options: Any):
    """waitress as `main()` runs it: `options` as waitress.create_server takes them (waitress_options),
    under the per-client connection cap and the anonymous body budget of the app's settings."""
    return web_server.create_server(app, client_limits(app), **options)


def _start_stack(settings: Settings):
    from runtime.stack import Stack, free_port, redis_command, wait_for_redis, worker_command

    env = dict(os.environ)
    stack = Stack(cwd=ROOT, env=env)
    if settings.embedded_redis:
        port = settings.embedded_redis_port or free_port()
        password, _ = secret_file(Path(settings.instance_dir) / REDIS_PASSWORD_FILE)
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        stack.add("redis", redis_command(port, Path(settings.data_dir) / "redis", password))
        env["CELERY_BROKER_URL"] = url
        os.environ["CELERY_BROKER_URL"] = url
        url_file = Path(settings.instance_dir) / EMBEDDED_URL_FILE
        url_file.unlink(missing_ok=True)
        secret_file(url_file, lambda: url)
    level = settings.log_level
    if "io" in settings.local_workers:
        stack.add("io-worker", worker_command("io", "io", settings.io_worker_concurrency, level))
    if "compute" in settings.local_workers:  # or only on the hosts that run `make worker QUEUES=compute`
        stack.add("compute-worker", worker_command("compute", "compute", settings.worker_concurrency, level))
    stack.start()
    wait_for_redis(env.get("CELERY_BROKER_URL") or broker_url(settings))
    return stack


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    harden_process()
    for folder in {Path(settings.instance_dir), Path(settings.data_dir)}:  # a checkout makes them 0755
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
    configure_logging(settings.log_level)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C even when started with SIGINT ignored
    login = credentials(settings)  # before the workers start, so this process sees a new password first
    if login.generated_password:
        print(
            f"\n  Log in as {login.username!r} with password {login.generated_password!r}\n"
            f"  (kept in instance/admin_password; set ADMIN_PASSWORD in .env to choose your own)\n",
            flush=True,
        )
    stack = _start_stack(settings)
    reconciler = None
    try:
        app = create_app()
        from tasks.reconcile import Reconciler

        reconciler = Reconciler(app.extensions["celery"], app.config["SETTINGS"])
        reconciler.start()
        log.info("serving on http://%s:%s", settings.host, settings.port)
        create_web_server(app, **waitress_options(settings)).run()
    except KeyboardInterrupt:
        pass
    finally:
        log.info("stopping")
        if reconciler is not None:
            reconciler.stop()
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
