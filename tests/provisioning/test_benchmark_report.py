"""docs/benchmarks.md's tables are generated from docs/benchmarks/*.json, never copied."""

from __future__ import annotations

import json

import pytest

from provisioning import benchmark_report as report


def test_the_tables_in_the_docs_match_the_result_files():
    files = report.load()
    assert files, "docs/benchmarks/ holds the recorded results"
    document = report.DOC.read_text()
    assert report.splice(document, report.render(files)) == document, (
        "docs/benchmarks.md is stale: run python -m provisioning.benchmark_report"
    )
    assert report.main(["--check"]) == 0


def test_every_result_file_says_where_and_how_it_was_measured():
    for name, data in report.load():
        for key in ("date", "commit", "command", "machine", "load_avg", "busy"):
            assert key in data, f"{name} lacks {key}"
        assert {"cores", "ram_gb", "cpu_model", "python"} <= set(data["machine"]), name


def _provisioning(**overrides):
    data = {
        "students": 1000, "floor_s": 2.0, "raw_s": 1.0, "floor_runs": [2.5, 2.0, 2.2],
        "full_s": 4.0, "rerun_s": 0.8, "delta_s": 1.0, "peak_rss_mb": 300.0,
        "passback_results_per_s": 350.0, "passback_rerun_puts": 0, "date": "2026-12-03T10:00:00",
        "commit": "abc", "command": "manage.py benchmark", "busy": False, "load_avg": [0.5, 1.0],
        "machine": {"cores": 2, "ram_gb": 7.8, "cpu_model": "CPU", "python": "3.11.7"},
        "details": {"full_phases_s": {"reading": 2.0, "planning": 1.0}},
    }  # fmt: skip
    data.update(overrides)
    return data


def test_render_marks_busy_runs_and_judges_the_targets():
    text = report.render(
        [("quiet.json", _provisioning()), ("busy.json", _provisioning(busy=True, full_s=2.5))]
    )
    quiet_row = next(line for line in text.splitlines() if line.startswith("| `quiet.json`"))
    busy_row = next(line for line in text.splitlines() if line.startswith("| `busy.json`"))
    assert "quiet" in quiet_row
    assert report.BUSY not in quiet_row
    assert report.BUSY in busy_row
    assert "2.00 s (2.50, 2.00, 2.20)" in quiet_row  # the floor with its samples
    verdicts = [line for line in text.splitlines() if line.startswith("| `quiet.json`")][1]
    assert "2.00 **not met**" in verdicts  # full 4.0 s = 2 x floor 2.0 s
    assert "0.20 met" in verdicts  # rerun 0.8 s = 0.2 x full
    busy_verdicts = [line for line in text.splitlines() if line.startswith("| `busy.json`")][1]
    assert "1.25 met" in busy_verdicts


def test_render_shows_the_scaleout_speedup_per_worker_count():
    data = _provisioning()
    data.pop("full_s")
    data["scaleout"] = [
        {"workers": 1, "districts": 3, "passback_results_per_s": 200.0, "delta_s": 30.0},
        {"workers": 2, "districts": 3, "passback_results_per_s": 340.0, "delta_s": 20.0,
         "passback_districts_behind_a_whole_run": 1},
    ]  # fmt: skip
    rows = [line for line in report.render([("s.json", data)]).splitlines() if "`s.json`" in line]
    assert "| 2 | 3 |" in rows[1]
    assert f"1.70 {report.TIMES}" in rows[1]  # passback 340 / 200
    assert f"1.50 {report.TIMES}" in rows[1]  # deltas 30 s / 20 s
    assert "| 1 |" in rows[1]  # fairness: one district waited for another's whole run


def test_check_fails_when_a_figure_changes(tmp_path, monkeypatch):
    results = tmp_path / "benchmarks"
    results.mkdir()
    (results / "a.json").write_text(json.dumps(_provisioning()))
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\n{report.START}\n{report.END}\nafter\n")
    monkeypatch.setattr(report, "RESULTS", results)
    monkeypatch.setattr(report, "DOC", doc)
    assert report.main([]) == 0
    assert doc.read_text().endswith(f"{report.END}\nafter\n")
    assert report.main(["--check"]) == 0
    (results / "a.json").write_text(json.dumps(_provisioning(full_s=5.0)))
    assert report.main(["--check"]) == 1


def test_a_document_without_markers_is_refused():
    with pytest.raises(ValueError, match="marker"):
        report.splice("# Benchmarks\n", "generated")
