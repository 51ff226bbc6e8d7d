"""The app served by waitress in a background thread, sized as `serve.py main()` sizes it.

Used by the browser tests and by bench/bench_events.py: the options come from serve.waitress_options, so
streams and pages compete for threads and connections exactly as in production.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from serve import create_web_server as create_server
from serve import waitress_options


class LiveServer:
    """waitress on 127.0.0.1 at a free port, under main()'s per-client and body caps; `stop()` closes every
    connection and its threads."""

    def __init__(self, app: Flask, **options):
        """`options` go to waitress on top of main()'s (e.g. connection_limit, to compare)."""
        self.options = {**waitress_options(app.config["SETTINGS"]), "host": "127.0.0.1", "port": 0, **options}
        self.threads = self.options["threads"]
        self.server = create_server(app, **self.options)
        self.base_url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        logging.getLogger("waitress").setLevel(logging.CRITICAL)  # closing mid-stream is expected here
        for dispatcher in list(self.server._map.values()):
            dispatcher.close()
        self.thread.join(10)
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
