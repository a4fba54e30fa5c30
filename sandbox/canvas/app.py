"""``create_canvas_app``: the simulated Canvas as a plain WSGI application.

Serves the ``/api/v1`` endpoints ``CanvasClient`` uses, with Canvas's behaviour where it
matters to a client: bearer tokens (401 with ``WWW-Authenticate`` for a bad token, 401
without it for a missing permission), ``Link`` pagination (``per_page`` default 10, cap
100), JSON-API ``meta.pagination`` for grading periods, SIS ids in paths
(``sis_course_id:…``), a leaky-bucket throttle per token answering 403 "Rate Limit
Exceeded" with ``X-Request-Cost`` / ``X-Rate-Limit-Remaining`` headers, and SIS imports run
in a background worker.

Controls for tests and the demo live under ``/_sandbox/canvas/`` (POST JSON, bearer = the
Canvas token): ``teach``, ``scores``, ``previous-sis``, ``fail-next-import``, ``throttle``,
``imports`` (pause/resume), ``read-back`` and ``summary`` (GET).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode

import orjson

from sandbox.canvas import coursework
from sandbox.canvas.imports import NOT_COMPLETED, iso
from sandbox.canvas.state import (
    ENROLLMENT_STATE_CODES,
    ENROLLMENT_STATES,
    OBSERVER,
    STUDENT,
    TYPE_BY_NAME,
    TYPE_NAMES,
    Course,
    Section,
    User,
    enrollment_id,
)
from sandbox.lti.routes import lti_routes_register

if TYPE_CHECKING:
    from sandbox.canvas.state import CanvasState

THROTTLED_BODY = b"403 Forbidden (Rate Limit Exceeded)\n"
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
#: An id in a path: a number, ``self``, or ``sis_…_id:value`` (the value may hold a "/"
#: when the server already decoded ``%2F``, hence the lazy match up to the known suffix).
ID = r"(?:\d+|self|default|sis_[a-z_]+:.+?)"


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] | None = None


class HttpError(Exception):
    def __init__(self, status: int, message: str, *, headers=None, status_word=None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.status_word = status_word


def _json(payload: Any, status: int = 200, headers=None) -> Response:
    return Response(status, orjson.dumps(payload), headers=headers)


class Request:
    """What a handler needs from the WSGI environ."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.method = environ["REQUEST_METHOD"].upper()
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw:
            self.path = raw.split("?", 1)[0]
        else:
            # wsgiref decodes %2F in PATH_INFO; re-quote so ids decode exactly once later.
            decoded = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
            self.path = quote(decoded, safe="/:")
        self.query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        self.base_url = f"{scheme}://{host}"
        self._body: bytes | None = None
        self.token: str | None = None
        self.permissions: frozenset[str] = frozenset()
        self.user_id = 0

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def args(self, name: str) -> list[str]:
        return self.query.get(f"{name}[]", []) + self.query.get(name, [])

    def flag(self, name: str) -> bool | None:
        value = self.arg(name)
        if value is None:
            return None
        return value.strip().lower() in ("1", "true", "yes", "on")

    def body(self) -> bytes:
        if self._body is None:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
            self._body = self.environ["wsgi.input"].read(length) if length else b""
        return self._body

    def json(self) -> dict[str, Any]:
        raw = self.body()
        if not raw:
            return {}
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise HttpError(400, "The body is not valid JSON") from exc
        if not isinstance(payload, dict):
            raise HttpError(400, "The body must be a JSON object")
        return payload

    def content_type(self) -> str:
        return self.environ.get("CONTENT_TYPE", "")

    def form(self) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
        """Fields and files of a form-encoded or multipart body, plus query parameters."""
        fields = {key: values[0] for key, values in self.query.items() if values}
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
            fields.update({key: values[0] for key, values in parsed.items() if values})
        return fields, files


def parse_multipart(
    body: bytes, boundary: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
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


# --- pagination ----------------------------------------------------------------------------


def _page_params(req: Request) -> tuple[int, int]:
    try:
        per_page = int(req.arg("per_page") or DEFAULT_PER_PAGE)
        page = int(req.arg("page") or 1)
    except ValueError as exc:
        raise HttpError(400, "per_page and page must be integers") from exc
    return max(1, min(MAX_PER_PAGE, per_page)), max(1, page)


def _page_url(req: Request, page: int, per_page: int) -> str:
    query = [(k, v) for k, values in req.query.items() for v in values if k not in ("page",)]
    query = [(k, v) for k, v in query if k != "per_page"]
    query += [("page", str(page)), ("per_page", str(per_page))]
    return f"{req.base_url}{req.path}?{urlencode(query)}"


def paginate(
    req: Request, items: list, *, count_known: bool = True
) -> tuple[list, list[tuple[str, str]], dict[str, Any]]:
    """A page of ``items``, its ``Link`` header and the JSON-API pagination block."""
    per_page, page = _page_params(req)
    start = (page - 1) * per_page
    chunk = items[start : start + per_page]
    last = max(1, -(-len(items) // per_page))
    links = [("current", _page_url(req, page, per_page))]
    meta: dict[str, Any] = {"per_page": per_page, "page": page}
    meta["current"] = links[0][1]
    if start + per_page < len(items):
        links.append(("next", _page_url(req, page + 1, per_page)))
        meta["next"] = links[-1][1]
    if page > 1:
        links.append(("prev", _page_url(req, page - 1, per_page)))
        meta["prev"] = links[-1][1]
    links.append(("first", _page_url(req, 1, per_page)))
    meta["first"] = links[-1][1]
    if count_known:
        links.append(("last", _page_url(req, last, per_page)))
        meta["last"] = links[-1][1]
        meta["count"] = len(items)
    header = ",".join(f'<{url}>; rel="{rel}"' for rel, url in links)
    return chunk, [("Link", header)], meta


def _paged(req: Request, items: list, render: Callable[[Any], Any], *, key=None, counts=True):
    chunk, headers, _ = paginate(req, items, count_known=counts)
    body = [render(item) for item in chunk]
    return _json({key: body} if key else body, headers=headers)


# --- JSON renderers ------------------------------------------------------------------------


def _course_state(course: Course) -> str:
    return (
        "unpublished" if course.workflow_state in ("created", "claimed") else course.workflow_state
    )


def course_json(state: CanvasState, course: Course) -> dict[str, Any]:
    return {
        "id": course.id,
        "name": course.name,
        "course_code": course.course_code,
        "workflow_state": _course_state(course),
        "account_id": course.account_id,
        "root_account_id": state.root.id,
        "enrollment_term_id": course.term_id,
        "sis_course_id": course.sis_id,
        "integration_id": course.integration_id,
        "sis_import_id": course.sis_import_id,
        "start_at": course.start_at,
        "end_at": course.end_at,
        "restrict_enrollments_to_course_dates": course.restrict_dates,
        "uuid": f"sandbox-course-{course.id}",
    }


def section_json(state: CanvasState, section: Section) -> dict[str, Any]:
    course = state.courses[section.course_id]
    return {
        "id": section.id,
        "name": section.name,
        "course_id": section.course_id,
        "sis_section_id": section.sis_id,
        "sis_course_id": course.sis_id,
        "integration_id": section.integration_id,
        "nonxlist_course_id": section.nonxlist_course_id,
        "start_at": section.start_at,
        "end_at": section.end_at,
        "restrict_enrollments_to_section_dates": bool(section.start_at or section.end_at),
        "sis_import_id": section.sis_import_id,
    }


def user_json(user: User, *, email: bool = False) -> dict[str, Any]:
    body = {
        "id": user.id,
        "name": user.name,
        "sortable_name": user.sortable_name or user.name,
        "short_name": user.short_name or user.name,
        "sis_user_id": user.sis_id,
        "integration_id": user.integration_id,
        "sis_import_id": user.sis_import_id,
        "login_id": user.login_id,
    }
    if email:
        body["email"] = user.email
    return body


def account_json(state: CanvasState, account_id: int) -> dict[str, Any]:
    account = state.accounts[account_id]
    root = account is state.root
    return {
        "id": account.id,
        "name": account.name,
        "uuid": f"sandbox-account-{account.id}",
        "parent_account_id": account.parent_id,
        "root_account_id": None if root else state.root.id,
        "workflow_state": account.workflow_state,
        "sis_account_id": account.sis_id,
        "integration_id": account.integration_id,
        "sis_import_id": account.sis_import_id,
        "default_time_zone": "America/Chicago",
    }


def term_json(state: CanvasState, term_id: int) -> dict[str, Any]:
    term = state.terms[term_id]
    return {
        "id": term.id,
        "name": term.name,
        "sis_term_id": term.sis_id,
        "sis_import_id": term.sis_import_id,
        "start_at": term.start_at,
        "end_at": term.end_at,
        "workflow_state": term.workflow_state,
        "integration_id": term.integration_id,
        "overrides": {
            kind: {"start_at": start, "end_at": end}
            for kind, (start, end) in (term.overrides or {}).items()
        },
    }


def assignment_json(
    state: CanvasState, assignment: Any, *, include: set[str], base_url: str
) -> dict[str, Any]:
    kind = assignment.kind
    submission_types = {
        "classic_quiz": ["online_quiz"],
        "new_quiz": ["external_tool"],
        "discussion": ["discussion_topic"],
    }.get(kind, ["online_upload", "online_text_entry"])
    body: dict[str, Any] = {
        "id": assignment.id,
        "name": assignment.name,
        "course_id": assignment.course_id,
        "assignment_group_id": assignment.assignment_group_id,
        "position": assignment.position,
        "points_possible": assignment.points_possible,
        "grading_type": assignment.grading_type,
        "due_at": iso(assignment.due_at),
        "unlock_at": None,
        "lock_at": None,
        "published": assignment.published,
        "workflow_state": "published" if assignment.published else "unpublished",
        "post_to_sis": assignment.post_to_sis,
        "submission_types": submission_types,
        "omit_from_final_grade": assignment.omit_from_final_grade,
        "only_visible_to_overrides": False,
        "has_overrides": bool(assignment.section_due_dates),
        "is_quiz_assignment": kind == "classic_quiz",
        "is_quiz_lti_assignment": kind == "new_quiz",
        "quiz_id": assignment.quiz_id,
        "created_at": iso(assignment.created_at),
        "updated_at": iso(assignment.updated_at),
        "html_url": f"{base_url}/courses/{assignment.course_id}/assignments/{assignment.id}",
        "sis_assignment_id": None,
        "integration_id": None,
    }
    if assignment.discussion_topic_id:
        body["discussion_topic"] = {
            "id": assignment.discussion_topic_id,
            "title": assignment.name,
            "assignment_id": assignment.id,
        }
    overrides = [
        {
            "id": assignment.id * 100 + index,
            "assignment_id": assignment.id,
            "title": state.sections[section_id].name,
            "course_section_id": section_id,
            "due_at": iso(due),
            "unlock_at": None,
            "lock_at": None,
        }
        for index, (section_id, due) in enumerate(sorted(assignment.section_due_dates.items()))
    ]
    if "overrides" in include:
        body["overrides"] = overrides
    if "all_dates" in include:
        dates = [
            {"id": o["id"], "title": o["title"], "due_at": o["due_at"], "set_type": "CourseSection"}
            for o in overrides
        ]
        dates.append({"base": True, "title": "Everyone else", "due_at": iso(assignment.due_at)})
        body["all_dates"] = dates
    return body


def submission_json(state: CanvasState, submission: Any, *, include: set[str]) -> dict[str, Any]:
    assignment = state.assignments[submission.assignment_id]
    late = submission.late_policy_status == "late"
    missing = submission.late_policy_status == "missing"
    body: dict[str, Any] = {
        "id": submission.id,
        "assignment_id": submission.assignment_id,
        "user_id": submission.user_id,
        "score": submission.score,
        "grade": None if submission.score is None else _number(submission.score),
        "entered_score": submission.score,
        "excused": submission.excused,
        "late": late,
        "missing": missing,
        "late_policy_status": submission.late_policy_status,
        "seconds_late": submission.seconds_late,
        "points_deducted": None,
        "workflow_state": submission.workflow_state,
        "submitted_at": iso(submission.submitted_at),
        "graded_at": iso(submission.graded_at),
        "posted_at": iso(submission.posted_at),
        "attempt": 1 if submission.submitted_at else None,
        "grade_matches_current_submission": True,
        "cached_due_date": iso(assignment.due_at),
    }
    if submission.excused:
        body["grade"] = "EX"
    if "visibility" in include:
        body["assignment_visible"] = True
    if "user" in include:
        body["user"] = user_json(state.users[submission.user_id])
    if "assignment" in include:
        body["assignment"] = {"id": assignment.id, "name": assignment.name}
    return body


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def period_json(period: Any, now: dt.datetime, is_last: bool) -> dict[str, Any]:
    return {
        "id": period.id,
        "title": period.title,
        "start_date": iso(period.start_date),
        "end_date": iso(period.end_date),
        "close_date": iso(period.close_date),
        "weight": period.weight,
        "is_closed": period.close_date < now,
        "is_last": is_last,
    }


# --- the application -----------------------------------------------------------------------


Route = tuple[str, re.Pattern[str], Callable[..., Response], str | None]


class CanvasApp:
    """The WSGI callable; one instance per ``CanvasState``."""

    def __init__(self, state: CanvasState) -> None:
        self.state = state
        self.routes: list[Route] = []
        self._snapshots: dict[tuple, tuple[int, list]] = {}
        api = "/api/v1"
        add = self._route
        add("GET", rf"{api}/users/(?P<user>{ID})", self.get_user)
        add("GET", rf"{api}/accounts/(?P<account>{ID})", self.get_account)
        add("GET", rf"{api}/accounts/(?P<account>{ID})/sub_accounts", self.list_sub_accounts)
        add("GET", rf"{api}/accounts/(?P<account>{ID})/terms", self.list_terms)
        add("GET", rf"{api}/accounts/(?P<account>{ID})/users", self.list_account_users)
        add("GET", rf"{api}/accounts/(?P<account>{ID})/courses", self.list_account_courses)
        sis = rf"{api}/accounts/(?P<account>{ID})/sis_imports"
        add("GET", sis, self.list_imports, "sis_read")
        add("POST", sis, self.create_import, "import_sis")
        add("GET", rf"{sis}/importing", self.list_importing, "sis_read")
        add("PUT", rf"{sis}/abort_all_pending", self.abort_all_pending, "sis_read")
        add("GET", rf"{sis}/(?P<import_id>\d+)", self.get_import, "sis_read")
        add("GET", rf"{sis}/(?P<import_id>\d+)/errors", self.list_import_errors, "sis_read")
        add("PUT", rf"{sis}/(?P<import_id>\d+)/abort", self.abort_import, "sis_read")
        add(
            "GET",
            rf"{api}/accounts/(?P<account>{ID})/sis_import_errors",
            self.list_all_import_errors,
            "sis_read",
        )
        add("GET", rf"{api}/courses/(?P<course>{ID})", self.get_course)
        add("PUT", rf"{api}/courses/(?P<course>{ID})", self.update_course)
        add("GET", rf"{api}/courses/(?P<course>{ID})/sections", self.list_sections)
        add("GET", rf"{api}/sections/(?P<section>{ID})", self.get_section)
        add("GET", rf"{api}/courses/(?P<course>{ID})/enrollments", self.list_course_enrollments)
        add("GET", rf"{api}/sections/(?P<section>{ID})/enrollments", self.list_section_enrollments)
        add("GET", rf"{api}/courses/(?P<course>{ID})/assignments", self.list_assignments)
        add(
            "GET",
            rf"{api}/courses/(?P<course>{ID})/assignments/(?P<assignment>\d+)",
            self.get_assignment,
        )
        add("GET", rf"{api}/courses/(?P<course>{ID})/assignment_groups", self.list_groups)
        add("GET", rf"{api}/courses/(?P<course>{ID})/grading_periods", self.list_periods)
        add(
            "GET",
            rf"{api}/courses/(?P<course>{ID})/students/submissions",
            self.list_submissions,
            "grades",
        )
        add(
            "GET", r"/files/sis_import_errors/(?P<import_id>\d+)\.csv", self.errors_file, "sis_read"
        )
        control = "/_sandbox/canvas"
        add("POST", rf"{control}/teach", self.control_teach, "control")
        add("POST", rf"{control}/scores", self.control_scores, "control")
        add("POST", rf"{control}/previous-sis", self.control_previous_sis, "control")
        add("POST", rf"{control}/fail-next-import", self.control_fail_next, "control")
        add("POST", rf"{control}/throttle", self.control_throttle, "control")
        add("POST", rf"{control}/imports", self.control_imports, "control")
        add("POST", rf"{control}/read-back", self.control_read_back, "control")
        add("GET", rf"{control}/summary", self.control_summary, "control")

    def _route(self, method: str, pattern: str, handler, permission: str | None = None) -> None:
        self.routes.append((method, re.compile(pattern + "$"), handler, permission))

    # --- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response) -> Iterable[bytes]:
        req = Request(environ)
        response = self.dispatch(req)
        headers = [("Content-Type", response.content_type)]
        headers += response.headers or []
        headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {_reason(response.status)}", headers)
        return [response.body]

    def dispatch(self, req: Request) -> Response:
        matched_path = False
        for method, pattern, handler, permission in self.routes:
            match = pattern.match(req.path)
            if not match:
                continue
            matched_path = True
            if method != req.method:
                continue
            return self._handle(req, handler, permission, match.groupdict())
        if matched_path:
            return _json({"errors": [{"message": "Method not allowed"}]}, 405)
        return _json({"errors": [{"message": "The specified resource does not exist."}]}, 404)

    def _handle(self, req: Request, handler, permission: str | None, params: dict) -> Response:
        state = self.state
        try:
            self._authenticate(req)
            self._authorize(req, permission)
            if permission == "control":
                return handler(req, **params)
        except HttpError as exc:
            return self._error(exc)
        bucket = state.bucket(req.token or "")
        if state.take_forced_throttle(req.method) or not bucket.reserve():
            return Response(
                403,
                THROTTLED_BODY,
                "text/plain; charset=utf-8",
                [("X-Rate-Limit-Remaining", "0.0"), ("X-Request-Cost", "0")],
            )
        started = time.thread_time()
        try:
            response = handler(req, **params)
        except HttpError as exc:
            response = self._error(exc)
        finally:
            cost = time.thread_time() - started
            bucket.release(cost)
        response.headers = [
            *(response.headers or []),
            ("X-Request-Cost", f"{cost:.6f}"),
            ("X-Rate-Limit-Remaining", f"{bucket.remaining:.1f}"),
        ]
        return response

    def _error(self, exc: HttpError) -> Response:
        if exc.status == 401 and exc.status_word == "unauthenticated":
            body = {"status": "unauthenticated", "errors": [{"message": exc.message}]}
        elif exc.status == 401:
            body = {"status": "unauthorized", "errors": [{"message": exc.message}]}
        else:
            body = {"errors": [{"message": exc.message}]}
        return _json(body, exc.status, headers=exc.headers)

    def _authenticate(self, req: Request) -> None:
        header = req.environ.get("HTTP_AUTHORIZATION", "")
        token = (
            header[7:].strip() if header.lower().startswith("bearer ") else req.arg("access_token")
        )
        challenge = [("WWW-Authenticate", 'Bearer realm="canvas-lms"')]
        if not token:
            raise HttpError(
                401, "user authorization required", headers=challenge, status_word="unauthenticated"
            )
        info = self.state.tokens.get(token)
        if info is None:
            raise HttpError(401, "Invalid access token.", headers=challenge)
        req.token = token
        req.permissions = info.permissions
        req.user_id = info.user_id

    def _authorize(self, req: Request, permission: str | None) -> None:
        if permission == "control":
            if req.token != self.state.token:
                raise HttpError(401, "Controls need the sandbox's Canvas token")
            return
        allowed = req.permissions
        needed = {
            None: {"read_roster", "read_sis", "manage_sis"},
            "sis_read": {"import_sis", "manage_sis"},
            "import_sis": {"import_sis"},
            "grades": {"view_all_grades", "manage_grades"},
        }[permission]
        if not allowed & needed:
            raise HttpError(401, "user not authorized to perform that action")
        if permission in ("sis_read", "import_sis") and not self.state.sis_imports_enabled:
            raise HttpError(403, "SIS imports are not enabled for this account")

    # --- lookups -----------------------------------------------------------------------

    def _account(self, ref: str):
        account = self.state.account_for(ref)
        if account is None:
            raise HttpError(404, "The specified resource does not exist.")
        return account

    def _root_account(self, ref: str):
        account = self._account(ref)
        if account is not self.state.root:
            raise HttpError(400, "SIS imports can only be executed on root accounts")
        return account

    def _course(self, ref: str) -> Course:
        course = self.state.course_for(ref)
        if course is None or course.workflow_state == "deleted":
            raise HttpError(404, "The specified resource does not exist.")
        return course

    def _section(self, ref: str) -> Section:
        section = self.state.section_for(ref)
        if section is None or section.workflow_state == "deleted":
            raise HttpError(404, "The specified resource does not exist.")
        return section

    # --- users and accounts ------------------------------------------------------------

    def get_user(self, req: Request, user: str) -> Response:
        with self.state.lock:
            found = self.state.user_for(user, req.user_id)
            if found is None:
                raise HttpError(404, "The specified resource does not exist.")
            return _json(user_json(found, email=True))

    def get_account(self, req: Request, account: str) -> Response:
        with self.state.lock:
            return _json(account_json(self.state, self._account(account).id))

    def list_sub_accounts(self, req: Request, account: str) -> Response:
        state = self.state
        with state.lock:
            parent = self._account(account)
            if req.flag("recursive"):
                ids = sorted(state.account_subtree(parent) - {parent.id})
            else:
                ids = sorted(a.id for a in state.accounts.values() if a.parent_id == parent.id)
            return _paged(req, ids, lambda account_id: account_json(state, account_id))

    def list_terms(self, req: Request, account: str) -> Response:
        state = self.state
        with state.lock:
            self._root_account(account)
            ids = sorted(t.id for t in state.terms.values() if t.workflow_state != "deleted")
            return _paged(
                req, ids, lambda term_id: term_json(state, term_id), key="enrollment_terms"
            )

    def _snapshot(self, req: Request, build: Callable[[], list]) -> list:
        """The filtered list behind a paged listing, built once per state version.

        Paging 300 k users 100 at a time would otherwise filter the whole table for every
        one of 3,000 pages.
        """
        params = tuple(sorted((k, tuple(v)) for k, v in req.query.items() if k != "page"))
        key = (req.path, params)
        version = self.state.version
        cached = self._snapshots.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        items = build()
        if len(self._snapshots) > 64:
            self._snapshots.clear()
        self._snapshots[key] = (version, items)
        return items

    def list_account_users(self, req: Request, account: str) -> Response:
        state = self.state
        with state.lock:
            found = self._account(account)
            users = self._snapshot(req, lambda: self._account_users(req, found))
            email = "email" in req.args("include")
            return _paged(req, users, lambda u: user_json(u, email=email))

    def _account_users(self, req: Request, found) -> list[User]:
        state = self.state
        users = [u for u in state.users.values() if u.login_state != "deleted" and u.sis_id]
        if found is not state.root:
            subtree = state.account_subtree(found)
            members = set()
            for course in state.courses.values():
                if course.account_id in subtree:
                    for _section, type_code, key, _code in state.course_enrollments(course):
                        members.add(key[0] if type_code == OBSERVER else key)
            users = [u for u in users if u.id in members]
        search = (req.arg("search_term") or "").lower()
        if search:
            users = [
                u
                for u in users
                if search in u.name.lower()
                or search in u.login_id.lower()
                or search in (u.sis_id or "").lower()
                or search in (u.email or "").lower()
            ]
        return users

    def list_account_courses(self, req: Request, account: str) -> Response:
        state = self.state
        with state.lock:
            found = self._account(account)
            courses = self._snapshot(req, lambda: self._account_courses(req, found))
            return _paged(req, courses, lambda c: course_json(state, c))

    def _account_courses(self, req: Request, found) -> list[Course]:
        state = self.state
        subtree = state.account_subtree(found)
        wanted = set(req.args("state"))
        courses = []
        for course in state.courses.values():
            if course.account_id not in subtree:
                continue
            shown = _course_state(course)
            if wanted and "all" not in wanted and shown not in wanted:
                continue
            if not wanted and shown == "deleted":
                continue
            courses.append(course)
        term = req.arg("enrollment_term_id")
        if term:
            courses = [c for c in courses if str(c.term_id) == term]
        return courses

    # --- SIS imports -------------------------------------------------------------------

    def list_imports(self, req: Request, account: str) -> Response:
        self._root_account(account)
        records = self.state.runner.newest_first()
        states = set(req.args("workflow_state"))
        if states and "all" not in states:
            records = [r for r in records if r.workflow_state in states]
        return _paged(
            req, records, lambda r: r.as_json(req.base_url), key="sis_imports", counts=False
        )

    def list_importing(self, req: Request, account: str) -> Response:
        self._root_account(account)
        records = [
            r.as_json(req.base_url)
            for r in self.state.runner.newest_first()
            if r.workflow_state in ("importing", "cleanup_batch")
        ]
        return _json({"sis_imports": records})

    def create_import(self, req: Request, account: str) -> Response:
        self._root_account(account)
        fields, files = req.form()
        import_type = fields.get("import_type") or "instructure_csv"
        if import_type != "instructure_csv":
            raise HttpError(400, "Unknown import type")
        if _truthy(fields.get("batch_mode")) or _truthy(fields.get("multi_term_batch_mode")):
            raise HttpError(400, "batch_mode is not simulated by the sandbox; use diffing")
        drop = fields.get("diffing_drop_status")
        if drop and drop not in ("deleted", "completed", "inactive", "deleted_last_completed"):
            raise HttpError(400, "Invalid diffing_drop_status")
        remove = fields.get("diffing_user_remove_status")
        if remove and remove not in ("deleted", "suspended"):
            raise HttpError(400, "Invalid diffing_user_remove_status")
        identifier = fields.get("diffing_data_set_identifier")
        if identifier and len(identifier.encode()) > 128:
            raise HttpError(400, "diffing_data_set_identifier is too long")
        threshold = fields.get("change_threshold")
        if threshold and not (threshold.isdigit() and 1 <= int(threshold) <= 100):
            raise HttpError(400, "change_threshold must be between 1 and 100")
        ctype = req.content_type()
        if ctype.startswith("multipart/form-data"):
            if "attachment" not in files:
                raise HttpError(400, "Missing attachment")
            file_name, data = files["attachment"]
        else:
            data = req.body()
            file_name = "sis_upload"
            if not data:
                raise HttpError(400, "Missing attachment")
        extension = (fields.get("extension") or "").lower()
        if not extension:
            extension = "csv" if ctype.startswith("text/csv") else "zip"
        if extension not in ("zip", "csv"):
            raise HttpError(400, "Unknown extension")
        record = self.state.runner.create(
            data=data, form=fields, extension=extension, file_name=file_name, user_id=req.user_id
        )
        return _json(record.as_json(req.base_url))

    def _record(self, import_id: str):
        record = self.state.runner.get(int(import_id))
        if record is None:
            raise HttpError(404, "The specified resource does not exist.")
        return record

    def get_import(self, req: Request, account: str, import_id: str) -> Response:
        self._root_account(account)
        return _json(self._record(import_id).as_json(req.base_url))

    def list_import_errors(self, req: Request, account: str, import_id: str) -> Response:
        self._root_account(account)
        record = self._record(import_id)
        messages = list(record.errors)
        if req.flag("failure"):
            messages = [m for m in messages if m.failure]
        return _paged(req, messages, record.error_json, key="sis_import_errors")

    def list_all_import_errors(self, req: Request, account: str) -> Response:
        self._root_account(account)
        pairs = [
            (record, message)
            for record in self.state.runner.newest_first()
            for message in record.errors
        ]
        return _paged(req, pairs, lambda p: p[0].error_json(p[1]), key="sis_import_errors")

    def abort_import(self, req: Request, account: str, import_id: str) -> Response:
        self._root_account(account)
        record = self.state.runner.abort(int(import_id))
        if record is None:
            raise HttpError(404, "The specified resource does not exist.")
        return _json(record.as_json(req.base_url))

    def abort_all_pending(self, req: Request, account: str) -> Response:
        self._root_account(account)
        self.state.runner.abort_all_pending()
        return _json({"aborted": True})

    def errors_file(self, req: Request, import_id: str) -> Response:
        record = self._record(import_id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["sis_import_id", "file", "message", "row"])
        for message in record.errors:
            writer.writerow([record.id, message.file or "", message.message, message.row or ""])
        return Response(200, out.getvalue().encode(), "text/csv; charset=utf-8")

    # --- courses, sections, enrollments --------------------------------------------------

    def get_course(self, req: Request, course: str) -> Response:
        with self.state.lock:
            return _json(course_json(self.state, self._course(course)))

    def update_course(self, req: Request, course: str) -> Response:
        """A UI-style edit: the changed fields become sticky against later SIS imports."""
        state = self.state
        fields, _ = req.form()
        payload = req.json() if req.content_type().startswith("application/json") else {}
        changes = dict(payload.get("course") or {})
        for key, value in fields.items():
            match = re.fullmatch(r"course\[(\w+)\]", key)
            if match:
                changes[match.group(1)] = value
        with state.lock:
            found = self._course(course)
            stuck = set(found.stuck or ())
            if "name" in changes:
                found.name = str(changes["name"])
                stuck.add("name")
            if "course_code" in changes:
                found.course_code = str(changes["course_code"])
                stuck.add("course_code")
            event = changes.get("event")
            if event == "offer":
                found.workflow_state = "available"
                stuck.add("workflow_state")
            elif event == "claim":
                found.workflow_state = "claimed"
                stuck.add("workflow_state")
            found.stuck = stuck or None
            state.touch()
            return _json(course_json(state, found))

    def list_sections(self, req: Request, course: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            sections = [
                state.sections[sid]
                for sid in found.section_ids
                if state.sections[sid].course_id == found.id
                and state.sections[sid].workflow_state != "deleted"
            ]
            return _paged(req, sections, lambda s: section_json(state, s))

    def get_section(self, req: Request, section: str) -> Response:
        with self.state.lock:
            return _json(section_json(self.state, self._section(section)))

    def list_course_enrollments(self, req: Request, course: str) -> Response:
        with self.state.lock:
            found = self._course(course)
            sections = [
                self.state.sections[sid]
                for sid in found.section_ids
                if self.state.sections[sid].course_id == found.id
            ]
            return self._enrollments(req, found, sections)

    def list_section_enrollments(self, req: Request, section: str) -> Response:
        with self.state.lock:
            found = self._section(section)
            return self._enrollments(req, self.state.courses[found.course_id], [found])

    def _enrollments(self, req: Request, course: Course, sections: list[Section]) -> Response:
        state = self.state
        types = {TYPE_BY_NAME[t] for t in req.args("type") if t in TYPE_BY_NAME}
        roles = {r for r in req.args("role") if r in TYPE_BY_NAME}
        types |= {TYPE_BY_NAME[r] for r in roles}
        wanted_states = {s for s in req.args("state") if s in ENROLLMENT_STATE_CODES}
        codes = {ENROLLMENT_STATE_CODES[s] for s in wanted_states} or {
            ENROLLMENT_STATE_CODES["active"],
            ENROLLMENT_STATE_CODES["inactive"],
        }
        period = None
        period_arg = req.arg("grading_period_id")
        if period_arg:
            periods = {str(p.id): p for p in coursework.course_periods(state, course)}
            period = periods.get(period_arg)
            if period is None:
                raise HttpError(400, "invalid grading_period_id")
        sis_users = set(req.args("sis_user_id"))
        user_filter = req.arg("user_id")
        rows = []
        for section in sections:
            if section.workflow_state == "deleted":
                continue
            for type_code in sorted(section.enrollments):
                if types and type_code not in types:
                    continue
                for key, state_code in section.enrollments[type_code].items():
                    if state_code not in codes:
                        continue
                    user_id = key[0] if type_code == OBSERVER else key
                    user = state.users[user_id]
                    if sis_users and user.sis_id not in sis_users:
                        continue
                    if user_filter and user_filter not in (
                        str(user.id),
                        f"sis_user_id:{user.sis_id}",
                    ):
                        continue
                    rows.append((section, type_code, key, state_code))
        periods = coursework.course_periods(state, course)

        def render(row: tuple) -> dict[str, Any]:
            section, type_code, key, state_code = row
            user_id = key[0] if type_code == OBSERVER else key
            user = state.users[user_id]
            body = {
                "id": enrollment_id(section.id, type_code, user_id),
                "course_id": course.id,
                "course_section_id": section.id,
                "user_id": user_id,
                "associated_user_id": key[1] if type_code == OBSERVER else None,
                "type": TYPE_NAMES[type_code],
                "role": TYPE_NAMES[type_code],
                "role_id": type_code + 1,
                "enrollment_state": ENROLLMENT_STATES[state_code],
                "limit_privileges_to_course_section": False,
                "sis_course_id": course.sis_id,
                "sis_section_id": section.sis_id,
                "sis_user_id": user.sis_id,
                "course_integration_id": course.integration_id,
                "section_integration_id": section.integration_id,
                "root_account_id": state.root.id,
                "user": {
                    "id": user.id,
                    "name": user.name,
                    "sortable_name": user.sortable_name or user.name,
                    "short_name": user.short_name or user.name,
                    "sis_user_id": user.sis_id,
                    "login_id": user.login_id,
                },
            }
            if type_code == STUDENT:
                body["grades"] = coursework.course_grades(
                    state, course, user_id, section.id, period
                )
                body["has_grading_periods"] = bool(periods)
                body["totals_for_all_grading_periods_option"] = True
                current = _current_period(periods, state.now())
                body["current_grading_period_id"] = current.id if current else None
                body["current_grading_period_title"] = current.title if current else None
            return body

        return _paged(req, rows, render)

    # --- coursework reads ----------------------------------------------------------------

    def list_assignments(self, req: Request, course: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            assignments = [state.assignments[a] for a in state.course_assignments.get(found.id, [])]
            post_to_sis = req.flag("post_to_sis")
            if post_to_sis is not None:
                assignments = [a for a in assignments if a.post_to_sis == post_to_sis]
            ids = req.args("assignment_ids")
            if len(ids) > 100:
                raise HttpError(400, "Request contains too many assignment_ids.  Limit 100")
            if ids:
                assignments = [a for a in assignments if str(a.id) in set(ids)]
            include = set(req.args("include"))
            return _paged(
                req,
                assignments,
                lambda a: assignment_json(state, a, include=include, base_url=req.base_url),
            )

    def get_assignment(self, req: Request, course: str, assignment: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            item = state.assignments.get(int(assignment))
            if item is None or item.course_id != found.id:
                raise HttpError(404, "The specified resource does not exist.")
            include = set(req.args("include"))
            return _json(assignment_json(state, item, include=include, base_url=req.base_url))

    def list_groups(self, req: Request, course: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            groups = state.assignment_groups.get(found.id, [])
            return _paged(
                req,
                groups,
                lambda g: {
                    "id": g.id,
                    "name": g.name,
                    "position": g.position,
                    "group_weight": g.group_weight,
                    "sis_source_id": None,
                    "integration_data": {},
                    "rules": {},
                },
            )

    def list_periods(self, req: Request, course: str) -> Response:
        """JSON-API paging in ``meta.pagination`` (no Link header), as the client must handle."""
        state = self.state
        with state.lock:
            found = self._course(course)
            periods = coursework.course_periods(state, found)
            chunk, _, meta = paginate(req, periods)
            now = state.now()
            body = {
                "grading_periods": [period_json(p, now, p is periods[-1]) for p in chunk],
                "meta": {"pagination": meta, "primaryCollection": "grading_periods"},
                "grading_periods_read_only": True,
            }
            return _json(body)

    def list_submissions(self, req: Request, course: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            students = self._submission_students(req, found)
            assignments = [
                state.assignments[a]
                for a in state.course_assignments.get(found.id, [])
                if state.assignments[a].published
            ]
            ids = req.args("assignment_ids")
            if ids:
                known = {str(a.id) for a in assignments}
                if any(i not in known for i in ids):
                    raise HttpError(403, "user not authorized to perform that action")
                assignments = [a for a in assignments if str(a.id) in set(ids)]
            if req.flag("post_to_sis"):
                assignments = [a for a in assignments if a.post_to_sis]
            graded_since = _since(req.arg("graded_since"), "graded_since")
            submitted_since = _since(req.arg("submitted_since"), "submitted_since")
            workflow = req.arg("workflow_state")
            period = self._period_filter(req, found)
            include = set(req.args("include"))
            items = []
            for assignment in sorted(assignments, key=lambda a: a.id):
                for user_id, submission in sorted(state.submissions.get(assignment.id, {}).items()):
                    if user_id not in students:
                        continue
                    if graded_since and not (
                        submission.graded_at and submission.graded_at >= graded_since
                    ):
                        continue
                    if submitted_since and not (
                        submission.submitted_at and submission.submitted_at >= submitted_since
                    ):
                        continue
                    if workflow and submission.workflow_state != workflow:
                        continue
                    if period is not None:
                        due = coursework.assignment_due_for(state, assignment, students[user_id])
                        if due is None or not period.start_date <= due <= period.end_date:
                            continue
                    items.append(submission)
            if req.flag("grouped"):
                by_user: dict[int, list] = {}
                for submission in items:
                    by_user.setdefault(submission.user_id, []).append(submission)
                groups = sorted(by_user.items())
                return _paged(
                    req,
                    groups,
                    lambda g: {
                        "user_id": g[0],
                        "section_id": students[g[0]],
                        "sis_user_id": state.users[g[0]].sis_id,
                        "integration_id": state.users[g[0]].integration_id,
                        "submissions": [submission_json(state, s, include=include) for s in g[1]],
                    },
                )
            items.sort(key=lambda s: s.id)
            return _paged(req, items, lambda s: submission_json(state, s, include=include))

    def _submission_students(self, req: Request, course: Course) -> dict[int, int]:
        state = self.state
        students = state.course_student_ids(course, states=coursework.STUDENT_STATES)
        wanted = req.args("student_ids")
        if not wanted:
            raise HttpError(400, "student_ids is required")
        if "all" in wanted:
            return students
        if len(wanted) > 100:
            raise HttpError(400, "too many students")
        chosen = {}
        for ref in wanted:
            user = state.user_for(unquote(ref), req.user_id)
            if user is not None and user.id in students:
                chosen[user.id] = students[user.id]
        return chosen

    def _period_filter(self, req: Request, course: Course):
        value = req.arg("grading_period_id")
        if not value:
            return None
        for period in coursework.course_periods(self.state, course):
            if str(period.id) == value:
                return period
        raise HttpError(400, "invalid grading_period_id")

    # --- controls ------------------------------------------------------------------------

    def control_teach(self, req: Request) -> Response:
        body = req.json()
        result = coursework.coursework_teach(
            self.state,
            quarters_by_account=body.get("quarters_by_account"),
            course_ids=body.get("course_ids"),
            limit=body.get("limit"),
            seed=int(body.get("seed") or 0),
            categories=body.get("categories") or coursework.DEFAULT_CATEGORIES,
        )
        return _json(result)

    def control_scores(self, req: Request) -> Response:
        body = req.json()
        result = coursework.scores_change(
            self.state,
            count=int(body.get("count") or 1),
            seed=int(body.get("seed") or 0),
            course_ids=body.get("course_ids"),
        )
        return _json(result)

    def control_previous_sis(self, req: Request) -> Response:
        body = req.json()
        result = coursework.previous_sis_seed(
            self.state,
            users=body.get("users") or [],
            classes=body.get("classes") or [],
            seed=int(body.get("seed") or 0),
            user_fractions=body.get("user_fractions"),
            course_fractions=body.get("course_fractions"),
            orphans=body.get("orphans"),
        )
        return _json(result)

    def control_fail_next(self, req: Request) -> Response:
        count = int(req.json().get("count") or 1)
        self.state.runner.fail_next(count)
        return _json({"fail_next": count})

    def control_throttle(self, req: Request) -> Response:
        body = req.json()
        if body.get("next"):
            self.state.throttle_next(int(body["next"]), method=body.get("method"))
        if body.get("fill"):
            self.state.bucket(body.get("token") or self.state.token).fill(float(body["fill"]))
        return _json({"ok": True})

    def control_imports(self, req: Request) -> Response:
        action = req.json().get("action")
        runner = self.state.runner
        if action == "pause":
            runner.pause()
        elif action == "resume":
            runner.resume()
        elif action == "wait":
            return _json({"idle": runner.wait_idle()})
        else:
            raise HttpError(400, "action must be pause, resume or wait")
        return _json({"ok": True})

    def control_read_back(self, req: Request) -> Response:
        body = req.json()
        result = coursework.state_read_back(
            self.state,
            users=body.get("users") or (),
            courses=body.get("courses") or (),
            sections=body.get("sections") or (),
            enrollments_of=body.get("enrollments_of") or (),
        )
        result["imports"] = [
            record.as_json(req.base_url) for record in self.state.runner.newest_first()[:10]
        ]
        return _json(result)

    def control_summary(self, req: Request) -> Response:
        summary = self.state.summary()
        summary["imports_pending"] = sum(
            1 for r in self.state.runner.newest_first() if r.workflow_state in NOT_COMPLETED
        )
        return _json(summary)


def _current_period(periods: list, now: dt.datetime):
    return next((p for p in periods if p.start_date <= now <= p.end_date), None)


def _since(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HttpError(400, f"Invalid {name}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _truthy(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def create_canvas_app(state: CanvasState) -> CanvasApp:
    """The WSGI application serving ``state`` (mount it at the server's root)."""
    app = CanvasApp(state)
    lti_routes_register(app)
    return app


__all__ = ["CanvasApp", "Request", "create_canvas_app", "parse_multipart"]
