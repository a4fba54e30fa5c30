"""Canvas's ``DiffGenerator``: keep only the rows that changed since the previous import
of the same data set (``sis_batch.rb``), with missing rows sent as the drop status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.canvas.sis.upload import IMPORTERS, CsvSource, ImportMessage

#: Row identity per importer, for diffing (``identifying_fields`` in each CSV importer).
IDENTIFYING_FIELDS: dict[str, tuple[str, ...]] = {
    "account": ("account_id",),
    "term": ("term_id", "date_override_enrollment_type"),
    "abstract_course": ("abstract_course_id",),
    "course": ("course_id",),
    "section": ("section_id",),
    "xlist": ("xlist_course_id", "section_id"),
    "user": ("user_id",),
    "login": ("user_id",),
    "enrollment": (
        "course_id",
        "section_id",
        "user_id",
        "user_integration_id",
        "role",
        "role_id",
        "associated_user_id",
        "temporary_enrollment_source_user_id",
    ),
    "admin": ("user_id", "account_id", "role_id", "role"),
    "group_category": ("group_category_id",),
    "group": ("group_id",),
    "group_membership": ("group_id", "user_id"),
    "user_observer": ("observer_id", "student_id"),
}


MSG_DIFF_SIZE = "Diffing not performed because file size difference exceeded threshold"

MSG_DIFF_ROWS = "Diffing not performed because difference row count exceeded threshold"

MSG_DIFF_MISMATCH = (
    "Unable to perform diffing against mismatched previous and current {kind} imports"
)


def _identity(header: list[str], fields: tuple[str, ...]) -> Callable[[list[str]], str]:
    positions = [header.index(name) if name in header else -1 for name in fields]

    def key(raw: list[str]) -> str:
        return "\x1f".join(raw[p].strip() if 0 <= p < len(raw) else "" for p in positions)

    return key


def _canonical(header: list[str]) -> Callable[[list[str]], int]:
    order = sorted(range(len(header)), key=lambda i: header[i])

    def digest(raw: list[str]) -> int:
        return hash(tuple(raw[i].strip() if i < len(raw) else "" for i in order))

    return digest


def _diff_pair(
    previous: CsvSource, current: CsvSource, drop_status: str
) -> list[tuple[int, list[str]]]:
    """Rows of ``current`` that are new or changed, then ``previous`` rows now missing
    (with ``status`` set to ``drop_status``), in ``current``'s column layout."""
    fields = IDENTIFYING_FIELDS[current.kind]
    old_key = _identity(previous.header, fields)
    old_digest = _canonical(previous.header)
    known: dict[str, int] = {}
    for _, raw in previous.rows():
        known[old_key(raw)] = old_digest(raw)
    new_key = _identity(current.header, fields)
    new_digest = _canonical(current.header)
    out: list[tuple[int, list[str]]] = []
    for _, raw in current.rows():
        key = new_key(raw)
        before = known.pop(key, None)
        if before is None or before != new_digest(raw):
            out.append((len(out) + 2, raw))
    if known:
        width = len(current.header)
        status_at = current.header.index("status") if "status" in current.header else -1
        positions = [
            previous.header.index(name) if name in previous.header else -1
            for name in current.header
        ]
        for _, raw in previous.rows():
            if old_key(raw) not in known:
                continue
            row = [raw[p] if 0 <= p < len(raw) else "" for p in positions][:width]
            if status_at >= 0:
                row[status_at] = drop_status
            out.append((len(out) + 2, row))
    return out


@dataclass(slots=True)
class DiffResult:
    sources: list[CsvSource]
    messages: list[ImportMessage]
    row_count: int
    performed: bool


def diff_sources(
    previous: list[CsvSource],
    current: list[CsvSource],
    *,
    drop_status: str | None,
    user_remove_status: str | None,
) -> DiffResult:
    """Canvas's ``DiffGenerator``: keep only what changed since the previous import.

    Files pair up per type (by file name when a type has several); a type missing on
    either side, or with unmatched names, is applied whole.
    """
    messages: list[ImportMessage] = []
    out: list[CsvSource] = []
    total = 0
    kinds = {source.kind for source in current}
    for kind in sorted(kinds, key=IMPORTERS.index):
        now = [s for s in current if s.kind == kind]
        before = [s for s in previous if s.kind == kind]
        if not before or kind not in IDENTIFYING_FIELDS:
            out.extend(now)
            total += sum(s.row_count for s in now)
            continue
        if len(now) == 1 and len(before) == 1:
            pairs = [(before[0], now[0])]
        else:
            by_name = {s.name: s for s in before}
            pairs = [(by_name.get(s.name), s) for s in now]
        for old, new in pairs:
            if old is None:
                messages.append(ImportMessage(new.name, MSG_DIFF_MISMATCH.format(kind=kind)))
                out.append(new)
                total += new.row_count
                continue
            status = "deleted"
            if kind == "enrollment" and drop_status:
                status = drop_status
            if kind == "user" and user_remove_status:
                status = user_remove_status
            rows = _diff_pair(old, new, status)
            total += len(rows)
            if rows:
                out.append(CsvSource(new.name, kind, new.header, len(rows), new.size, _rows=rows))
    return DiffResult(out, messages, total, True)
