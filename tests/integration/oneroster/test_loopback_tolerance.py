"""The simulated Infinite Campus sending fields in other providers' shapes (the
``field_value`` fault), read over loopback HTTP: the client reads every record, to the
same records as the plain shape gives, only spelt differently on the wire."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from integration.oneroster.records import InvalidRecord, PagingAnomaly
from sandbox.oneroster.faults import FaultRule


def _records(client, collection: str) -> list:
    items = list(client.stream(collection))
    assert not [i for i in items if isinstance(i, InvalidRecord | PagingAnomaly)], items[:3]
    return items


@pytest.mark.parametrize(
    ("collection", "field", "value", "attribute", "read"),
    [
        ("enrollments", "status", "Active ", "status", "active"),
        ("users", "status", "ACTIVE", "status", "active"),
        ("classes", "classType", "Scheduled", "class_type", "scheduled"),
        ("classes", "periods", "1, 2", "periods", ("1", "2")),
        ("users", "grades", "09,10", "grades", ("09", "10")),
        # A padded CSV column, and a boolean in capitals.
        ("enrollments", "beginDate", "  ", "begin_date", None),
        ("users", "middleName", " ", "middle_name", ""),
        ("users", "enabledUser", "TRUE", "enabled_user", True),
        (
            "enrollments",
            "dateLastModified",
            "2026-01-01",
            "date_last_modified",
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ),
    ],
)
def test_other_spellings_over_loopback_read_to_the_same_records(
    sandbox, client_for, collection, field, value, attribute, read
):
    plain = _records(client_for(sandbox), collection)
    assert {r.status for r in plain} == {"active"}
    sandbox.oneroster.faults.set(
        [FaultRule("field_value", count=-1, match=collection, field=field, value=value)]
    )
    shaped = _records(client_for(sandbox), collection)
    assert shaped == [msgspec.structs.replace(r, **{attribute: read}) for r in plain]
