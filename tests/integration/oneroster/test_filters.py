"""The filter helper builds the portable OneRoster 1.1 filter subset, and nothing else."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from integration.oneroster.filters import (
    combine,
    delta_filter,
    field_filter,
    format_timestamp,
    status_filter,
)


def test_delta_filter_is_utc_quoted_and_floored_to_the_second():
    since = dt.datetime(2026, 1, 1, 1, 30, 15, 999_999, tzinfo=ZoneInfo("America/Chicago"))
    assert delta_filter(since) == "dateLastModified>'2026-01-01T07:30:15Z'"


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(dt.datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_status_filter_spellings():
    assert status_filter() == "status='active'"
    assert status_filter("tobedeleted", predicate="!=") == "status!='tobedeleted'"
    with pytest.raises(ValueError, match="status"):
        status_filter("inactive")
    with pytest.raises(ValueError, match="compare"):
        status_filter("active", predicate=">")


def test_field_filter_validates_field_predicate_and_value():
    assert field_filter("sourcedId", "=", "s123") == "sourcedId='s123'"
    with pytest.raises(ValueError, match="field"):
        field_filter("bad field", "=", "x")
    with pytest.raises(ValueError, match="predicate"):
        field_filter("status", "==", "active")
    with pytest.raises(ValueError, match="single quote"):
        field_filter("familyName", "=", "O'Brien")


def test_combine_joins_at_most_two_predicates_with_one_operator():
    since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    both = combine(delta_filter(since), status_filter("tobedeleted"), op="OR")
    assert both == "dateLastModified>'2026-01-01T00:00:00Z' OR status='tobedeleted'"
    assert combine(None, status_filter()) == "status='active'"
    assert combine(None, None) is None
    with pytest.raises(ValueError, match="At most 2"):
        combine(status_filter(), status_filter(), field_filter("sourcedId", "=", "x"))
    with pytest.raises(ValueError, match="AND or OR"):
        combine(status_filter(), op="XOR")
