"""waitress with two caps that hold before the app, and so before the login check, sees a request.

waitress reads each whole request (headers and body) in its event loop before a thread runs the app.
So the caps live there: a connection over its client's cap (WEB_MAX_CONNECTIONS_PER_CLIENT) is closed as
it is accepted, and a request without credentials whose body would take the bytes being read past the
budget (WEB_MAX_BUFFERED_BODY_MB) is answered 503 before a byte of its body is read. Bodies stay in
memory (inbuf_overflow in serve.waitress_options), so the budget is all they hold: no temp files.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher
from waitress.utilities import Error

log = logging.getLogger(__name__)

# A login form and other small bodies are not counted: the connection caps bound them (a connection
# holds at most two requests read ahead), and the budget cannot be spent to lock everyone out of logging in.
SMALL_BODY_BYTES = 8192
RETRY_AFTER_SECONDS = 30
WARN_EVERY_SECONDS = 60.0


def _nobody(headers: Mapping[str, str]) -> bool:
    return False


@dataclass(frozen=True)
class ClientLimits:
    """The caps; 0 turns one off. `credentialed(headers)` (waitress's keys: AUTHORIZATION, COOKIE) tells
    the requests of a logged-in client, whose bodies the budget does not count."""

    per_client: int = 0
    body_budget: int = 0
    credentialed: Callable[[Mapping[str, str]], bool] = _nobody


def client_key(host: str) -> str:
    """The client a connection counts against: an IPv4 address, or an IPv6 /64 (what one host gets)."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


class Guard:
    """Connections per client and body bytes reserved, shared by every listening socket of one server.

    Connections are counted on the event loop's thread only; a reservation is released by whichever
    thread finishes its request, hence the lock."""

    def __init__(self, limits: ClientLimits):
        self.limits = limits
        self.connections: Counter[str] = Counter()
        self.reserved = 0
        self._warned: set[str] = set()
        self._budget_warned = float("-inf")
        self._lock = threading.Lock()

    def connect(self, client: str) -> bool:
        """Count a new connection of `client`, or refuse it (False) when the client is at its cap."""
        cap = self.limits.per_client
        if cap and self.connections[client] >= cap:
            if client not in self._warned:
                self._warned.add(client)
                log.warning("%s holds %d connections (WEB_MAX_CONNECTIONS_PER_CLIENT): closing more", client, cap)
            return False
        self.connections[client] += 1
        return True

    def disconnect(self, client: str) -> None:
        self.connections[client] -= 1
        if self.connections[client] <= 0:
            del self.connections[client]
            self._warned.discard(client)

    def reserve(self, size: int) -> bool:
        with self._lock:
            budget = self.limits.body_budget
            if budget and self.reserved + size > budget:
                self._warn_budget(budget)
                return False
            self.reserved += size
            return True

    def release(self, size: int) -> None:
        with self._lock:
            self.reserved -= size

    def _warn_budget(self, budget: int) -> None:
        now = time.monotonic()
        if now - self._budget_warned >= WARN_EVERY_SECONDS:
            self._budget_warned = now
            log.warning(
                "%d MB of bodies from clients not logged in are being read (WEB_MAX_BUFFERED_BODY_MB): "
                "answering more with 503",
                budget // 2**20,
            )


class ServiceUnavailable(Error):
    code = 503
    reason = "Service Unavailable"

    # types-waitress says the body is text; waitress returns it encoded, and its ErrorTask writes it as bytes
    def to_response(self, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:  # type: ignore[override]
        status, headers, body = super().to_response(ident)
        return status, [*headers, ("Retry-After", str(RETRY_AFTER_SECONDS))], cast(bytes, body)


class BudgetedParser(HTTPRequestParser):
    """A request whose body is paid for from the guard's budget when its headers end, or refused."""

    reserved = 0
    refused = False

    def __init__(self, adj: Adjustments, guard: Guard):
        super().__init__(adj)
        self.guard = guard

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        size = self._body_size()
        if size <= SMALL_BODY_BYTES or self._credentialed():
            return
        if self.guard.reserve(size):
            self.reserved = size
            return
        self.refused = True  # waitress now completes the request without a body: nothing more is read
        self.body_rcv, self.content_length, self.chunked = None, 0, False
        self.expect_continue, self.connection_close = False, True
        self.error = ServiceUnavailable("the server is busy reading other uploads: log in, or try again shortly")

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        return len(data) if self.refused else consumed  # the rest of this read is the refused body

    def _body_size(self) -> int:
        limit = self.adj.max_request_body_size
        if self.chunked:
            return limit - 1  # the most it may grow to
        return self.content_length if self.content_length < limit else 0  # 0: waitress answers 413

    def _credentialed(self) -> bool:
        try:
            return self.guard.limits.credentialed(self.headers)
        except Exception:
            log.exception("checking a request's credentials failed; counting its body as anonymous")
            return False

    def release(self) -> None:
        """Give the body's reservation back, once: from the thread that served the request, or from the
        event loop for a request its client left half-sent (never both)."""
        reserved, self.reserved = self.reserved, 0
        if reserved:
            self.guard.release(reserved)

    def close(self) -> None:
        super().close()
        self.release()


class GuardedChannel(HTTPChannel):
    """A connection that pays for its bodies from the guard and gives its client's slot back on close."""

    client: str | None = None
    refusing = False  # a request was refused: what the client sends after it is dropped until the close
    # What HTTPChannel holds, as it is for these channels (and `requests_lock`, which types-waitress omits)
    server: GuardedServer
    request: BudgetedParser | None
    requests: Sequence[BudgetedParser]
    requests_lock: threading.Lock

    # waitress calls `self.parser_class(adj)`: a method stands in for the class types-waitress expects
    def parser_class(self, adj: Adjustments) -> BudgetedParser:  # type: ignore[override]
        return BudgetedParser(adj, self.server.guard)

    def received(self, data: bytes) -> bool:
        if self.refusing:
            return False
        handled = super().received(data)
        with self.requests_lock:
            self.refusing = any(request.refused for request in self.requests)
        return handled

    def del_channel(self, map=None) -> None:
        super().del_channel(map)
        partial = self.request  # half-read when the client left or timed out: no thread will close it
        if partial is not None:
            partial.release()
        client, self.client = self.client, None
        if client is not None:
            self.server.guard.disconnect(client)


class GuardedServer(TcpWSGIServer):
    """A listening socket that closes a connection at once when its client already holds its cap."""

    channel_class = GuardedChannel
    # Set by waitress (wasyncore's socket map, and the address bound), and absent from types-waitress
    _map: dict[int, Any]
    effective_host: str
    effective_port: int

    def __init__(self, application: Any, guard: Guard, **kw: Any):
        self.guard = guard
        super().__init__(application, **kw)

    def handle_accept(self) -> None:
        try:
            accepted = self.accept()
        except OSError:  # as waitress: a peer gone before accept() returned must not stop the server
            self._log_accept_error()
            return
        if accepted is None:
            return
        conn, addr = accepted
        client = client_key(addr[0])
        if not self.guard.connect(client):
            conn.close()
            return
        try:
            self.set_socket_options(conn)
            channel = self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)
        except OSError:
            self.guard.disconnect(client)
            conn.close()
            self._log_accept_error()
            return
        channel.client = client

    def _log_accept_error(self) -> None:
        if self.adj.log_socket_errors:
            self.logger.warning("server accept() threw an exception", exc_info=True)


def create_server(application: Any, limits: ClientLimits, **kw: Any) -> GuardedServer | MultiSocketServer:
    """waitress.create_server for TCP listen addresses, every one of them under the same caps."""
    adj = Adjustments(**kw)
    if adj.unix_socket or adj.sockets:
        raise ValueError("web_server serves TCP listen addresses only (host/port or listen)")
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict = {}
    guard = Guard(limits)
    servers = [
        GuardedServer(application, guard, map=socket_map, dispatcher=dispatcher, adj=adj, sockinfo=sockinfo)
        for sockinfo in adj.listen
    ]
    if len(servers) == 1:
        return servers[0]
    listening = [(server.effective_host, server.effective_port) for server in servers]
    return MultiSocketServer(socket_map, adj, listening, dispatcher, servers[-1].log_info)
