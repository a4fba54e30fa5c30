"""Build OneRoster 1.1 ``filter`` expressions: ``<field><predicate>'<value>'`` joined by
`` AND `` / `` OR ``.

Values are always single-quoted and the grammar has no escape for a quote inside a value,
so such values are refused. At most two predicates joined by one logical operator: the
portable subset every provider supports (IC included). URL encoding is the client's job.
"""

from __future__ import annotations

import datetime as dt
import re

PREDICATES = ("!=", ">=", "<=", "=", ">", "<", "~")
STATUSES = ("active", "tobedeleted")
MAX_PREDICATES = 2

_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")


def field_filter(field: str, predicate: str, value: str) -> str:
    """One predicate, e.g. ``field_filter("status", "=", "active")`` → ``status='active'``."""
    if not _FIELD.match(field):
        raise ValueError(f"Not a OneRoster field name: {field!r}")
    if predicate not in PREDICATES:
        raise ValueError(f"Unknown filter predicate {predicate!r}; use one of {PREDICATES}")
    if "'" in value:
        raise ValueError("OneRoster filter values cannot contain a single quote")
    return f"{field}{predicate}'{value}'"


def format_timestamp(when: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC. Sub-seconds are dropped (floored), which widens a
    ``>`` window by under a second rather than risking a missed change."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("Delta timestamps must be timezone-aware")
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def delta_filter(since: dt.datetime) -> str:
    """Records changed after ``since``: ``dateLastModified>'2026-01-01T00:00:00Z'``."""
    return field_filter("dateLastModified", ">", format_timestamp(since))


def status_filter(status: str = "active", *, predicate: str = "=") -> str:
    """``status='active'`` (or ``status='tobedeleted'``, or ``!=`` with ``predicate``)."""
    if status not in STATUSES:
        raise ValueError(f"OneRoster 1.1 status is one of {STATUSES}, not {status!r}")
    if predicate not in ("=", "!="):
        raise ValueError("status filters compare with = or !=")
    return field_filter("status", predicate, status)


def combine(*filters: str | None, op: str = "AND") -> str | None:
    """Join predicates with one logical operator, skipping ``None``; ``None`` if none left.

    ``combine(delta_filter(t), status_filter("tobedeleted"), op="OR")``.
    """
    if op not in ("AND", "OR"):
        raise ValueError("Filters join with AND or OR")
    parts = [f for f in filters if f]
    count = sum(_predicate_count(p) for p in parts)
    if count > MAX_PREDICATES:
        raise ValueError(
            f"At most {MAX_PREDICATES} predicates per filter are portable across providers"
        )
    if any((" AND " in p or " OR " in p) for p in parts) and len(parts) > 1:
        raise ValueError("Do not nest joined filters: providers do not support grouping")
    return f" {op} ".join(parts) or None


def _predicate_count(expression: str) -> int:
    return expression.count(" AND ") + expression.count(" OR ") + 1
