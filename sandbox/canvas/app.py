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
from typing import Any
from urllib.parse import unquote, urlencode

from sandbox.canvas import coursework
from sandbox.canvas.imports import NOT_COMPLETED
from sandbox.canvas.records import (
    ENROLLMENT_STATE_CODES,
    OBSERVER,
    ROLE_BY_TYPE,
    STUDENT,
    TYPE_BY_NAME,
    Course,
    Section,
    User,
)
from sandbox.canvas.render import (
    account_json,
    assignment_json,
    course_json,
    course_state,
    discussion_json,
    enrollment_json,
    period_json,
    quiz_json,
    section_json,
    submission_json,
    term_json,
    user_json,
)
from sandbox.canvas.state import CanvasState
from sandbox.lti.routes import lti_routes_register
from sandbox.web import (
    HttpError,
    MethodNotAllowed,
    Request,
    Response,
    Router,
    json_response,
)

THROTTLED_BODY = b"403 Forbidden (Rate Limit Exceeded)\n"
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
#: An id in a path: a number, ``self``, or ``sis_…_id:value`` (the value may hold a "/"
#: when the server already decoded ``%2F``, hence the lazy match up to the known suffix).
ID = r"(?:\d+|self|default|sis_[a-z_]+:.+?)"


def _json(payload: Any, status: int = 200, headers=None) -> Response:
    return json_response(payload, status, headers)


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


# --- the application -----------------------------------------------------------------------


class CanvasApp:
    """The WSGI callable; one instance per ``CanvasState``."""

    def __init__(self, state: CanvasState) -> None:
        self.state = state
        self.router = Router()
        self._snapshots: dict[tuple, tuple[int, list]] = {}
        api = "/api/v1"
        add = self._route
        add("GET", rf"{api}/users/(?P<user>{ID})", self.get_user)
        add("GET", rf"{api}/accounts/(?P<account>{ID})", self.get_account)
        add("GET", rf"{api}/accounts/(?P<account>{ID})/sub_accounts", self.list_sub_accounts)
        add("GET", rf"{api}/accounts/(?P<account>{ID})/terms", self.list_terms)
        add("GET", rf"{api}/accounts/(?P<account>{ID})/terms/(?P<term>{ID})", self.get_term)
        add("GET", rf"{api}/accounts/(?P<account>{ID})/grading_periods", self.list_account_periods)
        add("GET", rf"{api}/users/(?P<user>{ID})/enrollments", self.list_user_enrollments)
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
        add(
            "GET",
            rf"{api}/courses/(?P<course>{ID})/assignment_groups/(?P<group>\d+)/assignments",
            self.list_group_assignments,
        )
        add("GET", rf"{api}/courses/(?P<course>{ID})/quizzes", self.list_quizzes)
        add(
            "GET", rf"{api}/courses/(?P<course>{ID})/discussion_topics", self.list_discussion_topics
        )
        add("GET", rf"{api}/courses/(?P<course>{ID})/users", self.list_course_users)
        # Canvas's alias of the same list; canvasapi's ``Course.get_users`` calls it.
        add("GET", rf"{api}/courses/(?P<course>{ID})/search_users", self.list_course_users)
        add("GET", rf"{api}/courses/(?P<course>{ID})/users/(?P<user>{ID})", self.get_course_user)
        submissions = rf"{api}/courses/(?P<course>{ID})/assignments/(?P<assignment>\d+)/submissions"
        add("GET", submissions, self.list_assignment_submissions, "grades")
        add("GET", rf"{submissions}/(?P<user>{ID})", self.get_submission, "grades")
        add(
            "GET",
            rf"{api}/sections/(?P<section>{ID})/students/submissions",
            self.list_section_submissions,
            "grades",
        )
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
        self.router.add(method, pattern, handler, permission)

    # --- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response) -> Iterable[bytes]:
        return self.dispatch(Request(environ)).send(start_response)

    def dispatch(self, req: Request) -> Response:
        try:
            match = self.router.match(req.method, req.path)
        except MethodNotAllowed:
            return _json({"errors": [{"message": "Method not allowed"}]}, 405)
        if match is None:
            return _json({"errors": [{"message": "The specified resource does not exist."}]}, 404)
        return self._handle(req, match.route.handler, match.route.tag, match.params)

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
                [("X-Rate-Limit-Remaining", "0.0"), ("X-Request-Cost", "0")],
                content_type="text/plain; charset=utf-8",
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
        if exc.status == 401 and exc.code == "unauthenticated":
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
                401, "user authorization required", headers=challenge, code="unauthenticated"
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

    def get_term(self, req: Request, account: str, term: str) -> Response:
        state = self.state
        with state.lock:
            self._root_account(account)
            if term.startswith("sis_term_id:"):
                found = state.terms_by_sis.get(unquote(term.partition(":")[2]))
            else:
                found = state.terms.get(int(term)) if term.isdigit() else None
            if found is None or found.workflow_state == "deleted":
                raise HttpError(404, "The specified resource does not exist.")
            return _json(term_json(state, found.id))

    def list_account_periods(self, req: Request, account: str) -> Response:
        """The account's grading periods: a school's own set, or (root) the term sets,
        which Canvas keeps on the root account. JSON-API paging, like the course list."""
        state = self.state
        with state.lock:
            found = self._account(account)
            if found is state.root:
                keys = [k for k in state.period_sets if k.startswith("term:")]
            else:
                keys = [f"account:{found.sis_id}"]
            periods = [p for key in keys for p in state.period_sets.get(key, [])]
            return self._period_page(req, periods)

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
        return _user_search(req, users)

    def list_account_courses(self, req: Request, account: str) -> Response:
        state = self.state
        with state.lock:
            found = self._account(account)
            courses = self._snapshot(req, lambda: self._account_courses(req, found))
            include = frozenset(req.args("include"))
            return _paged(req, courses, lambda c: course_json(state, c, include))

    def _account_courses(self, req: Request, found) -> list[Course]:
        state = self.state
        subtree = state.account_subtree(found)
        wanted = set(req.args("state"))
        courses = []
        for course in state.courses.values():
            if course.account_id not in subtree:
                continue
            shown = course_state(course)
            if wanted and "all" not in wanted and shown not in wanted:
                continue
            if not wanted and shown == "deleted":
                continue
            courses.append(course)
        term = req.arg("enrollment_term_id")
        if term:
            courses = [c for c in courses if str(c.term_id) == term]
        search = _search_term(req)
        if search:
            # Canvas matches the course name, course code and SIS id.
            courses = [
                c
                for c in courses
                if search in c.name.lower()
                or search in (c.course_code or "").lower()
                or search in (c.sis_id or "").lower()
            ]
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
            # Canvas takes the type from the file name, then from the content type.
            suffix = file_name.rpartition(".")[2].lower() if "." in file_name else ""
            if suffix in ("csv", "zip"):
                extension = suffix
            else:
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
        return Response(200, out.getvalue().encode(), content_type="text/csv; charset=utf-8")

    # --- courses, sections, enrollments --------------------------------------------------

    def get_course(self, req: Request, course: str) -> Response:
        include = frozenset(req.args("include"))
        with self.state.lock:
            return _json(course_json(self.state, self._course(course), include))

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
            include = frozenset(req.args("include"))
            return _paged(req, sections, lambda s: section_json(state, s, include))

    def get_section(self, req: Request, section: str) -> Response:
        include = frozenset(req.args("include"))
        with self.state.lock:
            return _json(section_json(self.state, self._section(section), include))

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

    def list_course_users(self, req: Request, course: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            users = _user_search(req, self._course_users(req, found))
            include = set(req.args("include"))
            return _paged(req, users, lambda u: user_json(u, email="email" in include))

    def get_course_user(self, req: Request, course: str, user: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            wanted = state.user_for(user, req.user_id)
            members = {u.id for u in self._course_users(req, found, every_state=True)}
            if wanted is None or wanted.id not in members:
                raise HttpError(404, "The specified resource does not exist.")
            return _json(user_json(wanted, email="email" in req.args("include")))

    def _course_users(self, req: Request, course: Course, *, every_state: bool = False):
        """Members of the course, once each, by ``enrollment_type[]``/``enrollment_state[]``
        (Canvas's default: active and invited enrollments, which the sandbox has as active)."""
        state = self.state
        # Short role names here ("student"), unlike the enrollments API's "StudentEnrollment".
        names = set(req.args("enrollment_type"))
        types = {code for code, role in enumerate(ROLE_BY_TYPE) if role in names}
        wanted = _state_codes(req.args("enrollment_state"))
        codes = (
            set(ENROLLMENT_STATE_CODES.values())
            if every_state
            else wanted or {ENROLLMENT_STATE_CODES["active"]}
        )
        seen: dict[int, User] = {}
        for section, type_code, key, code in state.course_enrollments(course):
            if section.workflow_state == "deleted" or code not in codes:
                continue
            if types and type_code not in types:
                continue
            user_id = key[0] if type_code == OBSERVER else key
            seen.setdefault(user_id, state.users[user_id])
        return sorted(seen.values(), key=lambda u: (u.sortable_name or u.name, u.id))

    def list_user_enrollments(self, req: Request, user: str) -> Response:
        state = self.state
        with state.lock:
            found = state.user_for(user, req.user_id)
            if found is None:
                raise HttpError(404, "The specified resource does not exist.")
            types = {TYPE_BY_NAME[t] for t in req.args("type") if t in TYPE_BY_NAME}
            codes = _state_codes(req.args("state")) or {ENROLLMENT_STATE_CODES["active"]}
            rows = []
            for section in state.sections.values():
                course = state.courses.get(section.course_id)
                if course is None or section.workflow_state == "deleted":
                    continue
                for type_code, members in sorted(section.enrollments.items()):
                    if types and type_code not in types:
                        continue
                    for key, code in members.items():
                        user_id = key[0] if type_code == OBSERVER else key
                        if user_id == found.id and code in codes:
                            rows.append((course, section, type_code, key, code))
            now = state.now()
            return _paged(
                req,
                rows,
                lambda row: enrollment_json(state, *row, None, now, req.base_url),
            )

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
        now = state.now()
        return _paged(
            req,
            rows,
            lambda row: enrollment_json(state, course, *row, period, now, req.base_url),
        )

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
            include = set(req.args("include"))

            def render(group: Any) -> dict[str, Any]:
                body: dict[str, Any] = {
                    "id": group.id,
                    "name": group.name,
                    "position": group.position,
                    "group_weight": group.group_weight,
                    "sis_source_id": None,
                    "integration_data": {},
                    "rules": {},
                }
                if "assignments" in include:
                    body["assignments"] = [
                        assignment_json(state, a, include=include, base_url=req.base_url)
                        for a in self._group_assignments(found, group.id)
                    ]
                return body

            return _paged(req, groups, render)

    def _group_assignments(self, course: Course, group_id: int) -> list:
        state = self.state
        return [
            state.assignments[a]
            for a in state.course_assignments.get(course.id, [])
            if state.assignments[a].assignment_group_id == group_id
        ]

    def list_group_assignments(self, req: Request, course: str, group: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            if not any(g.id == int(group) for g in state.assignment_groups.get(found.id, [])):
                raise HttpError(404, "The specified resource does not exist.")
            include = set(req.args("include"))
            return _paged(
                req,
                self._group_assignments(found, int(group)),
                lambda a: assignment_json(state, a, include=include, base_url=req.base_url),
            )

    def list_quizzes(self, req: Request, course: str) -> Response:
        """Classic quizzes (graded ones: the sandbox seeds no practice quizzes)."""
        state = self.state
        with state.lock:
            found = self._course(course)
            quizzes = [
                state.assignments[a]
                for a in state.course_assignments.get(found.id, [])
                if state.assignments[a].quiz_id is not None
            ]
            return _paged(req, quizzes, lambda a: quiz_json(a, req.base_url))

    def list_discussion_topics(self, req: Request, course: str) -> Response:
        """Discussion topics (graded ones: the sandbox seeds no ungraded discussions)."""
        state = self.state
        with state.lock:
            found = self._course(course)
            topics = [
                state.assignments[a]
                for a in state.course_assignments.get(found.id, [])
                if state.assignments[a].discussion_topic_id is not None
            ]
            return _paged(req, topics, lambda a: discussion_json(a, req.base_url))

    def list_periods(self, req: Request, course: str) -> Response:
        """JSON-API paging in ``meta.pagination`` (no Link header), as the client must handle."""
        state = self.state
        with state.lock:
            found = self._course(course)
            return self._period_page(req, coursework.course_periods(state, found))

    def _period_page(self, req: Request, periods: list) -> Response:
        chunk, _, meta = paginate(req, periods)
        now = self.state.now()
        body = {
            "grading_periods": [period_json(p, now, p is periods[-1]) for p in chunk],
            "meta": {"pagination": meta, "primaryCollection": "grading_periods"},
            "grading_periods_read_only": True,
        }
        return _json(body)

    def list_submissions(self, req: Request, course: str) -> Response:
        with self.state.lock:
            found = self._course(course)
            return self._submissions(req, found, self._submission_students(req, found))

    def list_section_submissions(self, req: Request, section: str) -> Response:
        """``/sections/:id/students/submissions``: the course's rules, the section's students."""
        with self.state.lock:
            found = self._section(section)
            course = self.state.courses[found.course_id]
            students = self._submission_students(req, course)
            in_section = {
                user_id: found.id
                for user_id in found.enrollments.get(STUDENT, {})
                if user_id in students
            }
            return self._submissions(req, course, in_section)

    def _submissions(self, req: Request, found: Course, students: dict[int, int]) -> Response:
        state = self.state
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

    def list_assignment_submissions(self, req: Request, course: str, assignment: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            item = self._assignment(found, assignment)
            students = state.course_student_ids(found, states=coursework.STUDENT_STATES)
            include = set(req.args("include"))
            submissions = [
                submission
                for user_id, submission in sorted(state.submissions.get(item.id, {}).items())
                if user_id in students
            ]
            return _paged(req, submissions, lambda s: submission_json(state, s, include=include))

    def get_submission(self, req: Request, course: str, assignment: str, user: str) -> Response:
        state = self.state
        with state.lock:
            found = self._course(course)
            item = self._assignment(found, assignment)
            student = state.user_for(user, req.user_id)
            submission = state.submissions.get(item.id, {}).get(student.id) if student else None
            if submission is None:
                raise HttpError(404, "The specified resource does not exist.")
            include = set(req.args("include"))
            return _json(submission_json(state, submission, include=include))

    def _assignment(self, course: Course, ref: str):
        item = self.state.assignments.get(int(ref))
        if item is None or item.course_id != course.id:
            raise HttpError(404, "The specified resource does not exist.")
        return item

    def _submission_students(self, req: Request, course: Course) -> dict[int, int]:
        state = self.state
        students = state.course_student_ids(course, states=coursework.STUDENT_STATES)
        wanted = req.args("student_ids")
        if not wanted:
            # Canvas answers with the caller's own submissions (none for a non-student).
            own = students.get(req.user_id)
            return {} if own is None else {req.user_id: own}
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


def _state_codes(names: list[str]) -> set[int]:
    return {ENROLLMENT_STATE_CODES[name] for name in names if name in ENROLLMENT_STATE_CODES}


def _search_term(req: Request) -> str:
    """``search_term``, lower-cased; Canvas refuses one shorter than two characters."""
    search = (req.arg("search_term") or "").strip().lower()
    if search and len(search) < 2:
        raise HttpError(400, "search_term of 2 or more characters is required")
    return search


def _user_search(req: Request, users: list[User]) -> list[User]:
    search = _search_term(req)
    if not search:
        return users
    return [
        u
        for u in users
        if search in u.name.lower()
        or search in u.login_id.lower()
        or search in (u.sis_id or "").lower()
        or search in (u.email or "").lower()
    ]


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


def create_canvas_app(state: CanvasState) -> CanvasApp:
    """The WSGI application serving ``state`` (mount it at the server's root)."""
    app = CanvasApp(state)
    lti_routes_register(app)
    return app


__all__ = ["CanvasApp", "create_canvas_app"]
