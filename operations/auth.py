"""Credentials and login throttling, free of Flask: the admin password, the API token, attempts."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
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


def client_key(address: str) -> str:
    """Whom failed logins are counted against: an IPv4 address, or an IPv6 client's /64, since one
    host is handed a whole /64 and could otherwise pick a fresh address (and count) for every guess."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone id
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class AttemptLimiter:
    """At most `limit` failed logins per client per `window` seconds, counted in this process.

    An attempt is counted when it is reserved, before the password is checked, and forgiven when it
    succeeds: so guesses sent all at once cannot all be checked before the first failure is counted."""

    def __init__(self, limit: int = 5, window: float = 300.0):
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def reserve(self, client: str) -> float:
        """0 when `client` may check a password now (the attempt then counts as a failure until
        `succeeded`); else the seconds to wait, and nothing is counted."""
        with self._lock:
            recent = self._recent(client)
            if len(recent) >= self.limit:
                return max(recent[0] + self.window - time.monotonic(), 0.0)
            recent.append(time.monotonic())
            return 0.0

    def succeeded(self, client: str) -> None:
        """The right password: the client's failures are forgiven, this attempt's included."""
        with self._lock:
            self._failures.pop(client, None)

    def _note(self, client: str) -> None:
        """Counts an attempt already allowed elsewhere, so this process's count holds if Redis goes away."""
        with self._lock:
            self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] < time.monotonic() - self.window:
            failures.popleft()
        return failures


# Check and count in one step, so simultaneous attempts on several web processes cannot all pass the
# check first. KEYS[1]: the client's sorted set; ARGV: now, window, limit, a unique member.
# Returns "" when the attempt is reserved, else the time of the oldest counted attempt.
RESERVE_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
    return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return ''
"""


class SharedAttemptLimiter(AttemptLimiter):
    """The same limit counted in Redis, so every web process, on every host, adds to one count per client
    (otherwise N web processes would allow N times the attempts). While Redis is unreachable, this
    process's own count still applies."""

    PREFIX = "clipper:login-failures:"

    def __init__(self, client: redis.Redis, limit: int = 5, window: float = 300.0):
        super().__init__(limit, window)
        self.redis = client
        self._reserve_script = client.register_script(RESERVE_SCRIPT)

    def reserve(self, client: str) -> float:
        now = time.time()
        try:
            oldest = self._reserve_script(
                keys=[self.PREFIX + client], args=[repr(now), repr(self.window), self.limit, secrets.token_hex(8)]
            )
        except redis.RedisError as error:
            log.warning("login throttling: Redis unreachable (%s); counting in this process", error)
            return super().reserve(client)
        if oldest:
            return max(float(oldest) + self.window - now, 0.0)
        self._note(client)
        return 0.0

    def succeeded(self, client: str) -> None:
        super().succeeded(client)
        with contextlib.suppress(redis.RedisError):
            self.redis.delete(self.PREFIX + client)
