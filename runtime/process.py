"""What every process of the stack sets up first (the web process, `serve.py`, and each Celery worker)."""

from __future__ import annotations

import os
import resource


def harden_process() -> None:
    """Files this process and its children create are private (0600, folders 0700); and enough file
    descriptors for the connection limit."""
    os.umask(0o077)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(target, 65536)), hard))
