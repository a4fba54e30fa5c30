"""Parse and apply the OneRoster ``filter`` parameter on the provider side.

Supports what IC consumers send: ``dateLastModified``, ``status`` and ``sourcedId`` with
``= != > >= < <= ~``, at most two predicates joined by `` AND `` or `` OR ``.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

FIELDS = frozenset({"dateLastModified", "status", "sourcedId"})
_PREDICATE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.]*)\s*(!=|>=|<=|=|>|<|~)\s*'([^']*)'\s*$")
OPERATORS: dict[str, Callable] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class FilterError(ValueError):
    """The filter is malformed or names a field the provider cannot filter on."""

    def __init__(self, message: str, *, code_minor: str = "invalid_selection_field") -> None:
        super().__init__(message)
        self.code_minor = code_minor


@dataclass(frozen=True)
class Predicate:
    field: str
    op: str
    value: str
    number: int | None = None  # dateLastModified as epoch seconds


@dataclass(frozen=True)
class Filter:
    predicates: tuple[Predicate, ...]
    join: str  # AND | OR

    def matches(self, get: Callable[[str], object]) -> bool:
        results = (predicate_holds(p, get(p.field)) for p in self.predicates)
        return all(results) if self.join == "AND" else any(results)


def predicate_holds(p: Predicate, actual: object) -> bool:
    if p.op == "~":
        return p.value.lower() in str(actual).lower()
    expected = p.number if p.number is not None else p.value
    return bool(OPERATORS[p.op](actual, expected))


def parse_timestamp(value: str) -> int:
    """Epoch seconds of a filter value: a date-time (offset or Z) or a bare date (00:00 UTC)."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            when = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        else:
            when = dt.datetime.fromisoformat(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise FilterError(f"Not a date-time: {value!r}", code_minor="invaliddata") from exc
    return int(when.timestamp())


def parse_filter(text: str) -> Filter:
    joins = [j for j in (" AND ", " OR ") if j in text]
    if len(joins) > 1:
        raise FilterError("AND and OR cannot be mixed")
    join = joins[0].strip() if joins else "AND"
    parts = text.split(joins[0]) if joins else [text]
    if len(parts) > 2:
        raise FilterError("At most two predicates are supported")
    predicates = []
    for part in parts:
        match = _PREDICATE.match(part)
        if not match:
            raise FilterError(f"Malformed filter predicate: {part.strip()[:60]!r}")
        field, op, value = match.groups()
        if field not in FIELDS:
            raise FilterError(f"Cannot filter on {field!r}; supported: {sorted(FIELDS)}")
        number = parse_timestamp(value) if field == "dateLastModified" else None
        if number is not None and op == "~":
            raise FilterError("dateLastModified cannot use ~")
        predicates.append(Predicate(field, op, value, number))
    return Filter(tuple(predicates), join)
