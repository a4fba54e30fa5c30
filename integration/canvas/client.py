"""``CanvasClient``: the few Canvas REST endpoints provisioning and passback need.

Built on the shared ``UpstreamSession`` (mandatory timeouts, typed errors, bounded retries,
private-address guard) with Canvas's quirks added in ``CanvasSession``:

* throttling is 403 "Rate Limit Exceeded" (and 429 on newer hosts): retried with
  exponential backoff and jitter, also for POSTs, because a throttled request never ran;
* pacing: at most ``max_in_flight`` requests at once (Canvas's up-front cost per in-flight
  request is what trips its leaky bucket), and a pause when ``X-Rate-Limit-Remaining``
  runs low, long enough for the bucket to leak back above the low-water mark;
* 401 with ``WWW-Authenticate`` is a bad token, 401 without it (or any other 403) is a
  missing permission; neither is retried.

Lists follow the ``Link: rel="next"`` header (``per_page=100``, Canvas's cap) or the
JSON-API ``meta.pagination.next`` where Canvas uses it (grading periods), and refuse a next
link that points at another host, so the bearer token never leaves the Canvas origin.

See docs/canvas-client.md for why this is not built on ``canvasapi``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

import orjson
import requests

from integration.canvas.errors import (
    CanvasNoPermission,
    CanvasNotAnApi,
    CanvasNotConfigured,
    CanvasRateLimited,
    CanvasTokenInvalid,
    ImportAlreadyRunning,
    ImportTimedOut,
)
from integration.canvas.types import (
    RUNNING_STATES,
    CanvasAssignment,
    CanvasSubmission,
    SisImport,
    SisImportError,
    SisImportParams,
    format_timestamp,
)
from integration.http.errors import UpstreamNotFound, UpstreamProtocolError
from integration.http.session import (
    IDEMPOTENT_METHODS,
    UTF8_BOM,
    RetryPolicy,
    TransientFailure,
    UpstreamSession,
    not_json_error,
    parse_retry_after,
    redirected_error,
    safe_url,
)

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

#: Canvas caps ``per_page`` at 100 (``Api::MAX_PER_PAGE``).
PER_PAGE = 100
#: Below this reported quota we pause before the next request (reference: ~100).
LOW_WATER_REMAINING = 100.0
#: Canvas's default leak rate of the throttling bucket, in cost units per second.
LEAK_PER_SECOND = 10.0
#: Never pause longer than this for pacing alone; the retry backoff handles the rest.
MAX_PACE_SECONDS = 10.0
#: ``assignment_ids[]`` per submissions request, to keep URLs short.
ASSIGNMENT_IDS_PER_REQUEST = 100
THROTTLE_BODY_MARKER = b"Rate Limit Exceeded"
#: Canvas prefixes JSON with this against JSON hijacking when a request does not ask for
#: ``application/json`` (browser sessions); we ask, but a proxy may drop the header.
JSON_HIJACK_PREFIX = b"while(1);"


def sis_id(kind: str, value: str) -> str:
    """A ``sis_course_id:…``-style path id with the value URL-escaped.

    Canvas also wants ``.`` escaped (``CS/101.11é`` → ``CS%2F101%2E11%C3%A9``), or Rails
    reads the tail as a format suffix.
    """
    return f"{kind}:{quote(value, safe='').replace('.', '%2E')}"


def is_root_account(account: dict) -> bool:
    """A Canvas account JSON with no ``root_account_id`` is a root account."""
    return account.get("root_account_id") is None


@dataclass(frozen=True)
class CanvasConfig:
    """Everything needed to talk to one Canvas instance. ``repr`` never shows the token."""

    base_url: str
    token: str = field(repr=False)
    max_in_flight: int = 3
    allow_private: bool | None = None  # None = settings.ALLOW_PRIVATE_UPSTREAMS
    retry: RetryPolicy | None = None  # None = RetryPolicy() defaults


class _Throttled(TransientFailure):
    """Internal: Canvas throttled this request; safe to resend even for a POST."""


class CanvasSession(UpstreamSession):
    """``UpstreamSession`` with Canvas's status-code meanings, throttling and pacing."""

    role = "Canvas"

    def __init__(self, *, max_in_flight: int = 3, **kwargs: Any) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        super().__init__(pool_size=max(max_in_flight, 2), **kwargs)
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._meter_lock = threading.Lock()
        #: Last ``X-Rate-Limit-Remaining`` seen (None until Canvas reports one).
        self.rate_limit_remaining: float | None = None
        #: Sum of ``X-Request-Cost`` over every answer, for run statistics.
        self.request_cost_total = 0.0
        self.throttled_responses = 0
        self.paced_seconds = 0.0

    # --- requests ------------------------------------------------------------------------

    def request(self, method: str, url: str, *, retry: bool | None = None, **kwargs: Any):
        if retry is None and method.upper() not in IDEMPOTENT_METHODS:
            return self._request_retrying_throttles(method, url, **kwargs)
        return super().request(method, url, retry=retry, **kwargs)

    def _request_retrying_throttles(self, method: str, url: str, **kwargs: Any):
        """A non-idempotent request: resend it only when Canvas throttled it."""
        attempts = 0
        started = time.monotonic()
        kwargs = self.prepare(url, kwargs)
        while True:
            attempts += 1
            try:
                return self._attempt(method.upper(), url, **kwargs)
            except _Throttled as exc:
                spent = time.monotonic() - started
                if attempts >= self.retry.attempts or spent >= self.retry.budget_seconds:
                    raise exc.error from None
                self._sleep(self._backoff(attempts, exc.retry_after))
            except TransientFailure as exc:
                # Anything else transient is not safe to resend for a POST.
                raise exc.error from None

    def _attempt(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        with self._slots:
            self._pace()
            return super()._attempt(method, url, **kwargs)

    def _pace(self) -> None:
        """Pause while the reported quota is below the low-water mark."""
        with self._meter_lock:
            remaining = self.rate_limit_remaining
            if remaining is None or remaining >= LOW_WATER_REMAINING:
                return
            wait = min(MAX_PACE_SECONDS, (LOW_WATER_REMAINING - remaining) / LEAK_PER_SECOND)
            # The next answer reports the refilled quota; until then assume it leaked.
            self.rate_limit_remaining = None
            self.paced_seconds += wait
        self._sleep(wait)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.retry.max_wait, self.retry.base_delay * 2 ** (attempt - 1))
        delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry.max_wait))
        return delay

    # --- classification ------------------------------------------------------------------

    def classify(self, response: requests.Response):
        self._meter(response)
        status = response.status_code
        if status < 400:
            return None
        where = safe_url(response.url or "")
        if (status == 403 and THROTTLE_BODY_MARKER in response.content) or status == 429:
            with self._meter_lock:
                self.throttled_responses += 1
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return _Throttled(
                CanvasRateLimited(
                    f"Canvas kept throttling requests to {where} (Rate Limit Exceeded)",
                    retry_after=retry_after,
                    status=status,
                    url=where,
                ),
                retry_after,
            )
        if status == 401:
            if response.headers.get("WWW-Authenticate") or _body_status(response) == (
                "unauthenticated"
            ):
                return CanvasTokenInvalid(
                    f"Canvas refused the access token (401) for {where}", status=status, url=where
                )
            return CanvasNoPermission(
                f"Canvas says the token's user may not do this (401) at {where}",
                status=status,
                url=where,
            )
        if status == 403:
            return CanvasNoPermission(
                f"Canvas denied access (403) to {where}", status=status, url=where
            )
        return super().classify(response)

    def decode_json(self, response: requests.Response) -> Any:
        """The JSON body. A ``while(1);`` prefix is skipped; a body that is not JSON says
        what it is (a redirect, a web page, nothing) instead of a decoding error."""
        content = self.body(response)
        if 300 <= response.status_code < 400:
            raise redirected_error(response, system="Canvas", error=CanvasNotAnApi)
        content = content.removeprefix(UTF8_BOM).removeprefix(JSON_HIJACK_PREFIX)
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
        where = safe_url(response.url or "")
        raise not_json_error(
            response, content, system="Canvas", error=CanvasNotAnApi
        ) or UpstreamProtocolError(
            f"Canvas sent a body that is not valid JSON from {where}",
            status=response.status_code,
            url=where,
        )

    def _meter(self, response: requests.Response) -> None:
        remaining = _header_float(response, "X-Rate-Limit-Remaining")
        cost = _header_float(response, "X-Request-Cost")
        with self._meter_lock:
            if remaining is not None:
                self.rate_limit_remaining = remaining
            if cost is not None:
                self.request_cost_total += cost


def _header_float(response: requests.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _body_status(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("status") if isinstance(body, dict) else None


class CanvasClient:
    """A Canvas REST client for one Canvas instance and token.

    Thread-safe: several threads may share one client; ``max_in_flight`` bounds the
    requests in flight across all of them. ``sleep`` is used for retry backoff, pacing and
    import polling (tests inject a no-op).
    """

    #: Items per page asked of Canvas (its maximum); tests lower it to exercise paging.
    per_page = PER_PAGE

    def __init__(
        self, config: CanvasConfig, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        if not config.base_url or not config.token:
            raise CanvasNotConfigured("A Canvas URL and an access token are both required.")
        self.base_url = config.base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self._api = f"{self.base_url}/api/v1"
        self._sleep = sleep
        self.session = CanvasSession(
            max_in_flight=config.max_in_flight,
            allow_private=config.allow_private,
            retry=config.retry,
            sleep=sleep,
        )
        self.session.session.headers.update(
            {"Authorization": f"Bearer {config.token}", "Accept": "application/json"}
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CanvasClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- account and token ---------------------------------------------------------------

    def get_self(self) -> dict:
        """The token's user (``GET /users/self``): the cheapest token check."""
        return self._get("users", "self")

    def get_account(self, account_id: str) -> dict:
        """The account; ``root_account_id`` None means a root account (SIS imports need one)."""
        return self._get("accounts", account_id)

    def can_import_sis(self, account_id: str) -> bool:
        """Whether the token may use the account's SIS imports.

        A bad token still raises ``CanvasTokenInvalid``; a non-root account or disabled SIS
        imports raise the 400 as ``UpstreamServerError`` so the caller can show Canvas's reason.
        """
        try:
            self._get("accounts", account_id, "sis_imports", params={"per_page": "1"})
        except CanvasNoPermission:
            return False
        return True

    # --- SIS imports ---------------------------------------------------------------------

    def sis_imports_list(
        self, account_id: str, *, workflow_states: Iterable[str] = ()
    ) -> Iterator[SisImport]:
        """The account's imports, newest first, optionally filtered by state."""
        params = [("per_page", str(self.per_page))]
        params += [("workflow_state[]", state) for state in workflow_states]
        url = self._url("accounts", account_id, "sis_imports")
        for item in self._pages(url, params, key="sis_imports"):
            yield SisImport.from_api(item)

    def sis_imports_running(self, account_id: str) -> list[SisImport]:
        """Imports that hold the account's queue: created, importing, cleanup_batch, restoring.

        Filtered here as well: a Canvas or proxy that ignores ``workflow_state[]`` returns
        finished imports too, and counting those as running would wait out the busy budget.
        """
        listed = self.sis_imports_list(account_id, workflow_states=RUNNING_STATES)
        return [item for item in listed if item.workflow_state in RUNNING_STATES]

    def sis_import_create(
        self, account_id: str, *, zip_path: Path, params: SisImportParams
    ) -> SisImport:
        """Upload a zip (or csv) as a new SIS import, refusing while another one runs.

        Canvas would queue ours behind the running one; refusing instead keeps our run
        the only writer and its counts its own. Never retried except on throttling: a POST
        that timed out may have created the import, so callers re-check ``sis_imports_running``.
        """
        running = self.sis_imports_running(account_id)
        if running:
            described = ", ".join(f"{item.id} ({item.workflow_state})" for item in running)
            raise ImportAlreadyRunning(
                f"Canvas account {account_id} already has an SIS import in progress: {described}",
                running=tuple(running),
            )
        content_type = "application/zip" if params.extension == "zip" else "text/csv"
        payload = zip_path.read_bytes()
        response = self.session.request(
            "POST",
            self._url("accounts", account_id, "sis_imports"),
            data=params.to_form(),
            files={"attachment": (zip_path.name, payload, content_type)},
        )
        return SisImport.from_api(self.session.decode_json(response))

    def sis_import_get(self, account_id: str, import_id: int) -> SisImport:
        return SisImport.from_api(self._get("accounts", account_id, "sis_imports", import_id))

    def sis_import_wait(
        self,
        account_id: str,
        import_id: int,
        *,
        timeout: float = 3600,
        poll_initial: float = 1.0,
        poll_max: float = 30.0,
        on_progress: Callable[[SisImport], None] | None = None,
    ) -> SisImport:
        """Poll until the import reaches a terminal state, doubling the interval up to a cap.

        Time counts as the larger of the wall clock and the sum of the pauses, so an
        injected no-op ``sleep`` still ends in ``ImportTimedOut`` after ``timeout``.
        """
        started = time.monotonic()
        paused = 0.0
        interval = poll_initial
        while True:
            current = self.sis_import_get(account_id, import_id)
            if on_progress is not None:
                on_progress(current)
            if current.is_terminal:
                return current
            elapsed = max(time.monotonic() - started, paused)
            if elapsed >= timeout:
                raise ImportTimedOut(
                    f"Canvas SIS import {import_id} still {current.workflow_state} "
                    f"({current.progress}%) after {timeout:.0f} s",
                    last=current,
                )
            pause = max(0.0, min(interval, poll_max, timeout - elapsed))
            self._sleep(pause)
            paused += pause
            interval = min(poll_max, interval * 2)

    def sis_import_errors(self, account_id: str, import_id: int) -> Iterator[SisImportError]:
        """Every error and warning row of the import (the status object shows only 24)."""
        url = self._url("accounts", account_id, "sis_imports", import_id, "errors")
        for item in self._pages(url, [("per_page", str(self.per_page))], key="sis_import_errors"):
            yield SisImportError.from_api(item)

    def sis_import_abort(self, account_id: str, import_id: int) -> SisImport:
        """Abort an unfinished import (Canvas waits 10 minutes before the next one starts)."""
        url = self._url("accounts", account_id, "sis_imports", import_id, "abort")
        response = self.session.request("PUT", url)
        return SisImport.from_api(self.session.decode_json(response))

    # --- passback and evaluation reads ---------------------------------------------------

    def get_course_by_sis_id(self, sis_course_id: str) -> dict | None:
        """The course with this SIS id, or None when Canvas has none."""
        try:
            return self._get("courses", sis_id("sis_course_id", sis_course_id))
        except UpstreamNotFound:
            return None

    def list_sections(self, course_id: int | str) -> Iterator[dict]:
        yield from self._pages(
            self._url("courses", course_id, "sections"), [("per_page", str(self.per_page))]
        )

    def list_assignments(
        self, course_id: int | str, *, post_to_sis: bool | None = None
    ) -> Iterator[CanvasAssignment]:
        """Assignments with their overrides (differentiated due dates)."""
        params = [
            ("per_page", str(self.per_page)),
            ("include[]", "overrides"),
            ("include[]", "all_dates"),
        ]
        if post_to_sis is not None:
            params.append(("post_to_sis", _flag(post_to_sis)))
        for item in self._pages(self._url("courses", course_id, "assignments"), params):
            yield CanvasAssignment.from_api(item)

    def list_assignment_groups(self, course_id: int | str) -> Iterator[dict]:
        yield from self._pages(
            self._url("courses", course_id, "assignment_groups"), [("per_page", str(self.per_page))]
        )

    def list_grading_periods(self, course_id: int | str) -> list[dict]:
        """The course's grading periods (JSON-API ``meta.pagination`` paging)."""
        url = self._url("courses", course_id, "grading_periods")
        return list(self._pages(url, [("per_page", str(self.per_page))], key="grading_periods"))

    def list_submissions(
        self,
        course_id: int | str,
        *,
        assignment_ids: Iterable[int] | None = None,
        graded_since: dt.datetime | None = None,
        post_to_sis: bool | None = None,
    ) -> Iterator[CanvasSubmission]:
        """Submissions of every student (``student_ids[]=all``), one item per submission.

        ``graded_since`` makes the read incremental; ``post_to_sis=True`` limits it to
        assignments flagged for SIS sync and to SIS-created enrollments.
        """
        base = [
            ("per_page", str(self.per_page)),
            ("student_ids[]", "all"),
            ("grouped", "false"),
            ("include[]", "visibility"),
        ]
        if graded_since is not None:
            base.append(("graded_since", format_timestamp(graded_since)))
        if post_to_sis is not None:
            base.append(("post_to_sis", _flag(post_to_sis)))
        url = self._url("courses", course_id, "students", "submissions")
        ids = [int(a) for a in assignment_ids] if assignment_ids is not None else None
        if ids is not None and not ids:
            return
        step = ASSIGNMENT_IDS_PER_REQUEST
        chunks = (
            [ids[i : i + step] for i in range(0, len(ids), step)] if ids is not None else [None]
        )
        for chunk in chunks:
            params = list(base)
            if chunk is not None:
                params += [("assignment_ids[]", str(a)) for a in chunk]
            for item in self._pages(url, params):
                yield CanvasSubmission.from_api(item)

    def list_enrollments_with_grades(
        self,
        course_id: int | str,
        *,
        grading_period_id: int | str | None = None,
        states: Iterable[str] = (),
    ) -> Iterator[dict]:
        """Student enrollments with ``grades`` (for one grading period when given)."""
        params = [("per_page", str(self.per_page)), ("type[]", "StudentEnrollment")]
        params += [("state[]", state) for state in states]
        if grading_period_id is not None:
            params.append(("grading_period_id", str(grading_period_id)))
        yield from self._pages(self._url("courses", course_id, "enrollments"), params)

    def list_account_users(self, account_id: str) -> Iterator[dict]:
        """Users of the account with ``sis_user_id``, ``login_id``, ``email`` and ``name``."""
        params = [("per_page", str(self.per_page)), ("include[]", "email")]
        yield from self._pages(self._url("accounts", account_id, "users"), params)

    def list_account_courses(self, account_id: str) -> Iterator[dict]:
        """Courses of the account (and its sub-accounts) with ``sis_course_id``."""
        params = [("per_page", str(self.per_page))]
        yield from self._pages(self._url("accounts", account_id, "courses"), params)

    # --- internals -----------------------------------------------------------------------

    def _url(self, *parts: object) -> str:
        return self._api + "/" + "/".join(str(part) for part in parts)

    def _get(self, *parts: object, params: Any = None) -> Any:
        body, _ = self.session.get_json(self._url(*parts), params=params)
        return body

    def _pages(self, url: str, params: Any, *, key: str | None = None) -> Iterator[dict]:
        """Items of every page, following ``Link: rel="next"`` or ``meta.pagination.next``."""
        seen: set[str] = set()
        next_url: str | None = url
        next_params = params
        while next_url:
            body, response = self.session.get_json(next_url, params=next_params)
            items = body.get(key) if key and isinstance(body, dict) else body
            if not isinstance(items, list):
                raise UpstreamProtocolError(
                    f"Canvas sent a page that is not a list from {safe_url(response.url)}",
                    status=response.status_code,
                    url=safe_url(response.url),
                )
            yield from items
            next_url = self._next_link(body, response)
            next_params = None
            if next_url is None:
                return
            if next_url in seen:
                raise UpstreamProtocolError(
                    f"Canvas pagination loops at {safe_url(next_url)}", url=safe_url(next_url)
                )
            seen.add(next_url)

    def _next_link(self, body: Any, response: requests.Response) -> str | None:
        link = (response.links.get("next") or {}).get("url")
        if not link and isinstance(body, dict):
            meta = body.get("meta")
            pagination = meta.get("pagination") if isinstance(meta, dict) else None
            link = pagination.get("next") if isinstance(pagination, dict) else None
        if not link or not isinstance(link, str):
            return None
        # Canvas sends absolute links; a proxy may rewrite them relative to the page.
        link = urljoin(response.url, link)
        parts = urlsplit(link)
        if _origin(link) != self._origin:
            # The bearer token must never be sent to a host the district did not configure.
            raise UpstreamProtocolError(
                f"Canvas pointed pagination at another host ({parts.netloc})",
                url=safe_url(response.url),
            )
        return link


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) as a browser compares them: host case and an explicit default
    port (``:443``, ``:80``) make no difference."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # a malformed port never equals a configured origin
    if port is None:
        port = {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _flag(value: bool) -> str:
    return "true" if value else "false"


__all__ = ["CanvasClient", "CanvasConfig", "CanvasSession", "is_root_account", "sis_id"]
