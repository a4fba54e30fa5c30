"""A tiny loopback HTTP server playing a OneRoster provider and Canvas, for the failures the
sandbox cannot produce. Each route answers from ``routes``; tests replace entries.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

BASE_PATH = "/campus/api/oneroster/v1p1/fake/ims/oneroster/v1p1"
TOKEN_PATH = "/campus/oauth2/token"
STAMP = "2026-01-05T12:00:00.000Z"

Response = tuple[int, dict[str, str], bytes]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def ok_routes() -> dict[tuple[str, str], Response]:
    """Every step of the connection check passes."""
    return {
        ("POST", TOKEN_PATH): json_response(
            200, {"access_token": "fake-access", "token_type": "bearer", "expires_in": 3600}
        ),
        ("GET", BASE_PATH + "/orgs"): json_response(
            200,
            {
                "orgs": [
                    {
                        "sourcedId": "org-1",
                        "status": "active",
                        "dateLastModified": STAMP,
                        "name": "Fake District Office",
                        "type": "district",
                        "identifier": "1",
                    }
                ]
            },
        ),
        ("GET", BASE_PATH + "/academicSessions"): json_response(
            200,
            {
                "academicSessions": [
                    {
                        "sourcedId": "term-1",
                        "status": "active",
                        "dateLastModified": STAMP,
                        "title": "Quarter 1",
                        "type": "term",
                        "startDate": "2026-08-20",
                        "endDate": "2026-10-30",
                        "schoolYear": "2027",
                    }
                ]
            },
        ),
        ("GET", BASE_PATH + "/categories"): json_response(
            200,
            {
                "categories": [
                    {
                        "sourcedId": "cat-1",
                        "status": "active",
                        "dateLastModified": STAMP,
                        "title": "Homework",
                    }
                ]
            },
        ),
        ("GET", "/api/v1/users/self"): json_response(200, {"id": 1, "name": "Integration Admin"}),
        ("GET", "/api/v1/accounts/1"): json_response(
            200, {"id": 1, "name": "Fake Root", "root_account_id": None}
        ),
        ("GET", "/api/v1/accounts/1/sis_imports"): json_response(200, {"sis_imports": []}),
    }


def _paged(
    headers: dict[str, str], body: bytes, query: dict[str, list[str]]
) -> tuple[dict[str, str], bytes]:
    """Honour limit/offset and send X-Total-Count, as OneRoster collections do."""
    try:
        document = json.loads(body)
    except ValueError:
        return headers, body
    lists = [key for key, value in document.items() if isinstance(value, list)]
    if len(lists) != 1:
        return headers, body
    rows = document[lists[0]]
    offset = int(query.get("offset", ["0"])[0])
    limit = int(query.get("limit", [str(len(rows) or 1)])[0])
    document[lists[0]] = rows[offset : offset + limit]
    return {**headers, "X-Total-Count": str(len(rows))}, json.dumps(document).encode()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    # Threads, so a deliberately slow answer does not hold up the next request.
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class FakeUpstream:
    routes: dict[tuple[str, str], Response | Callable[[dict], Response]] = field(
        default_factory=ok_routes
    )
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server: WSGIServer = make_server(
            "127.0.0.1", 0, self.app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def district_fields(self) -> dict[str, str]:
        return {
            "oneroster_base_url": self.url + BASE_PATH,
            "oneroster_token_url": self.url + TOKEN_PATH + "?appName=fake",
            "oneroster_client_id": "fake-client",
            "canvas_base_url": self.url,
            "canvas_account_id": "1",
        }

    def app(self, environ: dict, start_response: Callable) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        headers = {k[5:]: v for k, v in environ.items() if k.startswith("HTTP_")}
        self.requests.append((method, path, headers))
        route = self.routes.get((method, path))
        if route is None:
            status, extra, body = json_response(404, {"errors": [{"message": "not found"}]})
        else:
            status, extra, body = route(environ) if callable(route) else route
        if method == "GET" and path.startswith(BASE_PATH) and status == 200:
            extra, body = _paged(extra, body, parse_qs(environ.get("QUERY_STRING", "")))
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}
        start_response(f"{status} {reason.get(status, 'Status')}", list(extra.items()))
        return [body]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
