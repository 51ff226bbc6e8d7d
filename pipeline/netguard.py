"""Outbound connections reach public addresses only, unless ALLOWED_NETWORKS lets more through.

Every connection yt-dlp opens (the page, media, HLS segments, thumbnails, each redirect and playlist
entry) goes through `guarded_connection`: the host name is resolved once, every address is checked,
and the socket connects to a checked address, never to a second lookup of the name, so a DNS answer
that changes between check and connect cannot get around it. A refusal happens before any packet
leaves for the address, so closed and open internal ports look the same from outside.

The networks that are allowed besides public addresses are a context variable, set by the caller
around its downloads (`allowing`); threads started without it see the strict default.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING = "ALLOWED_NETWORKS"
# IPv6 prefixes that carry an IPv4 address in their last 32 bits, where translators (NAT64, SIIT) send
# packets: Python's `is_global` calls them public, so the IPv4 address inside is judged instead.
IPV4_CARRIERS = tuple(
    ipaddress.ip_network(prefix)
    for prefix in (
        "64:ff9b::/96",  # NAT64, well-known prefix (RFC 6052)
        "::ffff:0:0:0/96",  # SIIT, IPv4-translated (RFC 6145)
        "::/96",  # IPv4-compatible (deprecated by RFC 4291, still routed by some stacks)
    )
)
# Local whatever they carry: local-use NAT64 (RFC 8215) reaches a translator this network runs, and
# site-local (deprecated by RFC 3879) is still routed inside some sites. `is_global` says public for both.
LOCAL_IPV6 = tuple(ipaddress.ip_network(prefix) for prefix in ("64:ff9b:1::/48", "fec0::/10"))

# The "no timeout given" sentinel of `socket.create_connection`, which yt-dlp passes through to us.
_DEFAULT_TIMEOUT: object = socket._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]  # private, absent from typeshed

_allowed: contextvars.ContextVar[tuple[Network, ...]] = contextvars.ContextVar("allowed_networks", default=())


class AddressRefused(OSError):
    """A connection to a non-public address that ALLOWED_NETWORKS does not allow."""


def parse_networks(raw: str) -> tuple[Network, ...]:
    """`127.0.0.0/8,192.168.1.0/24` → networks; raises ValueError naming the bad item."""
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"expected CIDRs separated by commas (e.g. 127.0.0.0/8), got {item!r}") from None
    return tuple(networks)


def _embedded_ipv4(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped, NAT64, SIIT, IPv4-compatible or 6to4 IPv6 address, which
    is where packets really go; any other address as it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:  # 2002::/16, 6to4 (RFC 3056): the IPv4 address in bits 16-48
            return address.sixtofour
        if any(address in prefix for prefix in IPV4_CARRIERS):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: Address) -> bool:
    """Not loopback, private, link-local, unique-local, site-local, shared, multicast, reserved or
    unspecified, nor any of those carried inside an IPv6 address (NAT64, SIIT, 6to4, IPv4-mapped)."""
    if any(address in prefix for prefix in LOCAL_IPV6):
        return False
    address = _embedded_ipv4(address)
    return address.is_global and not address.is_multicast


def refusal(host: str, address: str | Address, allowed: Iterable[Network]) -> str | None:
    """Why connecting to `address` (resolved from `host`) is refused, or None when it is allowed."""
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return f"refused: {host} resolves to {address}, which is not an IP address"
    if is_public(ip) or any(_embedded_ipv4(ip) in network or ip in network for network in allowed):
        return None
    shown = host if host == str(ip) else f"{host} ({ip})"
    return f"refused: {shown} resolves to a private address; set {SETTING} to allow it"


def check_host(host: str, allowed: Iterable[Network] = ()) -> str | None:
    """A refusal for a host given as an IP literal or `localhost`, without any DNS lookup; else None."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return refusal(host, "127.0.0.1", allowed)
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None  # a name: checked on its resolved addresses when the connection is made
    return refusal(host, name, allowed)


@contextlib.contextmanager
def allowing(networks: Iterable[Network]) -> Iterator[None]:
    """Connections made in this context may also reach `networks`."""
    token = _allowed.set(tuple(networks))
    try:
        yield
    finally:
        _allowed.reset(token)


def _plain_connect(addrinfo: tuple, timeout: Any, source_address: Any) -> socket.socket:
    family, socktype, proto, _name, sockaddr = addrinfo
    sock = socket.socket(family, socktype, proto)
    try:
        if timeout is not _DEFAULT_TIMEOUT:
            sock.settimeout(timeout)
        if source_address:
            sock.bind(source_address)
        sock.connect(sockaddr)
        return sock
    except OSError:
        sock.close()
        raise


def guarded_connection(
    address: tuple[str, int],
    timeout: Any = _DEFAULT_TIMEOUT,
    source_address: Any = None,
    *,
    _create_socket_func: Callable[..., socket.socket] = _plain_connect,
) -> socket.socket:
    """`socket.create_connection` that connects only to checked addresses (yt-dlp's signature)."""
    host, port = address
    allowed = _allowed.get()
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    # sockaddr[0] is the address text for AF_INET and AF_INET6, the only families SOCK_STREAM lookups give
    permitted = [info for info in infos if refusal(host, str(info[4][0]), allowed) is None]
    if not permitted:
        raise AddressRefused(
            refusal(host, str(infos[0][4][0]), allowed) if infos else f"refused: {host} does not resolve"
        )
    if source_address is not None:
        family = socket.AF_INET6 if ":" in source_address[0] else socket.AF_INET
        permitted = [info for info in permitted if info[0] == family] or permitted
    error: OSError | None = None
    for info in permitted:
        try:
            return _create_socket_func(info, timeout, source_address)
        except OSError as failure:
            error = failure
    assert error is not None
    raise error
