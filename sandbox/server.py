"""One loopback HTTP server for the whole sandbox: simulated Infinite Campus and Canvas.

``/campus/...`` and ``/_sandbox/oneroster/...`` go to the OneRoster app; everything else
(``/api/...``, ``/_sandbox/canvas/...``) to the Canvas app, unless the sandbox was started
without it (then 404).

The HTTP layer is a small WSGI runner on ``http.server`` (threads, HTTP/1.1 keep-alive,
``TCP_NODELAY``, one ``sendall`` per small response, bodies streamed without copies):
``wsgiref`` writes in small blocks and closes connections, which made it the bottleneck of
the read benchmark. A body iterator that raises after the headers went out drops the
connection, which is how the truncation faults reach the client.

``latency`` (seconds, default none) holds every API answer back that long before the app
runs, as the network and a real service's own work do: with it, a benchmark measures how
work that waits on upstreams scales, instead of how fast two cores answer loopback calls.
The sandbox's own control endpoints (``/_sandbox/...``) answer at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import unquote

from sandbox.canvas.app import create_canvas_app
from sandbox.canvas.state import CanvasState
from sandbox.oneroster.app import API_ROOT, API_SUFFIX, TOKEN_PATH, create_oneroster_app
from sandbox.oneroster.generator import District, Shape, generate_district
from sandbox.oneroster.state import Credentials, OneRosterState

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
_SMALL = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RosterBridgeSandbox/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        self._run()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox %s", format % args)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _environ(self, body: bytes) -> dict:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "iso-8859-1"),
            "QUERY_STRING": query,
            "RAW_URI": self.path,
            "REQUEST_URI": self.path,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def _run(self) -> None:
        body = self._body()
        environ = self._environ(body)
        latency = self.server.latency  # type: ignore[attr-defined]
        if latency and not environ["PATH_INFO"].startswith("/_sandbox/"):
            time.sleep(latency)
        state: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info=None) -> Callable:
            state["status"] = status
            state["headers"] = headers
            return lambda data: None

        app: WSGIApp = self.server.app  # type: ignore[attr-defined]
        try:
            result = app(environ, start_response)
        except Exception:
            logger.exception("sandbox app failed")
            result = [b"sandbox error"]
            state["status"] = "500 Internal Server Error"
            state["headers"] = [("Content-Type", "text/plain")]
        headers = list(state["headers"])
        names = {k.lower() for k, _ in headers}
        close = any(k.lower() == "connection" and v.lower() == "close" for k, v in headers)
        chunks: Iterable[bytes] = result
        if "content-length" not in names and not close:
            # Frame the whole body so the connection can stay open.
            data = b"".join(result)
            headers.append(("Content-Length", str(len(data))))
            chunks = [data]
        if close or self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True
        head = [f"HTTP/1.1 {state['status']}\r\n"]
        head.extend(f"{k}: {v}\r\n" for k, v in headers)
        head.append("\r\n")
        head_bytes = "".join(head).encode("latin-1")
        write = self.wfile.write
        try:
            pending = head_bytes
            for chunk in chunks:
                if not chunk or self.command == "HEAD":
                    continue
                if pending and len(chunk) < _SMALL:
                    pending += chunk
                    continue
                if pending:
                    write(pending)
                    pending = b""
                write(chunk)
            if pending:
                write(pending)
        except Exception:  # noqa: BLE001 - a cut-off body (fault injection) or a client gone
            # Whatever was produced goes out (headers included), then the connection drops:
            # the client sees a response whose body ends early.
            self.close_connection = True
            with contextlib.suppress(OSError):
                if pending:
                    write(pending)
                self.connection.shutdown(socket.SHUT_RDWR)
        finally:
            closer = getattr(result, "close", None)
            if closer is not None:
                closer()


class SandboxHTTPServer(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: WSGIApp, *, latency: float = 0.0) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.latency = latency

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


def make_dispatcher(oneroster_app: WSGIApp, canvas_app: WSGIApp | None) -> WSGIApp:
    def dispatch(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(("/campus/", "/_sandbox/oneroster/")):
            return oneroster_app(environ, start_response)
        if canvas_app is not None:
            return canvas_app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"errors":[{"message":"The simulated Canvas is not installed"}]}']

    return dispatch


def _canvas(secrets_seed: int | None) -> tuple[CanvasState, WSGIApp]:
    """The Canvas half: a random token, or one derived from the seed (the demo)."""
    if secrets_seed is None:
        state = CanvasState()
    else:
        token = hashlib.sha256(f"rosterbridge-sandbox:{secrets_seed}:canvas".encode()).hexdigest()
        state = CanvasState(token=token)
    return state, create_canvas_app(state)


class RunningSandbox:
    """A started sandbox. Use as a context manager, or call ``stop()``."""

    def __init__(
        self,
        *,
        server: SandboxHTTPServer,
        thread: threading.Thread,
        oneroster: OneRosterState,
        canvas: Any,
    ) -> None:
        self.server = server
        self.thread = thread
        self.oneroster = oneroster
        self.canvas = canvas
        host, port = server.server_address[:2]
        self.host = str(host)
        self.port = int(port)

    @property
    def generated(self) -> District:
        """The district data (current state, mutations included)."""
        return self.oneroster.district

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def info(self) -> dict[str, str]:
        """DESIGN §6: what a client needs, as printed by ``manage.py sandbox serve``."""
        creds = self.oneroster.credentials
        return {
            "oneroster_url": f"{self.url}{API_ROOT}{creds.app_name}{API_SUFFIX}",
            "token_url": f"{self.url}{TOKEN_PATH}?appName={creds.app_name}",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "vendor_key": creds.vendor_key,
            "vendor_secret": creds.vendor_secret,
            "canvas_url": self.url,
            "canvas_account_id": str(getattr(self.canvas, "account_id", "")),
            "canvas_token": str(getattr(self.canvas, "token", "")),
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_sandbox(
    *,
    schools: int,
    students: int,
    seed: int,
    port: int = 0,
    host: str = "127.0.0.1",
    as_of: dt.datetime | None = None,
    fixed_secrets: bool = False,
    canvas: bool = True,
    shape: Shape | None = None,
    latency: float = 0.0,
) -> RunningSandbox:
    """Generate a district and serve it (and the simulated Canvas) on ``host:port``.

    Secrets are random per start unless ``fixed_secrets`` derives them from ``seed`` (the
    demo). ``port=0`` picks a free port; read it from ``.info`` or ``.port``.
    ``canvas=False`` serves the OneRoster half alone. ``shape`` picks one of the other
    plausible Infinite Campus shapes (``generator.SHAPES``; default: the modelled one).
    ``latency``: seconds each API answer is held back (module doc).
    """
    district = generate_district(
        schools=schools, students=students, seed=seed, as_of=as_of, shape=shape
    )
    secrets_seed = seed if fixed_secrets else None
    credentials = Credentials.generate(app_name=district.slug, seed=secrets_seed)
    oneroster = OneRosterState(district, credentials=credentials)
    canvas_state, canvas_app = _canvas(secrets_seed) if canvas else (None, None)
    server = SandboxHTTPServer(
        (host, port),
        make_dispatcher(create_oneroster_app(oneroster), canvas_app),
        latency=latency,
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="sandbox"
    )
    thread.start()
    return RunningSandbox(server=server, thread=thread, oneroster=oneroster, canvas=canvas_state)
