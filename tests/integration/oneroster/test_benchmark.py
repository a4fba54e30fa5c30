"""The benchmark functions other commands call work end to end (no timing assertions)."""

from __future__ import annotations

import gc

from integration.oneroster.benchmark import (
    ROSTER_READ,
    measure_client_read,
    measure_floor,
    measure_serving,
)
from tests.integration.oneroster.conftest import make_config


def test_floor_serving_and_client_read_cover_the_same_records(sandbox):
    config = make_config(sandbox, page_size=37)
    counts = sandbox.generated.counts()
    expected = (
        counts["schools"] + 1
        + counts["academicSessions"]
        + counts["courses"]
        + counts["classes"]
        + counts["users"]
        + counts["enrollments"]
    )  # fmt: skip
    assert ROSTER_READ == ("orgs", "academicSessions", "courses", "classes", "users",
                           "enrollments")  # fmt: skip
    assert measure_floor(config) > 0
    assert measure_floor(config, parser="orjson") > 0
    seconds, served, size = measure_serving(config)
    assert served == expected
    assert size > 0
    before = gc.get_threshold()
    seconds, records, peak_mb = measure_client_read(config)
    assert records == expected
    assert seconds > 0
    assert peak_mb > 10
    assert gc.get_threshold() == before, "the relaxed GC threshold is restored"
