"""The OneRoster 1.1 query parameters on the provider side: ``filter``, ``sort``/``orderBy``
and ``fields``, with 1.1's errors.

- ``filter``: any field of the record kind (dotted for a reference, ``class.sourcedId``),
  ``= != > >= < <= ~``, predicates joined by `` AND `` or by `` OR `` (never both).
  ``dateLastModified`` compares as a point in time; a list field holds when one element
  does; a reference compares by its ``sourcedId``.
- ``sort=<field>&orderBy=asc|desc``: an unknown field answers 400 ``invalid_sort_field``.
- ``fields=a,b``: an unknown field answers 400 ``invalid_selection_field``; so does a filter
  on an unknown field (1.2 renamed that one ``invalid_filter_field``, which 1.1 lacks).

Filters and sorts on ``dateLastModified``, ``status`` and ``sourcedId`` are served from the
district's columns (the delta reads and the ``sort=sourcedId`` paging consumers send);
anything else works on the rendered records, which is slower but only taken when asked for.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

_BASE = ("sourcedId", "status", "dateLastModified", "metadata")
#: The 1.1 fields of each record kind (the IMS OpenAPI ``*.Type`` properties).
FIELDS: dict[str, frozenset[str]] = {
    kind: frozenset((*_BASE, *names))
    for kind, names in {
        "orgs": ("name", "type", "identifier", "parent", "children"),
        "academicSessions": (
            "title", "startDate", "endDate", "type", "parent", "children", "schoolYear",
        ),
        "courses": (
            "title", "schoolYear", "courseCode", "grades", "subjects", "org", "subjectCodes",
            "resources",
        ),
        "classes": (
            "title", "classCode", "classType", "location", "grades", "subjects", "course",
            "school", "terms", "subjectCodes", "periods", "resources",
        ),
        "users": (
            "username", "userIds", "enabledUser", "givenName", "familyName", "middleName",
            "role", "identifier", "email", "sms", "phone", "agents", "orgs", "grades", "password",
        ),
        "enrollments": ("user", "class", "school", "role", "primary", "beginDate", "endDate"),
        "demographics": (
            "birthDate", "sex", "americanIndianOrAlaskaNative", "asian",
            "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white",
            "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity", "countryOfBirthCode",
            "stateOfBirthAbbreviation", "cityOfBirth", "publicSchoolResidenceStatus",
        ),
        "categories": ("title",),
        "lineItems": (
            "title", "description", "assignDate", "dueDate", "class", "category",
            "gradingPeriod", "resultValueMin", "resultValueMax",
        ),
        "results": ("lineItem", "student", "scoreStatus", "score", "scoreDate", "comment"),
    }.items()
}  # fmt: skip
#: Filters the district's columns answer without rendering a record.
COLUMN_FIELDS = frozenset({"dateLastModified", "status", "sourcedId"})

_PREDICATE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.]*)\s*(!=|>=|<=|=|>|<|~)\s*'([^']*)'\s*$")
OPERATORS: dict[str, Callable] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class QueryError(ValueError):
    """A malformed or unknown ``filter``/``sort``/``fields``; ``code_minor`` is 1.1's."""

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

    @property
    def columnar(self) -> bool:
        return all(p.field in COLUMN_FIELDS for p in self.predicates)


def predicate_holds(p: Predicate, actual: object) -> bool:
    if isinstance(actual, list):
        if p.op == "!=":
            return all(_holds(p, item) for item in actual)
        return any(_holds(p, item) for item in actual)
    return _holds(p, actual)


def _holds(p: Predicate, actual: object) -> bool:
    if isinstance(actual, dict):
        actual = actual.get("sourcedId")
    if p.number is not None:
        if isinstance(actual, str):
            actual = parse_timestamp(actual)
        if not isinstance(actual, int):
            return p.op == "!="
        return bool(OPERATORS[p.op](actual, p.number))
    if actual is None:
        return p.op == "!="
    if isinstance(actual, bool):
        actual = "true" if actual else "false"
    if p.op == "~":
        return p.value.lower() in str(actual).lower()
    if isinstance(actual, int | float):
        try:
            return bool(OPERATORS[p.op](actual, float(p.value)))
        except ValueError:
            return p.op == "!="
    return bool(OPERATORS[p.op](str(actual), p.value))


def parse_timestamp(value: str) -> int:
    """Epoch seconds of a date-time (offset or Z) or a bare date (00:00 UTC)."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            when = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        else:
            when = dt.datetime.fromisoformat(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise QueryError(f"Not a date-time: {value!r}", code_minor="invaliddata") from exc
    return int(when.timestamp())


def _known(kind: str, name: str) -> bool:
    return name.split(".", 1)[0] in FIELDS[kind]


def parse_filter(text: str, kind: str) -> Filter:
    joins = [j for j in (" AND ", " OR ") if j in text]
    if len(joins) > 1:
        raise QueryError("AND and OR cannot be mixed", code_minor="invaliddata")
    join = joins[0].strip() if joins else "AND"
    parts = text.split(joins[0]) if joins else [text]
    predicates = []
    for part in parts:
        match = _PREDICATE.match(part)
        if not match:
            raise QueryError(
                f"Malformed filter predicate: {part.strip()[:60]!r}", code_minor="invaliddata"
            )
        name, op, value = match.groups()
        if not _known(kind, name):
            raise QueryError(f"{kind} have no field {name!r} to filter on")
        number = parse_timestamp(value) if name == "dateLastModified" else None
        if number is not None and op == "~":
            raise QueryError("dateLastModified cannot use ~", code_minor="invaliddata")
        predicates.append(Predicate(name, op, value, number))
    return Filter(tuple(predicates), join)


@dataclass(frozen=True)
class Query:
    """The parsed ``filter``, ``sort``/``orderBy`` and ``fields`` of one request."""

    filter: Filter | None = None
    sort: str | None = None
    descending: bool = False
    fields: tuple[str, ...] | None = None

    @property
    def columnar(self) -> bool:
        """Whether the district's columns answer it (no record needs rendering)."""
        return (
            (self.sort is None or self.sort in COLUMN_FIELDS)
            and self.fields is None
            and (self.filter is None or self.filter.columnar)
        )

    def select(self, records: Iterable[dict]) -> list[dict]:
        """The records that pass the filter, in the requested order."""
        flt = self.filter
        chosen = (
            list(records)
            if flt is None
            else [r for r in records if flt.matches(lambda name, r=r: field_value(r, name))]
        )
        if self.sort is not None:
            name = self.sort
            present = [r for r in chosen if field_value(r, name) is not None]
            absent = [r for r in chosen if field_value(r, name) is None]
            present.sort(key=lambda r: _sort_key(field_value(r, name)), reverse=self.descending)
            chosen = present + absent  # records without the field last, either way
        return chosen

    def project(self, record: dict) -> dict:
        if self.fields is None:
            return record
        return {name: record[name] for name in self.fields if name in record}


def parse_query(params: dict[str, str], kind: str) -> Query:
    """``Query`` of the request's parameters for records of ``kind``; raises ``QueryError``."""
    text = params.get("filter")
    flt = parse_filter(text, kind) if text else None
    sort = params.get("sort") or None
    if sort is not None and not _known(kind, sort):
        raise QueryError(
            f"{kind} have no field {sort!r} to sort on", code_minor="invalid_sort_field"
        )
    order = (params.get("orderBy") or "asc").lower()
    if order not in ("asc", "desc"):
        raise QueryError("orderBy is asc or desc", code_minor="invaliddata")
    fields = None
    if params.get("fields"):
        fields = tuple(name.strip() for name in params["fields"].split(",") if name.strip())
        unknown = [name for name in fields if name not in FIELDS[kind]]
        if unknown:
            raise QueryError(f"{kind} have no field(s) {', '.join(unknown)}")
    return Query(flt, sort, order == "desc", fields)


def field_value(record: dict, name: str) -> Any:
    value: Any = record
    for part in name.split("."):
        if isinstance(value, list):
            return [v.get(part) for v in value if isinstance(v, dict)]
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _sort_key(value: Any) -> tuple:
    if isinstance(value, dict):
        value = value.get("sourcedId")
    if isinstance(value, list):
        value = ",".join(str(v.get("sourcedId") if isinstance(v, dict) else v) for v in value)
    if isinstance(value, bool):
        return (0, int(value), "")
    if isinstance(value, int | float):
        return (0, value, "")
    return (1, 0, str(value))
