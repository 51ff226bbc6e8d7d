"""Credentials and login throttling, free of Flask: the admin password, the API token, attempts."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

PASSWORD_FILE = "admin_password"
HASH_PREFIXES = ("scrypt:", "pbkdf2:")


@dataclass(frozen=True)
class Credentials:
    username: str
    password_hash: str
    generated_password: str | None  # set only the first time one is generated, to print it once
    api_token: str

    def check_password(self, username: str, password: str) -> bool:
        same_user = hmac.compare_digest(username.encode(), self.username.encode())
        return check_password_hash(self.password_hash, password) and same_user

    def check_token(self, token: str) -> bool:
        return bool(self.api_token) and hmac.compare_digest(token.encode(), self.api_token.encode())


def load_credentials(username: str, password: str, api_token: str, instance_dir: Path) -> Credentials:
    """ADMIN_PASSWORD (plain or already hashed) is kept only as a hash; with none, one is generated once."""
    generated = None
    if not password:
        password, generated = _generated_password(instance_dir)
    password_hash = password if password.startswith(HASH_PREFIXES) else generate_password_hash(password)
    return Credentials(username, password_hash, generated, api_token)


def _generated_password(instance_dir: Path) -> tuple[str, str | None]:
    """The password in instance/admin_password; (password, password) when it was just created."""
    path = instance_dir / PASSWORD_FILE
    if path.exists():
        return path.read_text().strip(), None
    instance_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip(), None
    with os.fdopen(fd, "w") as handle:
        handle.write(password)
    return password, password


class AttemptLimiter:
    """At most `limit` failed logins per client per `window` seconds, counted in this process."""

    def __init__(self, limit: int = 5, window: float = 300.0):
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds to wait before trying again; 0 when allowed now."""
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.limit:
                return 0.0
            return max(recent[0] + self.window - time.monotonic(), 0.0)

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] < time.monotonic() - self.window:
            failures.popleft()
        return failures
