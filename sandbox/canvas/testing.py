"""Loopback servers for the simulated Canvas alone, for tests that need no OneRoster half.

``sandbox.server.start_sandbox`` serves both halves for the demo and the end-to-end tests.
``serve_canvas`` starts in milliseconds and uses ``wsgiref``, so it also covers servers that
hand the app a decoded ``PATH_INFO`` without a raw URI; ``serve_canvas_raw`` uses the
sandbox's own server, which hands over the raw URI as Canvas's does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sandbox.canvas.app import create_canvas_app
from sandbox.canvas.state import CanvasState
from sandbox.server import SandboxHTTPServer


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Tests read results, not access logs."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextlib.contextmanager
def serve_canvas(state: CanvasState, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``state`` on an ephemeral loopback port; yields the base URL."""
    server = make_server(
        host,
        0,
        create_canvas_app(state),
        server_class=_ThreadingServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def serve_canvas_raw(state: CanvasState, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``state`` behind ``sandbox.server``'s HTTP layer; yields the base URL."""
    server = SandboxHTTPServer((host, 0), create_canvas_app(state))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
