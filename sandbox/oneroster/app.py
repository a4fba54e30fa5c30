"""WSGI app of the simulated Infinite Campus: token endpoint, OneRoster 1.1 API, controls.

- ``POST /campus/oauth2/token?appName=<app>``: OAuth 2.0 client credentials (Basic auth or
  form fields).
- ``/campus/api/oneroster/v1p1/<app>/ims/oneroster/v1p1/...``: rostering collections,
  singles and nested endpoints; gradebook (categories, lineItems, results) behind the
  ``x-vendor-authorization`` header; bearer tokens or OAuth 1.0a HMAC signatures (checked
  with oauthlib's own verifier).
- ``POST /_sandbox/oneroster/<action>``: controls for tests and the demo (bearer = the
  sandbox's client secret): ``info``, ``scenario``, ``mutate``, ``faults``,
  ``faults/clear``, ``grading-window``, ``gradebook``, ``expire-tokens``, ``reset``,
  ``requests``.
"""

from __future__ import annotations

import base64
import hmac
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote, unquote_plus, urlencode

import orjson
from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
from oauthlib.oauth1.rfc5849 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256

from sandbox.oneroster.faults import FaultRule
from sandbox.oneroster.generator import STUDENT, TEACHER
from sandbox.oneroster.gradebook import Rejected
from sandbox.oneroster.query import Query, QueryError, parse_query
from sandbox.oneroster.render import SESSIONS_PER_SCHOOL
from sandbox.oneroster.state import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    SESSION_TYPE_COLLECTIONS,
    OneRosterState,
)
from sandbox.web import ANY, Request, Response, Router, json_response

TOKEN_PATH = "/campus/oauth2/token"  # noqa: S105 - a path, not a secret
CONTROL_PREFIX = "/_sandbox/oneroster/"
API_ROOT = "/campus/api/oneroster/v1p1/"
API_SUFFIX = "/ims/oneroster/v1p1"

# Top-level rostering collections → (row kind, envelope key, single key).
COLLECTIONS = {
    "orgs": ("orgs", "orgs", "org"),
    "schools": ("orgs", "orgs", "org"),
    "academicSessions": ("academicSessions", "academicSessions", "academicSession"),
    "terms": ("academicSessions", "academicSessions", "academicSession"),
    "gradingPeriods": ("academicSessions", "academicSessions", "academicSession"),
    "courses": ("courses", "courses", "course"),
    "classes": ("classes", "classes", "class"),
    "users": ("users", "users", "user"),
    "students": ("users", "users", "user"),
    "teachers": ("users", "users", "user"),
    "enrollments": ("enrollments", "enrollments", "enrollment"),
    "demographics": ("demographics", "demographics", "demographics"),
}
GRADEBOOK = frozenset({"categories", "lineItems", "results"})


@dataclass(frozen=True)
class Ctx:
    """Per-request facts the handlers share."""

    base: str  # absolute API base URL, as the client addressed it
    query: dict[str, str]
    fault: FaultRule | None
    rest: str  # the path after the base, still percent-encoded


def imsx(status: int, code_minor: str, description: str, **extra: Any) -> Response:
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_messageRefIdentifier": f"sandbox-{time.monotonic_ns()}",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystem",
                    "imsx_codeMinorFieldValue": code_minor,
                }
            ]
        },
    }
    headers = list(extra.get("headers", []))
    return Response(status, orjson.dumps(body), headers)


class _Validator(RequestValidator):
    """oauthlib's verifier, two-legged: only the consumer key and secret matter."""

    enforce_ssl = False
    allowed_signature_methods = (SIGNATURE_HMAC_SHA256, SIGNATURE_HMAC_SHA1)

    def __init__(self, state: OneRosterState) -> None:
        super().__init__()
        self.state = state

    def check_client_key(self, client_key: str) -> bool:
        return bool(client_key) and len(client_key) <= 200

    def check_nonce(self, nonce: str) -> bool:
        return bool(nonce) and len(nonce) <= 200

    @property
    def dummy_client(self) -> str:
        return "dummy-client"

    def validate_client_key(self, client_key: str, request) -> bool:
        return hmac.compare_digest(client_key, self.state.credentials.client_id)

    def get_client_secret(self, client_key: str, request) -> str:
        if client_key == self.state.credentials.client_id:
            return self.state.credentials.client_secret
        return "dummy-secret"

    def validate_timestamp_and_nonce(
        self, client_key, timestamp, nonce, request, request_token=None, access_token=None
    ) -> bool:
        return self.state.nonce_fresh(client_key, nonce, timestamp)


class OneRosterApp:
    def __init__(self, state: OneRosterState) -> None:
        self.state = state
        self._oauth1 = SignatureOnlyEndpoint(_Validator(state))
        self.app_prefix = f"{API_ROOT}{state.credentials.app_name}{API_SUFFIX}"
        # Each handler answers every method itself: IC's token endpoint and the API tell a
        # wrong method apart in their own body shapes.
        self.router = Router()
        self.router.add(ANY, re.escape(TOKEN_PATH), self.token)
        self.router.add(ANY, rf"{re.escape(CONTROL_PREFIX)}(?P<action>.+)", self.control)
        self.router.add(ANY, rf"{re.escape(self.app_prefix)}/(?P<rest>.*)", self.api)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        req = Request(environ)
        try:
            match = self.router.match(req.method, req.path)
            if match is None:
                response = imsx(404, "unknownobject", "No such endpoint")
            else:
                response = match.route.handler(req, **match.params)
        except Exception as exc:  # noqa: BLE001 - a simulated server answers 500, never crashes
            response = imsx(500, "targetreadfailure", f"Sandbox error: {type(exc).__name__}")
        return response.send(start_response)

    # --- token endpoint ------------------------------------------------------------------

    def token(self, req: Request) -> Response:
        state = self.state
        method = req.method
        self._log(req, "oauth2/token")
        fault = state.faults.take(method, "oauth2/token", explicit_only=True)
        if fault is not None and fault.kind == "status":
            return _fault_status(fault)
        if method != "POST":
            return json_response({"error": "invalid_request"}, 405)
        if req.arg("appName") != state.credentials.app_name:
            return json_response({"error": "invalid_request", "error_description": "appName"}, 404)
        form = {k: v[0] for k, v in parse_qs(req.body().decode("latin-1")).items()}
        client_id = form.get("client_id")
        client_secret = form.get("client_secret")
        auth = req.header("Authorization")
        if auth.startswith("Basic "):
            try:
                decoded = base64.b64decode(auth[6:]).decode()
                user, _, password = decoded.partition(":")
                client_id, client_secret = unquote_plus(user), unquote_plus(password)
            except ValueError:
                return json_response({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        creds = state.credentials
        if not (
            client_id
            and client_secret
            and hmac.compare_digest(client_id, creds.client_id)
            and hmac.compare_digest(client_secret, creds.client_secret)
        ):
            return json_response(
                {"error": "invalid_client"}, 401, [("WWW-Authenticate", 'Basic realm="campus"')]
            )
        return json_response(
            {
                "access_token": state.issue_token(),
                "token_type": "Bearer",
                "expires_in": state.token_ttl,
                "scope": form.get("scope", ""),
            },
            headers=[("Cache-Control", "no-store")],
        )

    # --- the OneRoster API ---------------------------------------------------------------

    def api(self, req: Request, rest: str) -> Response:
        self.state.enter_request()
        try:
            return self._api(req, rest)
        finally:
            self.state.leave_request()

    def _api(self, req: Request, rest: str) -> Response:
        state = self.state
        method = req.method
        self._log(req, rest)
        fault = state.faults.take(method, rest)
        if fault is not None:
            if fault.kind == "status":
                return _fault_status(fault)
            if fault.kind == "slow":
                time.sleep(fault.delay)
            if fault.kind == "expire_tokens":
                state.expire_tokens()
        if not self._authorized(req):
            return imsx(
                401,
                "unauthorisedrequest",
                "Missing, expired or invalid credentials",
                headers=[("WWW-Authenticate", 'Bearer realm="oneroster"')],
            )
        parts = [unquote(p) for p in rest.split("/") if p]
        if not parts:
            return imsx(404, "unknownobject", "No such endpoint")
        gradebook = (
            parts[0] in GRADEBOOK
            or (parts[0] == "classes" and len(parts) >= 3 and parts[2] in ("lineItems", "results"))
            or (parts[0] == "classes" and len(parts) == 5 and parts[4] == "results")
        )
        if gradebook:
            expected = f"{state.credentials.vendor_key}:{state.credentials.vendor_secret}"
            given = req.header("x-vendor-authorization")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return imsx(
                    401,
                    "unauthorisedrequest",
                    "Gradebook endpoints need a valid x-vendor-authorization header",
                )
        ctx = Ctx(
            base=f"{req.base_url}{self.app_prefix}",
            query={k: v[-1] for k, v in req.query.items()},
            fault=fault,
            rest=rest,
        )
        try:
            if gradebook:
                response = self.gradebook(req, parts, ctx)
            elif method != "GET":
                response = imsx(405, "unsupportedoperation", "Rostering is read-only")
            else:
                response = self.rostering(parts, ctx)
        except QueryError as exc:
            return imsx(400, exc.code_minor, str(exc))
        except Rejected as exc:
            return imsx(exc.status, exc.code_minor, str(exc))
        return _apply_body_fault(response, fault)

    def _authorized(self, req: Request) -> bool:
        auth = req.header("Authorization")
        if auth.startswith("Bearer "):
            return self.state.token_valid(auth[7:].strip())
        if auth.startswith("OAuth ") and self.state.oauth1_enabled:
            uri = req.base_url + (req.environ.get("RAW_URI") or _raw_uri(req))
            valid, _ = self._oauth1.validate_request(
                uri, http_method=req.method, body=None, headers={"Authorization": auth}
            )
            return valid
        return False

    # --- rostering -----------------------------------------------------------------------

    def rostering(self, parts: list[str], ctx: Ctx) -> Response:
        state = self.state
        head = parts[0]
        if head not in COLLECTIONS:
            return imsx(404, "unknownobject", f"No such collection {head!r}")
        kind, key, single = COLLECTIONS[head]
        if len(parts) == 1:
            return self.page(kind, key, (head,), state.collection_rows(head), ctx)
        target = self._find_single(head, kind, parts[1])
        if target is None:
            return imsx(404, "unknownobject", f"No {single} {parts[1]!r}")
        if len(parts) == 2:
            query = parse_query(ctx.query, kind)
            body = state.renderer.single(kind, single, target, ctx.base)
            if query.fields is not None:
                body = orjson.dumps({single: query.project(orjson.loads(body)[single])})
            return Response(200, body)
        nested = tuple(parts[2:])
        found = self._nested_rows(head, target, nested)
        if isinstance(found, Response):
            return found
        kind, key, build = found
        view_key = (head, target, *nested)
        rows = () if state.empty_feed else state.view(view_key, build)
        return self.page(kind, key, view_key, rows, ctx)

    def _nested_rows(
        self, head: str, target: int, nested: tuple[str, ...]
    ) -> tuple[str, str, Callable[[], Sequence[int]]] | Response:
        """(row kind, envelope key, rows builder) of a relationship endpoint."""
        state = self.state
        d = state.district

        def rows_of(collection: str, keep: Callable[[int], bool]) -> Callable[[], list[int]]:
            return lambda: [i for i in state.collection_rows(collection) if keep(i)]

        if head == "schools":
            s = target - 1
            table = {
                ("classes",): ("classes", rows_of("classes", lambda c: d.class_school[c] == s)),
                ("courses",): ("courses", rows_of("courses", lambda c: d.course_school[c] == s)),
                ("enrollments",): (
                    "enrollments",
                    rows_of("enrollments", lambda e: d.class_school[d.enr_class[e]] == s),
                ),
                ("students",): ("users", rows_of("students", lambda u: d.user_school[u] == s)),
                ("teachers",): (
                    "users",
                    rows_of("teachers", lambda u: s in (d.user_school[u], d.user_school2[u])),
                ),
                ("terms",): ("academicSessions", lambda: state.sessions_of_type("terms", s)),
            }
            if nested in table:
                kind, build = table[nested]
                return kind, kind, build
            if len(nested) == 3 and nested[0] == "classes":
                c = state.find("classes", nested[1])
                if c is None or d.class_school[c] != s:
                    return imsx(404, "unknownobject", f"No class {nested[1]!r} in this school")
                return self._class_members(c, nested[2])
        if head == "terms" and nested in (("classes",), ("gradingPeriods",)):
            s, k = divmod(target, SESSIONS_PER_SCHOOL)
            if nested == ("gradingPeriods",):
                # The term's children of type gradingPeriod: none where the terms grade.
                children = set(state.session(target).children)
                return (
                    "academicSessions",
                    "academicSessions",
                    lambda: [
                        i
                        for i in state.sessions_of_type("gradingPeriods", s)
                        if state.session(i).sourced_id in children
                    ],
                )
            mask = d.schools[s].session_mask(k)
            return (
                "classes",
                "classes",
                rows_of("classes", lambda c: d.class_school[c] == s and d.class_mask[c] & mask),
            )
        if head == "courses" and nested == ("classes",):
            return "classes", "classes", rows_of("classes", lambda c: d.class_course[c] == target)
        if head == "classes" and len(nested) == 1:
            return self._class_members(target, nested[0])
        if head in ("students", "teachers", "users") and nested == ("classes",):

            def build() -> list[int]:
                seen = dict.fromkeys(d.enr_class[e] for e in state.user_enrollments(target))
                return [c for c in seen if d.class_alive[c]]

            return "classes", "classes", build
        return imsx(404, "unknownobject", "No such endpoint")

    def _find_single(self, head: str, kind: str, sourced_id: str) -> int | None:
        state = self.state
        if state.empty_feed:
            return None
        index = state.find(kind, sourced_id)
        if index is None:
            return None
        d = state.district
        if head == "schools" and index == 0:
            return None
        if head == "students" and d.user_role[index] != STUDENT:
            return None
        if head == "teachers" and d.user_role[index] != TEACHER:
            return None
        wanted_type = SESSION_TYPE_COLLECTIONS.get(head)
        if wanted_type is not None and state.session(index).type != wanted_type:
            return None
        return index

    def _class_members(
        self, c: int, what: str
    ) -> tuple[str, str, Callable[[], Sequence[int]]] | Response:
        state = self.state
        d = state.district
        if what == "enrollments":
            return "enrollments", "enrollments", lambda: list(state.class_enrollments(c))
        role = {"students": STUDENT, "teachers": TEACHER}.get(what)
        if role is None:
            return imsx(404, "unknownobject", "No such endpoint")

        def build() -> list[int]:
            users = dict.fromkeys(
                d.enr_user[e] for e in state.class_enrollments(c) if d.enr_role[e] == role
            )
            return [u for u in users if d.user_alive[u]]

        return "users", "users", build

    def page(self, kind: str, key: str, view_key: tuple, rows: Sequence[int], ctx: Ctx) -> Response:
        state = self.state
        limit, offset = _paging(ctx.query)
        if limit is None:
            return imsx(400, "invaliddata", "limit and offset must be non-negative integers")
        query = parse_query(ctx.query, kind)
        if not query.columnar:
            records = state.records(kind, view_key, rows, ctx.base)
            return self.dict_page(key, records, ctx, query)
        if query.filter is not None:
            rows = state.filter_rows(kind, view_key, rows, query.filter)
            view_key = (*view_key, "filter", query.filter)
        if query.sort is not None:
            rows = state.sorted_rows(kind, view_key, rows, query.sort, query.descending)
        size = min(limit, state.max_limit)
        total = len(rows)
        start = offset
        fault = ctx.fault
        if fault is not None and fault.kind == "duplicate" and offset > 0:
            start = offset - 1
        chunk = rows[start : start + size]
        if fault is not None and fault.kind == "short_page":
            chunk = chunk[: max(1, len(chunk) // 2)]
        with state.lock:
            body = state.renderer.page(kind, key, chunk, ctx.base)
        return Response(200, body, _paging_headers(state, ctx, offset, size, total))

    # --- gradebook -----------------------------------------------------------------------

    def gradebook(self, req: Request, parts: list[str], ctx: Ctx) -> Response:
        state = self.state
        method = req.method
        book = state.gradebook
        head = parts[0]
        base = ctx.base
        if head == "categories":
            if len(parts) == 1 and method == "GET":
                return self.gradebook_page("categories", list(book.categories.values()), ctx)
            if len(parts) == 2 and method == "GET":
                category = book.categories.get(parts[1])
                if category is None:
                    return imsx(404, "unknownobject", f"No category {parts[1]!r}")
                return json_response({"category": category})
            return imsx(405, "unsupportedoperation", "Categories are managed in Campus")
        if head == "lineItems":
            if len(parts) == 1 and method == "GET":
                with book.lock:
                    stored = list(book.line_items.values())
                tasks = [book.grading_task_json(t, base) for t in book.all_grading_tasks()]
                return self.gradebook_page("lineItems", tasks + stored, ctx)
            if len(parts) == 2:
                return self._one(
                    method,
                    "lineItem",
                    parts[1],
                    req,
                    ctx,
                    (book.line_item_json, book.put_line_item, book.delete_line_item),
                )
        if head == "results":
            if len(parts) == 1 and method == "GET":
                with book.lock:
                    stored = list(book.results.values())
                return self.gradebook_page("results", stored, ctx)
            if len(parts) == 2:
                return self._one(
                    method,
                    "result",
                    parts[1],
                    req,
                    ctx,
                    (lambda sid, _: book.results.get(sid), book.put_result, book.delete_result),
                )
        if head == "classes" and method == "GET":
            c = state.find("classes", parts[1])
            if c is None:
                return imsx(404, "unknownobject", f"No class {parts[1]!r}")
            if parts[2:] == ["lineItems"]:
                return self.gradebook_page("lineItems", book.class_line_items(c, base), ctx)
            if parts[2:] == ["results"]:
                return self.gradebook_page("results", book.results_of_class(c, base), ctx)
            if len(parts) == 5 and parts[2] == "lineItems" and parts[4] == "results":
                item = book.line_item_json(parts[3], base)
                if item is None or item["class"]["sourcedId"] != parts[1]:
                    return imsx(404, "unknownobject", f"No lineItem {parts[3]!r} in this class")
                return self.gradebook_page("results", book.results_of_line_item(parts[3]), ctx)
            if len(parts) == 5 and parts[2] == "students" and parts[4] == "results":
                rows = [
                    r
                    for r in book.results_of_class(c, base)
                    if r["student"]["sourcedId"] == parts[3]
                ]
                return self.gradebook_page("results", rows, ctx)
        return imsx(405 if method != "GET" else 404, "unsupportedoperation", "No such endpoint")

    def _one(
        self,
        method: str,
        key: str,
        sourced_id: str,
        req: Request,
        ctx: Ctx,
        handlers: tuple[Callable, Callable, Callable],
    ) -> Response:
        get, put, delete = handlers
        if method == "GET":
            found = get(sourced_id, ctx.base)
            if found is None:
                return imsx(404, "unknownobject", f"No {key} {sourced_id!r}")
            return json_response({key: found})
        if method == "PUT":
            try:
                body = orjson.loads(req.body())
            except orjson.JSONDecodeError:
                return imsx(400, "invaliddata", "The body is not JSON")
            stored, created = put(sourced_id, body, ctx.base)
            return json_response({key: stored}, 201 if created else 200)
        if method == "DELETE":
            delete(sourced_id)
            return Response(204, b"")
        return imsx(405, "unsupportedoperation", f"{method} is not supported here")

    def dict_page(self, key: str, items: list[dict], ctx: Ctx, query: Query) -> Response:
        """A page of records already held as dicts: filtered, sorted and projected here."""
        limit, offset = _paging(ctx.query)
        if limit is None:
            return imsx(400, "invaliddata", "limit and offset must be non-negative integers")
        items = query.select(items)
        size = min(limit, self.state.max_limit)
        chunk = [query.project(item) for item in items[offset : offset + size]]
        body = orjson.dumps({key: chunk})
        return Response(200, body, _paging_headers(self.state, ctx, offset, size, len(items)))

    def gradebook_page(self, kind: str, items: list[dict], ctx: Ctx) -> Response:
        return self.dict_page(kind, items, ctx, parse_query(ctx.query, kind))

    # --- controls ------------------------------------------------------------------------

    def control(self, req: Request, action: str) -> Response:
        state = self.state
        auth = req.header("Authorization")
        expected = f"Bearer {state.credentials.client_secret}"
        if not hmac.compare_digest(auth.encode(), expected.encode()):
            return json_response({"error": "control endpoints need the sandbox client secret"}, 401)
        if req.method != "POST":
            return json_response({"error": "POST JSON to control endpoints"}, 405)
        raw = req.body()
        try:
            body = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            return json_response({"error": "body is not JSON"}, 400)
        if not isinstance(body, dict):
            return json_response({"error": "body must be a JSON object"}, 400)
        try:
            return json_response(self._control(action, body))
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)

    def _control(self, action: str, body: dict) -> dict:
        state = self.state
        if action == "info":
            with state.lock:
                return {
                    **state.district.summary(),
                    "settings": state.settings(),
                    "faults": state.faults.describe(),
                    "faults_fired": list(state.faults.fired),
                    "tokens_issued": state.tokens_issued,
                }
        if action == "scenario":
            params = {k: v for k, v in body.items() if k != "name"}
            return {"changed": state.scenario(str(body.get("name")), **params)}
        if action == "mutate":
            if "fraction" in body:
                return {"changed": state.next_night(fraction=float(body["fraction"]))}
            return {"changed": state.mutate(**{k: int(v) for k, v in body.items()})}
        if action == "faults":
            rules = [FaultRule.from_json(r) for r in body.get("rules", [])]
            if body.get("replace", True):
                state.faults.set(rules)
            else:
                for rule in rules:
                    state.faults.add(rule)
            for name in ("max_limit", "token_ttl"):
                if name in body:
                    setattr(state, name, int(body[name]))
            for name in ("send_links", "send_total", "oauth1_enabled"):
                if name in body:
                    setattr(state, name, bool(body[name]))
            return {"faults": state.faults.describe(), "settings": state.settings()}
        if action == "faults/clear":
            state.faults.clear()
            state.max_limit, state.send_links, state.send_total = MAX_LIMIT, True, True
            return {"faults": []}
        if action == "grading-window":
            terms = body.get("terms")
            if terms is not None and not isinstance(terms, list):
                raise ValueError("terms must be a list of term sourcedIds or null (all)")
            state.gradebook.set_window(open_=bool(body.get("open", True)), terms=terms)
            return state.gradebook.windows()
        if action == "gradebook":
            return state.gradebook.snapshot()
        if action == "expire-tokens":
            state.expire_tokens()
            return {}
        if action == "reset":
            state.reset()
            return {"version": state.district.version}
        if action == "requests":
            return {"requests": [list(r) for r in state.requests]}
        raise ValueError(f"Unknown control action {action!r}")

    def _log(self, req: Request, path: str) -> None:
        self.state.requests.append((req.method, path, req.query_string))
        self.state.request_counts[path.split("/", 1)[0]] += 1


# --- helpers -------------------------------------------------------------------------------


def _raw_uri(req: Request) -> str:
    """The request URI as sent, for a server that hands over no raw URI."""
    return req.path + (f"?{req.query_string}" if req.query_string else "")


def _paging(query: dict) -> tuple[int | None, int]:
    try:
        limit = int(query.get("limit", DEFAULT_LIMIT))
        offset = int(query.get("offset", 0))
    except ValueError:
        return None, 0
    if limit < 1 or offset < 0:
        return None, 0
    return limit, offset


def _paging_headers(
    state: OneRosterState, ctx: Ctx, offset: int, size: int, total: int
) -> list[tuple[str, str]]:
    headers = []
    fault = ctx.fault
    if state.send_total:
        drift = fault.delta if fault is not None and fault.kind == "total_drift" else 0
        headers.append(("X-Total-Count", str(total + drift)))
    if state.send_links:

        def link(at: int, rel: str) -> str:
            params = {**ctx.query, "limit": size, "offset": at}
            query = urlencode(params, quote_via=quote, safe="")
            return f'<{ctx.base}/{ctx.rest}?{query}>; rel="{rel}"'

        links = [link(0, "first")]
        if offset + size < total:
            links.append(link(offset + size, "next"))
        if offset > 0:
            links.append(link(max(0, offset - size), "prev"))
        links.append(link(max(0, (total - 1) // size * size), "last"))
        headers.append(("Link", ", ".join(links)))
    return headers


def _fault_status(fault: FaultRule) -> Response:
    headers = []
    if fault.retry_after is not None:
        headers.append(("Retry-After", f"{fault.retry_after:g}"))
    return imsx(
        fault.status,
        busy_code_minor(fault.status),
        f"Injected fault ({fault.status})",
        headers=headers,
    )


def busy_code_minor(status: int) -> str:
    """The 1.1 ``imsx_codeMinorFieldValue`` of a refusal: 1.1 has no ``server_busy`` or
    ``internal_server_error`` (1.2 added them), so a 429 or 5xx says the target system
    could not serve the read, ``targetreadfailure``, the closest 1.1 term."""
    if status == 429 or status >= 500:
        return "targetreadfailure"
    return "invaliddata"


def _apply_body_fault(response: Response, fault: FaultRule | None) -> Response:
    if fault is None or response.status >= 300 or not isinstance(response.body, bytes):
        return response
    body = response.body
    if fault.kind == "malformed":
        response.body = body[: len(body) // 2] + b"<<not json>>"
    elif fault.kind == "wrong_envelope":
        response.body = b'{"data":' + body + b"}"
    elif fault.kind == "truncate":
        response.body = _cut(body)
        response.headers.append(("Content-Length", str(len(body))))
    elif fault.kind == "truncate_unframed":
        response.body = body[: len(body) // 2]
        response.framed = False
    elif fault.kind == "field_value":
        response.body = _set_field(body, fault.field, fault.value)
    return response


def _set_field(body: bytes, name: str, value: object) -> bytes:
    """The page with ``name`` set to ``value`` in each record of its collection."""
    page = orjson.loads(body)
    for records in page.values():
        if isinstance(records, list):
            for record in records:
                record[name] = value
    return orjson.dumps(page)


def _cut(body: bytes) -> Iterable[bytes]:
    """Yield half the body, then fail: the server drops the connection mid-body."""
    yield body[: len(body) // 2]
    raise ConnectionAbortedError("injected truncation")


def create_oneroster_app(state: OneRosterState) -> OneRosterApp:
    """The WSGI callable for one simulated IC."""
    return OneRosterApp(state)
