"""``manage.py benchmark --scaleout`` at a tiny size: real Celery workers on the test database
and Redis, one sandbox per district; the JSON has DESIGN §6's shape (no timing assertions)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_scaleout_measures_every_worker_count(tmp_path):
    target = tmp_path / "scaleout.json"
    call_command(
        "benchmark", "--scaleout", "--workers", "1,2", "--districts", "2", "--students", "80",
        "--schools", "2", "--courses", "2", "--latency-ms", "1", "--json", str(target),
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    result = json.loads(target.read_text())
    assert [e["workers"] for e in result["scaleout"]] == [1, 2]
    for entry in result["scaleout"]:
        assert {"workers", "districts", "passback_results_per_s", "delta_s"} <= set(entry)
        assert entry["districts"] == 2
        assert entry["passback_results_per_s"] > 0
        assert entry["passback_results"] > 0
        assert entry["delta_s"] > 0
        assert len(entry["delta_start_wait_s"]) == len(entry["passback_first_course_s"]) == 2
        assert entry["passback_districts_behind_a_whole_run"] >= 0
    assert result["scaleout"][0]["passback_speedup"] == 1.0
    assert result["command"].startswith("manage.py benchmark --scaleout --workers 1,2")
    assert result["machine"]["cores"] >= 1
    assert result["latency_ms"] == 1
    assert "--latency-ms 1.0" in result["command"]
