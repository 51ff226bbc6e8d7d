"""The caps the web server holds before the login check: whom a connection counts against, and which
requests' bodies the anonymous budget counts. The floods themselves are in tests/security/test_server_edges.py."""

from __future__ import annotations

import pytest

from app import create_app
from runtime.web_server import ClientLimits, Guard, client_key
from serve import client_limits
from tests.support.common import TEST_API_TOKEN, log_in


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 on a dual-stack socket
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # the same host's other address
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_a_client_is_its_ipv4_address_or_its_ipv6_64(host, key):
    assert client_key(host) == key


def test_the_cap_refuses_a_clients_next_connection_until_one_closes():
    guard = Guard(ClientLimits(per_client=2))
    assert [guard.connect("a"), guard.connect("a"), guard.connect("a"), guard.connect("b")] == [True, True, False, True]
    guard.disconnect("a")
    assert guard.connect("a")
    for _ in range(2):
        guard.disconnect("a")
    guard.disconnect("b")
    assert not guard.connections, "clients with no connection are forgotten"


def test_the_budget_refuses_what_would_overrun_it_and_takes_back_what_is_released():
    guard = Guard(ClientLimits(body_budget=3))
    assert [guard.reserve(2), guard.reserve(2), guard.reserve(1)] == [True, False, True]
    guard.release(2)
    assert guard.reserve(2)


def test_behind_a_proxy_the_per_client_cap_is_left_to_the_proxy(settings_env, redis_client):
    direct = create_app({**settings_env, "WEB_MAX_CONNECTIONS_PER_CLIENT": "7", "WEB_MAX_BUFFERED_BODY_MB": "3"})
    proxied = create_app({**settings_env, "WEB_MAX_CONNECTIONS_PER_CLIENT": "7", "TRUST_PROXY_HEADERS": "true"})
    assert (client_limits(direct).per_client, client_limits(direct).body_budget) == (7, 3 * 2**20)
    assert client_limits(proxied).per_client == 0, "every connection comes from the proxy"


def test_only_the_api_token_or_a_logins_signed_cookie_counts_as_credentials(app):
    credentialed = client_limits(app).credentialed
    client = app.test_client(authenticated=False)
    client.get("/login")  # an anonymous session: a CSRF token, no login
    anonymous = f"clipper={client.get_cookie('clipper').value}"
    log_in(client)
    logged_in = f"clipper={client.get_cookie('clipper').value}"
    forged = logged_in[:-4] + ("AAAA" if not logged_in.endswith("AAAA") else "BBBB")
    assert credentialed({"AUTHORIZATION": f"Bearer {TEST_API_TOKEN}"})
    assert credentialed({"COOKIE": f"theme=dark; {logged_in}"})
    assert not credentialed({"AUTHORIZATION": "Bearer guess"})
    assert not credentialed({"COOKIE": anonymous})
    assert not credentialed({"COOKIE": forged})
    assert not credentialed({})
