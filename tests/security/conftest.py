"""Hostile peers for the security tests: web servers on loopback addresses that record every request,
and the app served by a real waitress."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.live_server import LiveServer

Route = Callable[[BaseHTTPRequestHandler], None]


class RecordingServer:
    """An HTTP server on `host` (any 127.x address) answering from `routes`, recording each path asked."""

    def __init__(self, host: str = "127.0.0.1", routes: dict[str, Route] | None = None):
        self.routes = routes or {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                else:
                    route(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self.httpd.server_address[1]}"

    def __enter__(self) -> RecordingServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(body: bytes, content_type: str, status: int = 200) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def send_file(path: Path, content_type: str) -> Route:
    return lambda handler: send(path.read_bytes(), content_type)(handler)


def redirect(location: str) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server
