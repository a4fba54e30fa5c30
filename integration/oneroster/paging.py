"""Read OneRoster collections page by page, several pages in flight, in order.

The reader trusts neither the requested ``limit`` nor a short page:

- The first page of a collection tells the effective page size (a server may cap
  ``limit``) and ``X-Total-Count``. With a total, the remaining pages are planned by
  offset and fetched concurrently; a page that comes back short in the middle gets a
  follow-up request for the missing range. Without a total, pages are read one after the
  other until an empty page. A ``Link rel="next"`` that is not an offset link (an opaque
  cursor) is followed one page at a time.
- Records are de-duplicated by sourcedId across neighbouring pages (offset paging over
  changing data repeats records at page borders); a compact 8-byte-per-record hash log
  catches any other repeat at the end of the read. A total that changes, a repeat, or a
  unique count that does not match the total comes out as a ``PagingAnomaly``.
- A page larger than asked is kept whole when it is the first or a sequential one (the
  next request starts after it); a page that repeats the previous one whole (a provider
  that ignores ``offset``) stops the read with ``UpstreamProtocolError`` instead of
  reading the same page forever.

Memory stays flat: at most ``concurrency + 1`` pages are fetched ahead of the consumer.
"""

from __future__ import annotations

import gc
import logging
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from integration.http.errors import UpstreamProtocolError
from integration.oneroster.records import InvalidRecord, PagingAnomaly, Record

logger = logging.getLogger(__name__)

Item = Record | InvalidRecord | PagingAnomaly


@dataclass(slots=True)
class Page:
    """One fetched and parsed page."""

    records: list[Record | InvalidRecord]
    total: int | None
    next_url: str | None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What to fetch: by offset/limit, or an explicit ``Link`` URL (``url``)."""

    path: str
    collection: str
    filter: str | None
    offset: int
    limit: int
    url: str | None = None


#: Fetches one page (in a worker thread): HTTP, JSON, envelope, parsing.
Fetcher = Callable[[PageRequest], Page]


@dataclass(eq=False)
class _Slot:
    request: PageRequest
    future: Future | None = None


@dataclass(eq=False)
class _Cursor:
    """The reading state of one (collection, filter)."""

    label: str
    path: str
    collection: str
    filter: str | None
    page_size: int
    mode: str = "first"  # first | offset | sequential | link
    total: int | None = None
    first_total: int | None = None
    planned_to: int = 0
    slots: deque[_Slot] = field(default_factory=deque)
    yielded: int = 0
    duplicates: int = 0
    reported: set[str] = field(default_factory=set)
    previous_ids: set[str] = field(default_factory=set)
    hashes: list[array] = field(default_factory=lambda: [array("q") for _ in range(256)])

    def request(self, offset: int, limit: int, url: str | None = None) -> PageRequest:
        return PageRequest(self.path, self.collection, self.filter, offset, limit, url)


class RelaxedGC:
    """Raise the cyclic GC's first threshold while bulk reads run.

    A page decodes into ~150,000 dicts and lists that all survive, so with the default
    threshold (700) the collector runs over and over and full collections rescan every
    record still alive: measured, that doubles JSON decoding and parsing time. Records and
    pages hold no reference cycles, so collecting less often frees nothing later. The
    setting is process-wide; nested and concurrent reads share it and the last one out
    restores the previous thresholds.
    """

    THRESHOLD = 100_000
    _lock = threading.Lock()
    _depth = 0
    _saved: tuple[int, int, int] | None = None

    def __enter__(self) -> None:
        with self._lock:
            if RelaxedGC._depth == 0:
                RelaxedGC._saved = gc.get_threshold()
                first, second, third = RelaxedGC._saved
                gc.set_threshold(max(first, self.THRESHOLD), second, third)
            RelaxedGC._depth += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            RelaxedGC._depth -= 1
            if RelaxedGC._depth == 0 and RelaxedGC._saved is not None:
                gc.set_threshold(*RelaxedGC._saved)


class PagedReader:
    """Drives the fetches of several cursors through one thread pool, yielding in order."""

    def __init__(
        self,
        *,
        executor: ThreadPoolExecutor,
        fetch: Fetcher,
        concurrency: int,
        same_origin: Callable[[str], bool],
    ) -> None:
        self._executor = executor
        self._fetch = fetch
        self._concurrency = max(1, concurrency)
        self._max_ahead = self._concurrency + 1
        self._same_origin = same_origin
        #: The latest X-Total-Count of each read (by label), for progress reports.
        self.totals: dict[str, int] = {}

    def read_pages(
        self, reads: Sequence[tuple[str, str, str, str | None]], page_size: int
    ) -> Iterator[tuple[str, list[Item]]]:
        """``reads``: (label, path, collection, filter). Yields (label, items) in reading
        order: a page's records (repeats skipped), or the paging anomalies found there."""
        cursors: deque[_Cursor] = deque()
        for label, path, collection, filter_ in reads:
            cursor = _Cursor(label, path, collection, filter_, max(1, page_size))
            cursor.slots.append(_Slot(cursor.request(0, cursor.page_size)))
            cursors.append(cursor)
        relaxed = RelaxedGC()
        relaxed.__enter__()
        try:
            while cursors:
                self._submit(cursors)
                head = cursors[0]
                if not head.slots:
                    cursors.popleft()
                    anomalies = self._finish(head)
                    if anomalies:
                        yield head.label, anomalies
                    continue
                slot = head.slots[0]
                if slot.future is None:
                    slot.future = self._executor.submit(self._fetch, slot.request)
                page = slot.future.result()
                head.slots.popleft()
                anomalies = self._plan(head, slot.request, page)
                self._submit(cursors)
                if anomalies:
                    yield head.label, anomalies
                yield head.label, self._deduplicate(head, page.records)
        finally:
            relaxed.__exit__()
            for cursor in cursors:
                for slot in cursor.slots:
                    if slot.future is not None:
                        slot.future.cancel()

    # --- scheduling ----------------------------------------------------------------------

    def _submit(self, cursors: deque[_Cursor]) -> None:
        ahead = 0
        in_flight = 0
        for cursor in cursors:
            for slot in cursor.slots:
                if slot.future is not None:
                    ahead += 1
                    if not slot.future.done():
                        in_flight += 1
        for cursor in cursors:
            for slot in cursor.slots:
                if ahead >= self._max_ahead or in_flight >= self._concurrency:
                    return
                if slot.future is None:
                    slot.future = self._executor.submit(self._fetch, slot.request)
                    ahead += 1
                    in_flight += 1

    def _plan(self, cursor: _Cursor, request: PageRequest, page: Page) -> list[Item]:
        """Update the cursor with a page's facts; plan the next requests."""
        anomalies: list[Item] = []
        if (
            len(page.records) > request.limit
            and request.url is None
            and cursor.mode not in ("first", "sequential")
        ):
            # The server ignored our limit on a planned page: the surplus belongs to the
            # next planned request. (A first or sequential page keeps it all: the next
            # request starts after what arrived.)
            del page.records[request.limit :]
        got = len(page.records)
        offset = request.offset
        _refuse_a_repeated_page(cursor, request, page)
        if page.total is not None:
            if cursor.first_total is None:
                cursor.first_total = page.total
            elif page.total != cursor.total and "total_changed" not in cursor.reported:
                cursor.reported.add("total_changed")
                anomalies.append(
                    PagingAnomaly(
                        cursor.collection,
                        "total_changed",
                        f"X-Total-Count changed from {cursor.total} to {page.total} "
                        f"during the read (at offset {offset})",
                    )
                )
            cursor.total = page.total
            self.totals[cursor.label] = page.total
        next_url = page.next_url if page.next_url and self._same_origin(page.next_url) else None

        first = cursor.mode == "first"
        if first:
            if next_url and not _is_offset_link(next_url):
                cursor.mode = "link"
            elif cursor.total is None:
                cursor.mode = "sequential"
            else:
                cursor.mode = "offset"
                if (0 < got < request.limit and got < cursor.total) or got > request.limit:
                    cursor.page_size = got  # the server sets its own page size
                cursor.planned_to = got
        if cursor.mode == "link":
            if next_url and got:
                cursor.slots.appendleft(_Slot(cursor.request(offset + got, 0, next_url)))
            return anomalies
        if cursor.mode == "sequential":
            if got:
                cursor.slots.appendleft(_Slot(cursor.request(offset + got, cursor.page_size)))
            return anomalies
        # Offset mode: fill a short page's gap first, then plan up to the (latest) total.
        # (A short first page set the page size instead: the plan starts where it ended.)
        if not first and 0 < got < request.limit and offset + got < (cursor.total or 0):
            cursor.slots.appendleft(_Slot(cursor.request(offset + got, request.limit - got)))
        total = cursor.total or 0
        while cursor.planned_to < total:
            size = min(cursor.page_size, total - cursor.planned_to)
            cursor.slots.append(_Slot(cursor.request(cursor.planned_to, size)))
            cursor.planned_to += size
        return anomalies

    # --- de-duplication and completeness -------------------------------------------------

    def _deduplicate(self, cursor: _Cursor, records: list[Record | InvalidRecord]) -> list[Item]:
        """The page without records already seen on it or on the previous page."""
        previous = cursor.previous_ids
        current: set[str] = set()
        add = current.add
        hashes = cursor.hashes
        kept: list[Item] = []
        keep = kept.append
        for record in records:
            sid = record.sourced_id
            if sid is not None:
                if sid in current or sid in previous:
                    continue
                add(sid)
                h = hash(sid)
                hashes[h & 0xFF].append(h)
            keep(record)
        skipped = len(records) - len(kept)
        cursor.yielded += len(kept)
        cursor.previous_ids = current
        if skipped:
            cursor.duplicates += skipped
            if "duplicate_sourced_id" not in cursor.reported:
                cursor.reported.add("duplicate_sourced_id")
                kept.append(
                    PagingAnomaly(
                        cursor.collection,
                        "duplicate_sourced_id",
                        "the same sourcedId arrived on two pages (records shifted during "
                        "the read); repeats were skipped",
                    )
                )
        return kept

    def _finish(self, cursor: _Cursor) -> list[Item]:
        anomalies: list[Item] = []
        repeats = sum(len(b) - len(set(b)) for b in cursor.hashes)
        cursor.hashes = []
        if repeats and "duplicate_sourced_id" not in cursor.reported:
            anomalies.append(
                PagingAnomaly(
                    cursor.collection,
                    "duplicate_sourced_id",
                    f"{repeats} sourcedId(s) arrived more than once, pages apart",
                )
            )
        unique = cursor.yielded - repeats
        total = cursor.total
        if total is not None and unique < total:
            anomalies.append(
                PagingAnomaly(
                    cursor.collection,
                    "short_read",
                    f"X-Total-Count promised {total} records, {unique} distinct ones arrived",
                )
            )
        elif total is not None and unique > total and "total_changed" not in cursor.reported:
            anomalies.append(
                PagingAnomaly(
                    cursor.collection,
                    "total_changed",
                    f"X-Total-Count said {total} records, {unique} distinct ones arrived",
                )
            )
        for anomaly in anomalies:
            logger.warning("OneRoster paging anomaly on %s: %s", anomaly.collection, anomaly.kind)
        return anomalies


def _refuse_a_repeated_page(cursor: _Cursor, request: PageRequest, page: Page) -> None:
    """Stop a read whose pages do not advance: a provider that ignores ``offset`` (or whose
    next link leads back) answers every request with the same records, and reading on
    would never end. Records shifted by changes during the read overlap a page only in
    part; a page that repeats the previous one whole means the paging itself is broken."""
    records = page.records
    previous = cursor.previous_ids
    if not records or len(records) != len(previous) or records[0].sourced_id not in previous:
        return
    if all(record.sourced_id in previous for record in records):
        where = f"the page at offset {request.offset}" if request.url is None else "the next page"
        raise UpstreamProtocolError(
            f"OneRoster sent the same {len(records)} {cursor.collection} records for "
            f"{where} as for the page before: the provider ignores offset (or its next link "
            f"leads back), so {cursor.collection} cannot be read completely"
        )


def _is_offset_link(url: str) -> bool:
    return "offset" in parse_qs(urlsplit(url).query)
