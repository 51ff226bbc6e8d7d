"""Read-SSRF: no outbound request reaches a loopback, private, link-local or reserved address unless
ALLOWED_NETWORKS allows it — not the page, not a redirect, a playlist entry, an HLS segment or a
thumbnail — and refusals look the same whether a port is open or closed."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from pipeline import netguard
from pipeline.download import Downloaded, DownloadError, checked_entries, fetch, validate_url
from tests.security.conftest import RecordingServer, redirect, send, send_file
from tests.support.media_factory import make_video

ONLY_127_0_0_1 = netguard.parse_networks("127.0.0.1/32")
NO_PROGRESS = lambda fraction: None  # noqa: E731


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("ssrf") / "talk.mp4", 320, 240, duration=1)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost/admin",
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata address
        "http://10.0.0.5/video.mp4",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",  # shared address space
        "http://[::1]/",
        "http://[fd00::1]/",  # unique-local
        "http://[fe80::1]/",  # link-local
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://224.0.0.1/",  # multicast
        "http://0.0.0.0/",
        "http://240.0.0.1/",  # reserved
        "http://[fec0::1]/",  # site-local
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64
        "http://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
        "http://[::ffff:0:7f00:1]/",  # SIIT of 127.0.0.1
        "http://[::127.0.0.1]/",  # IPv4-compatible loopback
    ],
)
def test_internal_addresses_are_refused_at_submission(client, url):
    response = client.post("/api/videos", json={"urls": [url]})
    assert response.status_code == 400
    (rejected,) = response.get_json()["rejected"]
    assert "private address" in rejected["error"] and "ALLOWED_NETWORKS" in rejected["error"]
    assert client.get("/api/videos").get_json()["total"] == 0


def test_allowed_networks_let_a_private_host_through(settings_env, redis_client):
    from app import create_app

    client = create_app({**settings_env, "ALLOWED_NETWORKS": "192.168.1.0/24"}).test_client()
    response = client.post("/api/videos", json={"urls": ["http://192.168.1.20/talk.mp4", "http://192.168.2.1/"]})
    assert response.status_code == 201
    assert [item["url"] for item in response.get_json()["rejected"]] == ["http://192.168.2.1/"]


def test_a_name_resolving_to_loopback_is_refused_at_connection(tmp_path, mp4):
    """No IP literal to spot at submission: the check happens on the resolved address."""
    with RecordingServer(routes={"/talk.mp4": send_file(mp4, "video/mp4")}) as server:
        url = server.base_url.replace("127.0.0.1", "localhost") + "/talk.mp4"
        with pytest.raises(DownloadError, match=r"refused: localhost .*private address; set ALLOWED_NETWORKS"):
            fetch(url, "best", tmp_path / "v", NO_PROGRESS)
        assert server.requests == [], "not a single request reached the internal server"


def test_allowed_networks_permit_loopback_downloads(tmp_path, mp4):
    with RecordingServer(routes={"/talk.mp4": send_file(mp4, "video/mp4")}) as server:
        result = fetch(f"{server.base_url}/talk.mp4", "best", tmp_path / "v", NO_PROGRESS, allowed=ONLY_127_0_0_1)
    assert isinstance(result, Downloaded) and result.path.stat().st_size == mp4.stat().st_size


def test_a_redirect_to_an_internal_address_is_refused(tmp_path):
    with RecordingServer("127.0.0.2", {"/secret": send(b"internal", "text/plain")}) as internal:
        routes = {"/video": redirect(f"{internal.base_url}/secret")}
        with RecordingServer(routes=routes) as public:
            with pytest.raises(DownloadError, match=r"refused: 127\.0\.0\.2 resolves to a private address"):
                fetch(f"{public.base_url}/video", "best", tmp_path / "v", NO_PROGRESS, allowed=ONLY_127_0_0_1)
            assert public.requests == ["/video"]
        assert internal.requests == []


def test_an_hls_segment_on_an_internal_address_is_refused(tmp_path, mp4):
    with RecordingServer("127.0.0.2", {"/seg0.ts": send(b"\x47" * 188 * 10, "video/mp2t")}) as internal:
        playlist = (
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n"
            f"#EXTINF:1.0,\n{internal.base_url}/seg0.ts\n#EXT-X-ENDLIST\n"
        )
        routes = {"/index.m3u8": send(playlist.encode(), "application/vnd.apple.mpegurl")}
        with RecordingServer(routes=routes) as public, pytest.raises(DownloadError):
            fetch(f"{public.base_url}/index.m3u8", "best", tmp_path / "v", NO_PROGRESS, allowed=ONLY_127_0_0_1)
        assert internal.requests == [], "the segment was never requested"


def test_a_thumbnail_on_an_internal_address_is_never_fetched(tmp_path, mp4):
    with RecordingServer("127.0.0.2", {"/thumb.jpg": send(b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")}) as internal:
        page = (
            f'<html><head><meta property="og:image" content="{internal.base_url}/thumb.jpg">'
            '<meta property="og:title" content="Talk"></head>'
            '<body><video src="/talk.mp4" controls></video></body></html>'
        )
        routes = {"/page": send(page.encode(), "text/html"), "/talk.mp4": send_file(mp4, "video/mp4")}
        with RecordingServer(routes=routes) as public:
            result = fetch(f"{public.base_url}/page", "best", tmp_path / "v", NO_PROGRESS, allowed=ONLY_127_0_0_1)
        assert internal.requests == []
    assert isinstance(result, Downloaded) and result.thumbnail_path is None, "the video came, the thumbnail did not"


def test_playlist_entries_pass_the_same_checks():
    entries = ["https://example.org/a", "http://10.1.2.3/b", "file:///etc/passwd", "http://[::1]/c"]
    assert checked_entries(entries) == ["https://example.org/a"]


def test_closed_and_open_internal_ports_give_the_same_refusal(tmp_path, redis_url):
    open_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    messages = []
    for port in (open_port, closed_port):
        with pytest.raises(DownloadError) as raised:
            fetch(f"http://127.0.0.1:{port}/", "best", tmp_path / str(port), NO_PROGRESS)
        messages.append(str(raised.value).replace(str(port), "PORT"))
    assert messages[0] == messages[1]
    assert "refused: 127.0.0.1 resolves to a private address" in messages[0]


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    """A DNS answer that changes between check and connect (rebinding) cannot redirect the socket."""
    answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2"])
    lookups = []

    def changing_dns(host, port, *args):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    connected = []
    monkeypatch.setattr(socket, "getaddrinfo", changing_dns)
    with netguard.allowing(ONLY_127_0_0_1):
        netguard.guarded_connection(("rebind.example", 80), _create_socket_func=lambda info, *a: connected.append(info))
    assert lookups == ["rebind.example"], "resolved once"
    assert connected[0][4] == ("127.0.0.1", 80)


def test_ffmpeg_is_never_handed_a_network_url():
    from pipeline.download import _base_options

    options = _base_options("ffmpeg")
    assert options["external_downloader"] == {"default": "native"}
    assert "http" not in options["external_downloader_args"]["ffmpeg_i"][1]


def test_validate_url_keeps_public_names_for_the_connection_check():
    assert validate_url("https://www.youtube.com/watch?v=x") == "https://www.youtube.com/watch?v=x"


# IPv6 forms that Python's `is_global` calls public, though they reach an IPv4 address (or a local
# network) wherever NAT64, SIIT, 6to4 or old site-local routing exists.
INTERNAL_IPV6_FORMS = [
    "64:ff9b:1::a00:1",  # local-use NAT64 prefix (RFC 8215): always a local translator
    "64:ff9b:1::808:808",
    "64:ff9b::a00:5",  # well-known NAT64 prefix carrying 10.0.0.5
    "64:ff9b::7f00:1",  # ... carrying 127.0.0.1
    "::10.0.0.5",  # IPv4-compatible (deprecated)
    "::127.0.0.1",
    "::169.254.169.254",
    "::ffff:0:a00:5",  # SIIT IPv4-translated (::ffff:0:a.b.c.d)
    "::ffff:0:7f00:1",
    "fec0::1",  # site-local (deprecated, still routed by some networks)
    "fec0:1:2:3::4",
    "2002:a00:5::1",  # 6to4 of 10.0.0.5
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
]


@pytest.mark.parametrize("address", INTERNAL_IPV6_FORMS)
def test_ipv6_forms_of_internal_addresses_are_refused(address):
    assert not netguard.is_public(ipaddress.ip_address(address))
    assert "private address" in netguard.refusal(address, address, ())
    assert "private address" in netguard.check_host(f"[{address}]")


@pytest.mark.parametrize("address", INTERNAL_IPV6_FORMS)
def test_ipv6_forms_of_internal_addresses_are_refused_at_connection(monkeypatch, address):
    def dns(host, port, *args):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]

    connected = []
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    with pytest.raises(netguard.AddressRefused, match="private address"):
        netguard.guarded_connection(("sneaky.example", 80), _create_socket_func=lambda *a: connected.append(a))
    assert connected == []


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:0:808:808", "2606:4700::1111"])
def test_ipv6_forms_of_public_addresses_are_allowed(address):
    assert netguard.is_public(ipaddress.ip_address(address))


def test_allowed_networks_still_allow_those_forms():
    assert netguard.refusal("h", "fec0::1", netguard.parse_networks("fec0::/10")) is None
    assert netguard.refusal("h", "64:ff9b:1::a00:1", netguard.parse_networks("64:ff9b:1::/48")) is None
    lan = netguard.parse_networks("10.0.0.0/8")
    assert netguard.refusal("h", "2002:a00:5::1", lan) is None, "6to4 of an allowed IPv4 network"
    assert netguard.refusal("h", "::ffff:0:a00:5", lan) is None
    assert netguard.refusal("h", "2002:7f00:1::1", lan) is not None
