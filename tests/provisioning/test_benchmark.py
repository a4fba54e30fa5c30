"""``manage.py benchmark`` on a tiny district: the same command CI runs as a smoke test."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from provisioning.benchmark import RESULT_KEYS

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_benchmark_command_measures_every_figure(tmp_path):
    target = tmp_path / "bench.json"
    out = io.StringIO()
    call_command(
        "benchmark", "--students", "120", "--schools", "2", "--json", str(target), stdout=out,
        stderr=io.StringIO(),
    )  # fmt: skip
    result = json.loads(target.read_text())
    assert json.loads(out.getvalue()) == result
    assert set(RESULT_KEYS) <= set(result)
    assert result["students"] == 120
    for key in ("floor_s", "raw_s", "full_s", "rerun_s", "delta_s", "peak_rss_mb"):
        assert result[key] > 0
    assert len(result["floor_runs"]) == 3
    assert result["floor_s"] == min(result["floor_runs"])
    assert result["details"]["full_vs_floor"] > 0
    assert result["details"]["full_vs_raw"] > 0
    assert result["details"]["concurrency"] == 5
    assert result["machine"]["cores"] >= 1
    assert result["command"].startswith("manage.py benchmark --students 120 --schools 2")
    # Phase timings come from the stored phase stamps of each run.
    assert {"reading", "planning"} <= set(result["details"]["full_phases_s"])
    assert result["details"]["full_counts"]["enrollments"]["create"] > 0
    assert sum(result["details"]["delta_changes"].values()) > 0
