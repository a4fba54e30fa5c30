"""How times, durations and the run chart come out."""

from __future__ import annotations

import datetime as dt

from console.charts import run_chart
from console.display import (
    age,
    audit_lines,
    duration,
    file_label,
    number,
    passback_counts_text,
    words,
)
from console.selectors import ChartPoint

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def test_ages_use_the_largest_whole_unit():
    assert age(NOW - dt.timedelta(seconds=20), now=NOW) == "just now"
    assert age(NOW - dt.timedelta(minutes=7), now=NOW) == "7 min ago"
    assert age(NOW - dt.timedelta(hours=3, minutes=59), now=NOW) == "3 h ago"
    assert age(NOW - dt.timedelta(days=2, hours=5), now=NOW) == "2 d ago"
    assert age(None) == ""


def test_durations_read_like_people_say_them():
    assert duration(9.4) == "9 s"
    assert duration(252) == "4 min 12 s"
    assert duration(3780) == "1 h 3 min"
    assert duration(None) == ""


def test_audit_changes_read_in_words_before_and_after_and_never_a_secret():
    lines = audit_lines(
        {
            "term_mode": ["consolidated", "as_is"],
            "canvas_token": "(changed)",
            "full_read": True,
            "course_grade_mode": ["off", "own_lineitem"],
            "guard_max_user_removals": [500, 1280],
            "note": "x",
        }
    )

    assert lines == [
        (
            "Term mode",
            "Consolidated: one Canvas term per school year → "
            "As is: one Canvas term per OneRoster session per school",
        ),
        ("Canvas API token", "(changed)"),
        ("Read everything", "yes"),
        ("Course grade mode", "Off → A course-grade line item of our own"),
        ("Hold if more users than this are removed", "500 → 1,280"),
        ("Note", "x"),
    ]


def test_audit_values_of_any_shape_read_as_words():
    lines = audit_lines(
        {"counts": {"users": {"create": 1280}}, "ok": [None, True], "ids": ["a", "b", "c"]}
    )

    assert lines == [
        ("Plan", "Users: 1,280 new"),
        ("Check passing", "— → yes"),
        ("Ids", "a, b, c"),
    ]


def test_counts_and_keys_read_as_words_with_one_number_format():
    assert number(1280) == "1,280"
    assert file_label("user_observers") == "Observer links"
    assert words("courseGrades") == "Course grades"
    assert passback_counts_text({"pushed": 1774, "no_score": 6155, "hidden": 0}) == (
        "6,155 without a score, 1,774 sent"
    )


def point(run_id: int, seconds: float, changed: int, status: str = "succeeded") -> ChartPoint:
    return ChartPoint(
        run_id=run_id,
        kind="delta",
        started_at=NOW + dt.timedelta(days=run_id),
        seconds=seconds,
        changed=changed,
        status=status,
    )


def test_the_chart_scales_bars_to_duration_and_dots_to_changed_rows():
    chart = run_chart([point(1, 60, 100), point(2, 120, 50, "failed"), point(3, 30, 0)])

    assert chart is not None
    heights = [bar.height for bar in chart.bars]
    assert heights[1] > heights[0] > heights[2]
    assert chart.bars[1].tone == "danger"
    # Higher on the page (smaller y) is more rows changed.
    assert chart.bars[0].cy < chart.bars[1].cy < chart.bars[2].cy
    assert "Run #2 (delta)" in chart.bars[1].title
    assert chart.ticks[-1].left == "2 min 0 s"
    # Each run is labelled on the axis: its number, then its day.
    assert [bar.label for bar in chart.bars] == ["#1", "#2", "#3"]
    assert chart.bars[0].when == "03-03"
    assert [bar.mark for bar in chart.bars] == ["", "failed", ""]


def test_no_runs_draw_no_chart():
    assert run_chart([]) is None
