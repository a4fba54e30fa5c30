"""``UpstreamSession``: requests with mandatory timeouts, typed errors and bounded retries.

Every request has a connect and a read timeout. Idempotent methods (GET, HEAD, PUT, DELETE)
retry on transport errors and on 429/502/503/504 with exponential backoff and full jitter,
honouring ``Retry-After``, within a bounded attempt count and total time (tenacity does the
bookkeeping). POSTs are never retried here: a repeated POST could create twice.

Subclasses (the OneRoster and Canvas clients) refine ``classify`` for their protocol's quirks,
e.g. Canvas answers throttling with 403 "Rate Limit Exceeded".
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from django.conf import settings
from requests.utils import select_proxy
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)

from integration.http.errors import (
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamMisconfigured,
    UpstreamNotFound,
    UpstreamPermissionDenied,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamResponseTooLarge,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from integration.http.netguard import check_url_host
from integration.http.pinning import PinnedAdapter

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 256 * 1024

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``max_wait`` caps one sleep; ``budget_seconds`` caps the whole call."""

    attempts: int = 6
    base_delay: float = 0.5
    max_wait: float = 30.0
    budget_seconds: float = 180.0


class TransientFailure(Exception):
    """A failure worth another attempt, as ``classify`` and ``_attempt`` report it to the retry
    loop. Carries the typed error raised once the attempts are spent; never leaves a session.

    Public because the protocol sessions (OneRoster, Canvas) refine ``classify`` and return
    it. Callers outside a session ask ``integration.http.errors.is_transient`` instead.
    """

    def __init__(self, error: UpstreamError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(tz=UTC)).total_seconds())


def safe_url(url: str) -> str:
    """Scheme, host and path: what may appear in logs and messages (no query, no userinfo)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


#: RFC 8259 lets a parser ignore a byte order mark; some servers and proxies send one.
UTF8_BOM = b"\xef\xbb\xbf"


def redirected_error(
    response: requests.Response, *, system: str, error: type[UpstreamMisconfigured]
) -> UpstreamMisconfigured:
    """A 3xx where JSON was expected: the URL (or a proxy in front of it) leads to a web
    page, most often a sign-in page. Redirects are never followed."""
    target = urljoin(response.url or "", response.headers.get("Location", ""))
    where = safe_url(response.url or "")
    return error(
        f"{system} answered {response.status_code} for {where} with a redirect to "
        f"{safe_url(target)} instead of JSON: the URL, or a proxy in front of it, leads to a "
        f"web page (often a sign-in page), not the {system} API",
        status=response.status_code,
        url=where,
    )


def not_json_error(
    response: requests.Response,
    content: bytes,
    *,
    system: str,
    error: type[UpstreamMisconfigured],
) -> UpstreamError | None:
    """Why an answer's body is not JSON, when it can be told: a redirect, no body, an HTML
    page (``error``: a configuration error) or an XML document; ``None`` otherwise."""
    status = response.status_code
    if 300 <= status < 400:
        return redirected_error(response, system=system, error=error)
    where = safe_url(response.url or "")
    if not content.strip():
        return UpstreamProtocolError(
            f"{system} answered {status} for {where} with an empty body where JSON was expected",
            status=status,
            url=where,
        )
    head = content.lstrip()[:1024].lower()
    if head[:1] != b"<":
        return None
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "markup"
    if b"<html" not in head and b"<!doctype html" not in head:
        return UpstreamProtocolError(
            f"{system} answered {status} for {where} with XML ({kind}) instead of JSON: this "
            f"URL is not a JSON endpoint of the {system} API, or the server ignored "
            "Accept: application/json",
            status=status,
            url=where,
        )
    return error(
        f"{system} answered {status} for {where} with a web page ({kind}) instead of JSON: "
        f"a sign-in page or a proxy answers at this URL, not the {system} API",
        status=status,
        url=where,
    )


class UpstreamSession:
    """A ``requests.Session`` wrapper that only ever raises ``UpstreamError`` subclasses."""

    #: Name used in logs and messages ("OneRoster", "Canvas").
    role = "upstream"

    def __init__(
        self,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        allow_private: bool | None = None,
        pool_size: int = 10,
        sleep=time.sleep,
    ) -> None:
        self.connect_timeout = connect_timeout or settings.HTTP_CONNECT_TIMEOUT
        self.read_timeout = read_timeout or settings.HTTP_READ_TIMEOUT
        self.retry = retry or RetryPolicy()
        self.allow_private = (
            settings.ALLOW_PRIVATE_UPSTREAMS if allow_private is None else allow_private
        )
        self.max_response_bytes = settings.HTTP_MAX_RESPONSE_BYTES
        self._sleep = sleep
        self.session = requests.Session()
        # Read proxy and CA-bundle settings from the environment once, here, instead of on
        # every request: requests' per-request environment scan costs more CPU than the rest
        # of a small gradebook PUT (measured in the passback benchmark).
        self.session.proxies.update(urllib.request.getproxies())
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            self.session.verify = ca_bundle
        self.session.trust_env = False
        # Every direct connection resolves once and connects to the addresses it vetted
        # (integration.http.pinning); proxied requests are vetted in ``prepare``.
        adapter = PinnedAdapter(
            vet=not self.allow_private,
            pool_connections=pool_size,
            pool_maxsize=pool_size,
            max_retries=0,
        )
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.attempts_made = 0

    def close(self) -> None:
        self.session.close()

    # --- core API ------------------------------------------------------------------------

    def request(self, method: str, url: str, *, retry: bool | None = None, **kwargs: Any):
        """Send one logical request; return the ``requests.Response`` of a 2xx/3xx answer."""
        method = method.upper()
        kwargs = self.prepare(url, kwargs)
        may_retry = method in IDEMPOTENT_METHODS if retry is None else retry
        if not may_retry:
            try:
                return self._attempt(method, url, **kwargs)
            except TransientFailure as exc:
                raise exc.error from None
        policy = self.retry
        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.budget_seconds),
            wait=self._wait,
            retry=retry_if_exception_type(TransientFailure),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(method, url, **kwargs)
        except TransientFailure as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, url: str, **kwargs: Any) -> tuple[Any, requests.Response]:
        response = self.request("GET", url, **kwargs)
        return self.decode_json(response), response

    # --- hooks for subclasses ------------------------------------------------------------

    def prepare(self, url: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Vet a proxied host and fill in the mandatory timeouts; returns the request kwargs."""
        self._guard(url)
        kwargs.setdefault("timeout", (self.connect_timeout, self.read_timeout))
        kwargs.setdefault("allow_redirects", False)
        return kwargs

    def classify(self, response: requests.Response) -> UpstreamError | TransientFailure | None:
        """Map a response to an error (a ``TransientFailure`` is retried), or ``None`` if fine."""
        status = response.status_code
        where = safe_url(response.url or "")
        if status < 400:
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return TransientFailure(
                UpstreamRateLimited(
                    f"{self.role} kept rate-limiting requests to {where}",
                    retry_after=retry_after,
                    status=status,
                    url=where,
                ),
                retry_after,
            )
        if status in (502, 503, 504):
            return TransientFailure(
                UpstreamServerError(
                    f"{self.role} answered {status} for {where}",
                    status=status,
                    url=where,
                    payload=self.error_payload(response),
                ),
                retry_after,
            )
        if status == 401:
            return UpstreamAuthFailed(
                f"{self.role} refused the credentials ({status}) for {where}",
                status=status,
                url=where,
            )
        if status == 403:
            return UpstreamPermissionDenied(
                f"{self.role} denied access ({status}) to {where}", status=status, url=where
            )
        if status == 404:
            return UpstreamNotFound(f"{self.role} has nothing at {where}", status=status, url=where)
        return UpstreamServerError(
            f"{self.role} answered {status} for {where}",
            status=status,
            url=where,
            payload=self.error_payload(response),
        )

    def error_payload(self, response: requests.Response) -> object:
        try:
            return response.json()
        except ValueError:
            return None

    def body(self, response: requests.Response) -> bytes:
        """The response body, read to the end; a body cut short is a protocol error."""
        try:
            return response.content
        except requests.exceptions.RequestException as exc:
            raise UpstreamProtocolError(
                f"{self.role} cut the response short from {safe_url(response.url)}",
                url=safe_url(response.url),
            ) from exc

    def decode_json(self, response: requests.Response) -> Any:
        content = self.body(response)
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamProtocolError(
                f"{self.role} sent a body that is not valid JSON from {safe_url(response.url)}",
                status=response.status_code,
                url=safe_url(response.url),
            ) from exc

    # --- internals -----------------------------------------------------------------------

    def _guard(self, url: str) -> None:
        # Through a proxy, the proxy resolves and connects, so the address cannot be pinned:
        # vet the name on every request, and the proxy must refuse private destinations too
        # (docs/security.md). Direct connections are vetted as they connect.
        if self.allow_private or not select_proxy(url, self.session.proxies):
            return
        check_url_host(url)

    def _read_body(self, response: requests.Response, where: str) -> None:
        """Read the streamed body into ``response.content``, refusing more than the cap.

        Bodies are read in chunks and counted after decompression, so neither a hostile
        ``Content-Length``-less stream nor a compressed bomb can grow past the cap.
        """
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            self._refuse_large(response, where)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                self._refuse_large(response, where)
            chunks.append(chunk)
        response._content = b"".join(chunks)

    def _refuse_large(self, response: requests.Response, where: str) -> None:
        # The rest of the body is unread: drop the connection instead of reusing it.
        response.close()
        limit = self.max_response_bytes
        raise UpstreamResponseTooLarge(
            f"{self.role} sent more than {limit:,} bytes for {where}, the most "
            "HTTP_MAX_RESPONSE_BYTES allows for one answer; the rest was not read.",
            status=response.status_code,
            url=where,
            limit=limit,
        )

    def _attempt(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.attempts_made += 1
        where = safe_url(url)
        try:
            # Streamed, then read here under the size cap; reading now also makes a cut-off
            # body a (retryable) transport error.
            response = self.session.request(method, url, stream=True, **kwargs)
            self._read_body(response, where)
        except requests.exceptions.Timeout as exc:
            raise TransientFailure(
                UpstreamTimeout(f"{self.role} timed out at {where}", url=where)
            ) from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise TransientFailure(
                UpstreamProtocolError(f"{self.role} cut the response short at {where}", url=where)
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise TransientFailure(
                UpstreamUnreachable(f"{self.role} could not be reached at {where}", url=where)
            ) from exc
        except (
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidURL,
            requests.exceptions.URLRequired,
        ) as exc:
            raise UpstreamMisconfigured(
                f"{self.role} URL {where!r} is not a valid URL", url=where
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise UpstreamUnreachable(f"{self.role} request to {where} failed", url=where) from exc
        outcome = self.classify(response)
        if outcome is None:
            return response
        logger.info("%s %s %s -> %s", self.role, method, where, response.status_code)
        raise outcome

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = min(self.retry.max_wait, self.retry.base_delay * 2 ** (state.attempt_number - 1))
        delay = random.uniform(0, backoff)  # noqa: S311 - jitter, not cryptography
        if isinstance(exc, TransientFailure) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.retry.max_wait))
        return delay
