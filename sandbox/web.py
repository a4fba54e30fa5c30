"""The sandbox's one small HTTP framework, shared by the simulated Infinite Campus and Canvas.

Both services are plain WSGI callables built from these parts:

- ``Request``: what a handler reads from the WSGI environ. ``path`` is the raw,
  still percent-encoded path (``RAW_URI`` from ``sandbox.server``, or ``PATH_INFO``
  re-quoted under servers that decode it), so a ``%2F`` inside an id survives routing and
  is decoded exactly once, by the handler.
- ``Response``: status, body (bytes, or an iterable that may raise to cut the connection
  for fault injection), headers; ``framed=False`` closes the connection instead of sending
  a ``Content-Length``.
- ``HttpError``: raised by a handler, rendered by the service's own error shape.
- ``Router``: ``(method, pattern)`` routes matched against ``Request.path``. When several
  patterns match a path, the one with the most literal segments wins, so
  ``/courses/:id/enrollments`` beats ``/courses/:id`` even where an id may hold a decoded
  ``/``. A path that matches only under other methods answers 405, not 404.

A library router (werkzeug's) would decode the path before matching, which is the one thing
the Canvas SIS-id paths cannot have; this module is small enough to keep instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote

import orjson

Handler = Callable[..., "Response"]
#: A route's method that takes every method (the handler answers 405 itself).
ANY = "*"


class HttpError(Exception):
    """An error answer; each service renders ``status`` and ``message`` in its own body shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.code = code  # a service-specific error code (OneRoster codeMinor, Canvas status)


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json; charset=utf-8"
    framed: bool = True  # False: no Content-Length, the connection closes after the body

    def send(self, start_response: Callable) -> Iterable[bytes]:
        headers = [("Content-Type", self.content_type), *self.headers]
        if isinstance(self.body, bytes):
            if not self.framed:
                headers.append(("Connection", "close"))
            elif not any(name.lower() == "content-length" for name, _ in headers):
                headers.append(("Content-Length", str(len(self.body))))
            start_response(status_line(self.status), headers)
            return [self.body]
        start_response(status_line(self.status), headers)
        return self.body


def json_response(
    data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response(status, orjson.dumps(data), list(headers or []))


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Status"


class Request:
    """What a handler needs from the WSGI environ."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw:
            self.path = raw.split("?", 1)[0]
        else:
            # wsgiref decodes %2F in PATH_INFO; re-quote so ids decode exactly once later.
            decoded = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
            self.path = quote(decoded, safe="/:")
        self.query_string = environ.get("QUERY_STRING", "")
        self.query = parse_qs(self.query_string, keep_blank_values=True)
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        self.base_url = f"{scheme}://{host}"
        self._body: bytes | None = None

    def header(self, name: str, default: str = "") -> str:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return self.environ.get(key, default)
        return self.environ.get(f"HTTP_{key}", default)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def args(self, name: str) -> list[str]:
        """Every value of ``name`` and ``name[]`` (Rails-style list parameters)."""
        return self.query.get(f"{name}[]", []) + self.query.get(name, [])

    def flag(self, name: str) -> bool | None:
        value = self.arg(name)
        if value is None:
            return None
        return value.strip().lower() in ("1", "true", "yes", "on")

    def content_type(self) -> str:
        return self.environ.get("CONTENT_TYPE", "")

    def body(self) -> bytes:
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            self._body = self.environ["wsgi.input"].read(length) if length > 0 else b""
        return self._body

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (empty body → ``{}``); anything else is a 400."""
        raw = self.body()
        if not raw.strip():
            return {}
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise HttpError(400, "The body is not valid JSON") from exc
        if not isinstance(payload, dict):
            raise HttpError(400, "The body must be a JSON object")
        return payload

    def form(self) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
        """Fields and files of a form-encoded or multipart body, plus query parameters."""
        fields = {key: values[-1] for key, values in self.query.items() if values}
        files: dict[str, tuple[str, bytes]] = {}
        ctype = self.content_type()
        if ctype.startswith("multipart/form-data"):
            match = re.search(r'boundary="?([^";]+)"?', ctype)
            if not match:
                raise HttpError(400, "Multipart body without a boundary")
            more, files = parse_multipart(self.body(), match.group(1).encode())
            fields.update(more)
        elif ctype.startswith("application/x-www-form-urlencoded"):
            parsed = parse_qs(self.body().decode("utf-8"), keep_blank_values=True)
            fields.update({key: values[-1] for key, values in parsed.items() if values})
        return fields, files


def parse_multipart(
    body: bytes, boundary: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """``(fields, files)`` of a multipart/form-data body; a file is ``(file name, bytes)``."""
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                disposition = line
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if not name:
            continue
        if filename:
            files[name.group(1)] = (filename.group(1), content)
        else:
            fields[name.group(1)] = content.decode("utf-8", "replace")
    return fields, files


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    tag: str | None  # what the service attaches to a route (Canvas: the permission needed)
    literals: int  # literal path segments: the more, the more specific


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


class MethodNotAllowed(Exception):
    """The path exists, but not for this method."""


class Router:
    """``(method, regex)`` routes; ``match`` picks the most specific route for a path."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, tag: str | None = None) -> None:
        literals = sum(1 for part in pattern.split("/") if part and "(" not in part)
        self.routes.append(Route(method.upper(), re.compile(pattern), handler, tag, literals))
        # Stable: among equally specific routes the first added wins.
        self.routes.sort(key=lambda route: -route.literals)

    def match(self, method: str, path: str) -> Match | None:
        """The route for ``method`` and ``path``; ``None`` when no route has the path,
        ``MethodNotAllowed`` when only other methods do."""
        path_known = False
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method in (method, ANY):
                return Match(route, found.groupdict())
            path_known = True
        if path_known:
            raise MethodNotAllowed(path)
        return None


__all__ = [
    "ANY",
    "HttpError",
    "Match",
    "MethodNotAllowed",
    "Request",
    "Response",
    "Route",
    "Router",
    "json_response",
    "parse_multipart",
    "status_line",
]
