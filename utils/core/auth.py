"""Credentials and login throttling, free of Flask: the admin password, the API token, attempts."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import redis
from werkzeug.security import check_password_hash, generate_password_hash

from config import secret_file

log = logging.getLogger(__name__)

PASSWORD_FILE = "admin_password"
HASH_PREFIXES = ("scrypt:", "pbkdf2:")


@dataclass(frozen=True)
class Credentials:
    username: str
    password_hash: str
    generated_password: str | None  # set only the first time one is generated, to print it once
    api_token: str
    password_fingerprint: str = ""  # changes when the configured password changes, and only then

    def session_mark(self, secret_key: str, generation: str) -> str:
        """What a login session carries: valid until the password changes or every session is ended."""
        message = f"{self.password_fingerprint}|{generation}".encode()
        return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]

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
    # The hash is salted anew at every start; the fingerprint of what was configured is stable.
    fingerprint = hashlib.sha256(f"{username}\0{password}".encode()).hexdigest()
    return Credentials(username, password_hash, generated, api_token, fingerprint)


def _generated_password(instance_dir: Path) -> tuple[str, str | None]:
    """The password in instance/admin_password; (password, password) when it was just created."""
    password, created = secret_file(instance_dir / PASSWORD_FILE, lambda: secrets.token_urlsafe(12))
    return password, password if created else None


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


class SharedAttemptLimiter(AttemptLimiter):
    """The same limit counted in Redis, so every web process, on every host, adds to one count per client
    (otherwise N web processes would allow N times the attempts). While Redis is unreachable, this
    process's own count still applies."""

    PREFIX = "clipper:login-failures:"

    def __init__(self, client: redis.Redis, limit: int = 5, window: float = 300.0):
        super().__init__(limit, window)
        self.redis = client

    def retry_after(self, client: str) -> float:
        key, now = self.PREFIX + client, time.time()
        try:
            pipe = self.redis.pipeline()
            pipe.zremrangebyscore(key, 0, now - self.window)
            pipe.zrange(key, 0, 0, withscores=True)
            pipe.zcard(key)
            _, oldest, count = pipe.execute()
        except redis.RedisError as error:
            log.warning("login throttling: Redis unreachable (%s); counting in this process", error)
            return super().retry_after(client)
        if count < self.limit:
            return super().retry_after(client)
        return max(oldest[0][1] + self.window - now, 0.0)

    def failed(self, client: str) -> None:
        super().failed(client)
        key, now = self.PREFIX + client, time.time()
        try:
            pipe = self.redis.pipeline()
            pipe.zadd(key, {secrets.token_hex(8): now})
            pipe.expire(key, int(self.window) + 1)
            pipe.execute()
        except redis.RedisError:
            pass  # counted in this process above

    def succeeded(self, client: str) -> None:
        super().succeeded(client)
        with contextlib.suppress(redis.RedisError):
            self.redis.delete(self.PREFIX + client)
