"""OneRoster 1.1 client: rostering streams and the gradebook, on ``UpstreamSession``.

Returns typed records (``records.py``) and raises only ``integration.http`` errors and
their refinements in ``errors.py``; it never touches the ORM. See docs/oneroster-client.md.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import orjson
import requests
from django.conf import settings

from integration.http.errors import (
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamNotFound,
    UpstreamProtocolError,
    UpstreamServerError,
)
from integration.http.session import (
    UTF8_BOM,
    RetryPolicy,
    TransientFailure,
    UpstreamSession,
    not_json_error,
    redirected_error,
    safe_url,
)
from integration.oneroster.auth import OAuth1Signer, TokenCache, scope_string
from integration.oneroster.errors import (
    ImsxStatus,
    OneRosterError,
    OneRosterNotAnApi,
    OneRosterRejected,
    VendorKeyMissing,
    VendorKeyRejected,
)
from integration.oneroster.paging import Item, Page, PagedReader, PageRequest
from integration.oneroster.parse import COLLECTION_KEYS, parse_page, parse_record
from integration.oneroster.records import (
    Category,
    InvalidRecord,
    LineItem,
    PagingAnomaly,
    Record,
    Result,
)
from integration.oneroster.wire import decode_page

logger = logging.getLogger(__name__)


#: Collections ``stream`` and ``get_first`` accept.
ROSTER_COLLECTIONS = (
    "orgs",
    "schools",
    "academicSessions",
    "terms",
    "courses",
    "classes",
    "users",
    "students",
    "teachers",
    "enrollments",
    "demographics",
)


class WriteOutcome(enum.StrEnum):
    """What a gradebook PUT did: 201 → created; 200 or 204 → updated. A 1.1 provider may also
    answer a create with 200 or 204: the write succeeded either way, only the label differs."""

    CREATED = "created"
    UPDATED = "updated"


@dataclass(frozen=True)
class OneRosterConfig:
    """Everything needed to talk to one provider. ``repr`` never shows a secret."""

    base_url: str  # ends with /ims/oneroster/v1p1
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    auth_method: str = "oauth2"  # or "oauth1" (HMAC-SHA256 via oauthlib)
    vendor_key: str | None = field(default=None, repr=False)
    vendor_secret: str | None = field(default=None, repr=False)
    page_size: int = field(default_factory=lambda: settings.ONEROSTER_PAGE_SIZE)
    concurrency: int = field(default_factory=lambda: settings.ONEROSTER_CONCURRENCY)
    allow_private: bool | None = None  # None = settings.ALLOW_PRIVATE_UPSTREAMS
    connect_timeout: float | None = None  # None = settings.HTTP_CONNECT_TIMEOUT
    read_timeout: float | None = None  # None = settings.HTTP_READ_TIMEOUT
    retry: RetryPolicy | None = None  # None = RetryPolicy() defaults

    def __post_init__(self) -> None:
        if self.auth_method not in ("oauth2", "oauth1"):
            raise ValueError("auth_method is 'oauth2' or 'oauth1'")
        if self.page_size < 1 or self.concurrency < 1:
            raise ValueError("page_size and concurrency must be at least 1")


class OneRosterSession(UpstreamSession):
    """``UpstreamSession`` that reads the imsx status payload of OneRoster error bodies."""

    role = "OneRoster"

    def classify(self, response: requests.Response) -> UpstreamError | TransientFailure | None:
        outcome = super().classify(response)
        if outcome is None:
            return None
        status = response.status_code
        where = safe_url(response.url or "")
        if isinstance(outcome, TransientFailure) and isinstance(outcome.error, UpstreamServerError):
            payload = self.error_payload(response)
            error = OneRosterError(
                f"OneRoster answered {status} for {where}",
                status=status,
                url=where,
                payload=payload,
                imsx=ImsxStatus.from_payload(payload),
            )
            return TransientFailure(error, outcome.retry_after)
        if type(outcome) is UpstreamServerError:
            imsx = ImsxStatus.from_payload(outcome.payload)
            kind = OneRosterRejected if 400 <= status < 500 else OneRosterError
            detail = f": {imsx.description}" if imsx and imsx.description else ""
            return kind(
                f"OneRoster answered {status} for {where}{detail}",
                status=status,
                url=where,
                payload=outcome.payload,
                imsx=imsx,
            )
        return outcome

    def error_payload(self, response: requests.Response) -> object:
        if len(response.content) > 65536:
            return None  # an error page, not an imsx status
        return super().error_payload(response)

    def decode_json(self, response: requests.Response) -> Any:
        """The JSON body; a body that is not JSON says what it is instead (a redirect, a
        web page, nothing), so a misconfigured URL or proxy reads as such."""
        try:
            return super().decode_json(response)
        except UpstreamProtocolError as exc:
            content = self.body(response)
            if content.startswith(UTF8_BOM):
                # RFC 8259 lets a parser ignore a byte order mark; some .NET servers send one.
                try:
                    return orjson.loads(content[len(UTF8_BOM) :])
                except orjson.JSONDecodeError:
                    pass
            error = not_json_error(response, content, system="OneRoster", error=OneRosterNotAnApi)
            raise error or exc from None


class OneRosterClient:
    """A district's OneRoster 1.1 provider.

    Thread-safe for the reads it runs itself; one client per district and job. Close it
    (or use it as a context manager) to release the connection pool and worker threads.
    """

    def __init__(
        self,
        config: OneRosterConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        #: X-Total-Count of each collection of the latest read, as its first pages arrive.
        self.read_totals: dict[str, int] = {}
        self._base = config.base_url.rstrip("/")
        origin = urlsplit(self._base)
        self._origin = (origin.scheme, origin.netloc)
        self._session = OneRosterSession(
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            retry=config.retry,
            allow_private=config.allow_private,
            pool_size=config.concurrency + 2,
            sleep=sleep,
        )
        self._token: TokenCache | None = None
        self._auth: requests.auth.AuthBase
        if config.auth_method == "oauth2":
            self._token = TokenCache(
                session=self._session,
                token_url=config.token_url,
                client_id=config.client_id,
                client_secret=config.client_secret,
                scope=scope_string(gradebook=bool(config.vendor_key)),
                clock=clock,
            )
            self._auth = self._token
        else:
            self._auth = OAuth1Signer(
                client_id=config.client_id, client_secret=config.client_secret
            )
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def __enter__(self) -> OneRosterClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OneRosterClient({safe_url(self._base)!r})"

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._session.close()

    @property
    def requests_made(self) -> int:
        """HTTP attempts so far (retries included): for tests and benchmarks."""
        return self._session.attempts_made

    # --- auth ----------------------------------------------------------------------------

    def fetch_token(self) -> None:
        """OAuth 2.0: get a token now (``TokenRefused`` if the provider refuses).
        OAuth 1.0a signs each request and has no token: a no-op."""
        if self._token is not None:
            self._token.fetch()

    # --- rostering -----------------------------------------------------------------------

    def get_first(self, collection: str) -> Record | InvalidRecord | None:
        """The first record of a collection (``GET ?limit=1``), or ``None`` if it is empty."""
        self._check_collection(collection)
        body = self._get_json(self._url(collection, {"limit": 1, "offset": 0}))
        rows = _envelope(body, COLLECTION_KEYS[collection], collection)
        return parse_record(collection, rows[0]) if rows else None

    def stream(
        self, collection: str, *, filter: str | None = None
    ) -> Iterator[Record | InvalidRecord | PagingAnomaly]:
        """Every record of a collection, page by page (pages fetched concurrently)."""
        for _, item in self.stream_many([(collection, filter)]):
            yield item

    def stream_many(
        self, requests: Sequence[tuple[str, str | None]]
    ) -> Iterator[tuple[str, Record | InvalidRecord | PagingAnomaly]]:
        """Several collections, in the order given, as (collection, item); their pages are
        fetched concurrently with at most ``config.concurrency`` requests in flight and a
        few pages buffered ahead of the consumer."""
        for collection, items in self.stream_pages(requests):
            for item in items:
                yield collection, item

    def stream_pages(
        self, requests: Sequence[tuple[str, str | None]]
    ) -> Iterator[tuple[str, list[Record | InvalidRecord | PagingAnomaly]]]:
        """``stream_many`` a page at a time, as (collection, items): for consumers that
        hand whole pages on (bulk loading) instead of paying a step per record."""
        for collection, _ in requests:
            self._check_collection(collection)
        yield from self._read_pages([(c, c, c, f, False) for c, f in requests])

    # --- gradebook -----------------------------------------------------------------------

    def get_categories(self) -> list[Category | InvalidRecord]:
        return self._gradebook_list("categories", "categories")

    def get_class_line_items(self, class_sourced_id: str) -> list[LineItem | InvalidRecord]:
        return self._gradebook_list(f"classes/{_seg(class_sourced_id)}/lineItems", "lineItems")

    def get_line_item(self, sourced_id: str) -> LineItem | InvalidRecord:
        body = self._get_json(self._url(f"lineItems/{_seg(sourced_id)}"), gradebook=True)
        return parse_record("lineItems", _single(body, "lineItem"))

    def get_results_for_line_item(self, line_item_sourced_id: str) -> list[Result | InvalidRecord]:
        """Results of one lineItem (through its class: 1.1 has no ``/lineItems/{id}/results``)."""
        line_item = self.get_line_item(line_item_sourced_id)
        class_id = line_item.class_ if isinstance(line_item, LineItem) else None
        if class_id is None:
            raw = line_item.raw if isinstance(line_item, InvalidRecord) else None
            ref = raw.get("class") if isinstance(raw, dict) else None
            class_id = ref.get("sourcedId") if isinstance(ref, dict) else None
        if not isinstance(class_id, str) or not class_id:
            raise UpstreamProtocolError(
                "The lineItem names no class, so its results cannot be listed",
                url=safe_url(self._base),
            )
        path = f"classes/{_seg(class_id)}/lineItems/{_seg(line_item_sourced_id)}/results"
        return self._gradebook_list(path, "results")

    def put_line_item(self, sourced_id: str, line_item: dict) -> WriteOutcome:
        return self._put(f"lineItems/{_seg(sourced_id)}", "lineItem", sourced_id, line_item)

    def put_result(self, sourced_id: str, result: dict) -> WriteOutcome:
        return self._put(f"results/{_seg(sourced_id)}", "result", sourced_id, result)

    def delete_line_item(self, sourced_id: str) -> None:
        self._delete(f"lineItems/{_seg(sourced_id)}")

    def delete_result(self, sourced_id: str) -> None:
        self._delete(f"results/{_seg(sourced_id)}")

    # --- internals: requests -------------------------------------------------------------

    def _url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = f"{self._base}/{path}"
        if params:
            # %20 rather than "+" for spaces: filter expressions travel intact everywhere.
            url += "?" + urlencode(params, quote_via=quote, safe="")
        return url

    def _send(self, method: str, url: str, *, gradebook: bool = False, **kwargs: Any):
        headers = {"Accept": "application/json"}
        if gradebook and self.config.vendor_key:
            headers["x-vendor-authorization"] = (
                f"{self.config.vendor_key}:{self.config.vendor_secret or ''}"
            )
        for attempt in (1, 2):
            generation = 0
            if self._token is not None:
                self._token.token()  # a refused token raises TokenRefused here, untangled
                generation = self._token.generation
            try:
                response = self._session.request(
                    method, url, headers=headers, auth=self._auth, **kwargs
                )
            except UpstreamAuthFailed as exc:
                if attempt == 1 and self._token is not None:
                    # Expired or revoked token: one fresh token, one retry.
                    self._token.invalidate(generation)
                    continue
                if gradebook and exc.status == 401:
                    if not self.config.vendor_key:
                        raise VendorKeyMissing(
                            "The SIS refused a gradebook request and no gradebook vendor key "
                            "(x-vendor-authorization) is configured",
                            status=exc.status,
                            url=exc.url,
                        ) from None
                    raise VendorKeyRejected(
                        "The SIS refused the gradebook vendor key (x-vendor-authorization)",
                        status=exc.status,
                        url=exc.url,
                    ) from None
                raise
            if 300 <= response.status_code < 400:
                # Redirects are not followed (the token must not travel): an API never
                # answers with one, a sign-in page in front of it does. Writes too.
                raise redirected_error(response, system="OneRoster", error=OneRosterNotAnApi)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_json(self, url: str, *, gradebook: bool = False) -> Any:
        response = self._send("GET", url, gradebook=gradebook)
        return self._session.decode_json(response)

    def _put(self, path: str, key: str, sourced_id: str, payload: dict) -> WriteOutcome:
        body = {key: {**payload, "sourcedId": sourced_id}}
        response = self._send("PUT", self._url(path), gradebook=True, json=body)
        return WriteOutcome.CREATED if response.status_code == 201 else WriteOutcome.UPDATED

    def _delete(self, path: str) -> None:
        try:
            self._send("DELETE", self._url(path), gradebook=True)
        except UpstreamNotFound:
            # Already gone: a retried DELETE whose first attempt succeeded lands here too.
            return

    # --- internals: paged reads ----------------------------------------------------------

    def _gradebook_list(self, path: str, collection: str) -> list:
        out = []
        for _, items in self._read_pages([(collection, path, collection, None, True)]):
            for item in items:
                if isinstance(item, PagingAnomaly):
                    logger.warning("OneRoster gradebook read %s: %s", collection, item.kind)
                    continue
                out.append(item)
        return out

    def _read_pages(
        self, reads: Sequence[tuple[str, str, str, str | None, bool]]
    ) -> Iterator[tuple[str, list[Item]]]:
        """``reads``: (label, path, collection, filter, gradebook?)."""
        gradebook = {path: flag for _, path, _, _, flag in reads}

        def fetch(request: PageRequest) -> Page:
            return self._fetch_page(request, gradebook=gradebook[request.path])

        reader = PagedReader(
            executor=self._pool(),
            fetch=fetch,
            concurrency=self.config.concurrency,
            same_origin=self._same_origin,
        )
        self.read_totals = reader.totals
        yield from reader.read_pages(
            [(label, path, collection, f) for label, path, collection, f, _ in reads],
            self.config.page_size,
        )

    def _fetch_page(self, request: PageRequest, *, gradebook: bool) -> Page:
        if request.url is not None:
            url = request.url
        else:
            params: dict[str, Any] = {"limit": request.limit, "offset": request.offset}
            if request.filter:
                params["filter"] = request.filter
            url = self._url(request.path, params)
        response = self._send("GET", url, gradebook=gradebook)
        records = decode_page(request.collection, self._session.body(response))
        if records is None:
            # Something on the page is not plainly valid: validate record by record.
            body = self._session.decode_json(response)
            rows = _envelope(body, COLLECTION_KEYS[request.collection], request.collection)
            records = parse_page(request.collection, rows)
        next_link = _next_link(response)
        return Page(
            records=records,
            total=_int_header(response.headers.get("X-Total-Count")),
            next_url=urljoin(response.url, next_link) if next_link else None,
        )

    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.config.concurrency, thread_name_prefix="oneroster"
                )
            return self._executor

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == self._origin

    def _check_collection(self, collection: str) -> None:
        if collection not in ROSTER_COLLECTIONS:
            raise ValueError(f"Unknown OneRoster collection {collection!r}")


def _seg(value: str) -> str:
    return quote(value, safe="")


def _int_header(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def _next_link(response: requests.Response) -> str | None:
    """The ``rel="next"`` target of the ``Link`` header. A link may carry several relation
    types (``rel="next last"``) in any case (RFC 8288)."""
    links = response.links
    link = links.get("next")
    if link is None:
        link = next((v for k, v in links.items() if "next" in k.lower().split()), None)
    return link.get("url") if link else None


def _envelope(body: Any, key: str, collection: str) -> list:
    rows = body.get(key) if isinstance(body, dict) else None
    if rows is None and isinstance(body, dict):
        # Some providers wrap a typed subset under its own name ("students") or spell the
        # key in another case ("Users"); a list under such a key is the collection.
        wanted = {key.casefold(), collection.casefold()}
        rows = next((v for k, v in body.items() if k.casefold() in wanted), None)
    if not isinstance(rows, list):
        raise UpstreamProtocolError(
            f"OneRoster answer for {collection} lacks the {key!r} list envelope"
        )
    return rows


def _single(body: Any, key: str) -> Any:
    if isinstance(body, dict):
        if key in body:
            return body[key]
        wanted = key.casefold()
        for name, value in body.items():
            if name.casefold() == wanted:
                return value
    raise UpstreamProtocolError(f"OneRoster answer lacks the {key!r} envelope")
