"""The one floor definition (DESIGN §8) and the client read, end to end against the sandbox
(no timing assertions: what is measured, with which settings)."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from integration.oneroster.benchmark import (
    PARSERS,
    ROSTER_READ,
    RunConditions,
    bare_read,
    measure_client_read,
    measure_floors,
    ratios,
)
from integration.oneroster.paging import RelaxedGC
from tests.integration.oneroster.conftest import make_config


def _expected(sandbox) -> int:
    counts = sandbox.generated.counts()
    return (
        counts["schools"] + 1
        + counts["academicSessions"]
        + counts["courses"]
        + counts["classes"]
        + counts["users"]
        + counts["enrollments"]
    )  # fmt: skip


def test_floor_raw_serving_and_client_read_cover_the_same_records(sandbox):
    config = make_config(sandbox, page_size=37)
    assert ROSTER_READ == ("orgs", "academicSessions", "courses", "classes", "users",
                           "enrollments")  # fmt: skip
    floors = measure_floors(config, runs=3)
    assert len(floors.floor_runs) == len(floors.raw_runs) == 3
    assert floors.floor_s == min(floors.floor_runs) > 0
    assert floors.raw_s == min(floors.raw_runs) > 0
    assert floors.records == _expected(sandbox)
    assert floors.bytes > 0
    figures = floors.figures()
    assert figures["floor_runs"] == [round(s, 2) for s in floors.floor_runs]
    assert set(ratios(2 * floors.floor_s, floors)) == {"vs_floor", "vs_raw"}
    assert ratios(2 * floors.floor_s, floors)["vs_floor"] == 2.0
    before = gc.get_threshold()
    seconds, records, peak_mb = measure_client_read(config)
    assert records == floors.records
    assert seconds > 0
    assert peak_mb > 10
    assert gc.get_threshold() == before, "the relaxed GC threshold is restored"


def test_the_floor_reads_with_the_clients_gc_setting_and_concurrency(sandbox):
    """A serial loop under the default GC (the old floor) flattered the product."""
    config = make_config(sandbox, page_size=20, concurrency=3)
    lock = threading.Lock()
    seen = {"in_flight": 0, "most": 0, "thresholds": set()}

    def slow_parse(response, collection):
        with lock:
            seen["in_flight"] += 1
            seen["most"] = max(seen["most"], seen["in_flight"])
            seen["thresholds"].add(gc.get_threshold()[0])
        time.sleep(0.05)  # long enough for the other fetches to arrive
        with lock:
            seen["in_flight"] -= 1
        return PARSERS["json"](response, collection)

    before = gc.get_threshold()
    read = bare_read(config, slow_parse)
    assert read.records == _expected(sandbox)
    assert seen["most"] == config.concurrency
    assert seen["thresholds"] == {max(before[0], RelaxedGC.THRESHOLD)}
    assert gc.get_threshold() == before


def test_floors_need_at_least_one_sample(sandbox):
    with pytest.raises(ValueError, match="at least 1"):
        measure_floors(make_config(sandbox), runs=0)


def test_run_conditions_say_where_and_how_it_ran():
    record = RunConditions(["manage.py", "benchmark", "--students", "10"]).record("a note")
    assert record["command"] == "manage.py benchmark --students 10"
    assert record["machine"]["cores"] >= 1
    assert record["machine"]["ram_gb"] > 0
    assert record["machine"]["cpu_model"]
    assert record["machine"]["python"].count(".") == 2
    assert record["commit"]
    assert len(record["load_avg"]) == 2
    assert isinstance(record["busy"], bool)
    assert record["note"] == "a note"
