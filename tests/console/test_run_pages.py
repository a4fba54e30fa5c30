"""Run pages and lists in words: labels and values a district admin reads without knowing
our keys, one number format, time worked apart from time waited, progress per phase, and
long passback runs one page at a time."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse

from gradepassback.models import PassbackCourse, PassbackRun
from runs.models import SyncRun
from tests.console.conftest import run_make

pytestmark = pytest.mark.django_db

COUNTS = {
    "users": {"create": 1280, "update": 2, "keep": 8716},
    "user_observers": {"create": 3},
}


def body(client, name, *args, **query) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def test_counts_read_in_words_with_thousands_separators(console, make_district):
    run = run_make(make_district(), kind="full", counts=COUNTS, canvas_import_id="7")

    page = body(console, "console:run", run.pk)

    assert "Observer links" in page
    assert "user_observers" not in page
    assert "1,280" in page
    assert "8,716" in page
    listing = body(console, "console:runs")
    assert "Users: 1,280 new, 2 updated; Observer links: 3 new" in listing


def test_a_passback_says_what_its_counts_mean(console, make_district):
    counts = {
        "results": {"pushed": 1774, "hidden": 404},
        "courseGrades": {"pushed": 12, "no_score": 6155},
    }
    run = run_make(make_district(), kind="passback", counts=counts)

    page = body(console, "console:run", run.pk)

    assert "Course grades" in page
    assert "6,155 without a score, 12 sent" in page
    assert "404 hidden from students, not sent" in page
    assert "results: hidden" not in body(console, "console:runs")
    assert "Scores: 1,774 sent, 404 hidden from students, not sent" in body(console, "console:runs")


def test_an_approved_run_shows_time_worked_and_time_waited_apart(console, make_district):
    run = run_make(make_district(), kind="full", took=141, counts=COUNTS, canvas_import_id="9")
    held_at = run.started_at + dt.timedelta(seconds=20)
    SyncRun.objects.filter(pk=run.pk).update(
        progress={"held_at": held_at.isoformat()},
        decided_at=held_at + dt.timedelta(seconds=100),
    )

    page = body(console, "console:run", run.pk)

    assert "worked 41 s · waited 1 min 40 s for approval" in page
    assert "took 2 min 21 s" not in page
    assert "41 s" in body(console, "console:runs")


def test_a_discarded_run_shows_no_changes_and_a_no_change_delta_says_so(console, make_district):
    district = make_district()
    discarded = run_make(district, kind="full", status="discarded", counts=COUNTS)
    nothing = run_make(district, kind="delta", counts={})

    discarded_page = body(console, "console:run", discarded.pk)
    assert "Changes per type" not in discarded_page
    assert "Discarded plan per type (nothing was sent)" in discarded_page
    assert "No SIS import yet" not in discarded_page
    nothing_page = body(console, "console:run", nothing.pk)
    assert "No SIS import yet" not in nothing_page
    assert "Nothing changed since the last run, so no SIS import was needed." in nothing_page


def test_an_empty_dry_run_zip_is_explained_instead_of_offered(console, make_district):
    district = make_district()
    empty = run_make(district, kind="dry_run", counts={"users": {"keep": 40}})
    empty.dry_run_zip.save("empty.zip", io.BytesIO(b"PK\x05\x06" + bytes(18)))
    full = run_make(district, kind="dry_run", counts=COUNTS)

    empty_page = body(console, "console:run", empty.pk)
    assert "Nothing would change, so the zip holds no CSV file" in empty_page
    assert "Download the dry-run zip" not in empty_page
    assert console.get(reverse("console:run_zip", args=[empty.pk])).status_code == 404
    assert "1,285 rows, one file per type" in body(console, "console:run", full.pk)


@pytest.mark.parametrize(
    ("phase", "progress", "expected"),
    [
        (
            "reading",
            {"pages_read": 3, "pages_total": 12, "records_read": 3000, "records_total": 11500},
            'value="3" max="12"',
        ),
        ("importing", {"import_progress": 40}, 'value="40" max="100"'),
    ],
)
def test_a_live_run_shows_a_determinate_bar_where_its_phase_has_a_measure(
    console, make_district, phase, progress, expected
):
    run = run_make(make_district(), kind="full", status="running", phase=phase, progress=progress)

    page = body(console, "console:run", run.pk)

    assert expected in page
    assert "indeterminate" not in page
    assert 'aria-current="step"' in page
    if phase == "reading":
        assert "3 of 12 pages read (3,000 of 11,500 records)" in page


def test_a_phase_without_a_measure_is_indeterminate_and_cancel_is_a_button(console, make_district):
    run = run_make(
        make_district(),
        kind="full",
        status="running",
        phase="planning",
        progress={"rows_planned": 5560},
    )

    page = body(console, "console:run", run.pk)

    assert "progress indeterminate" in page
    assert "5,560 rows planned" in page
    assert (
        '<button class="btn danger" type="submit" id="run-cancel">Cancel this run</button>' in page
    )


def test_a_long_passback_run_is_paginated_and_filtered_by_course_and_state(console, make_district):
    run = run_make(make_district(), kind="passback")
    passback = PassbackRun.objects.create(run=run, courses_total=300, courses_done=300)
    PassbackCourse.objects.bulk_create(
        PassbackCourse(
            passback_run=passback,
            sis_course_id=f"C{n:04d}",
            status="failed" if n % 50 == 0 else "succeeded",
        )
        for n in range(1, 301)
    )

    first = body(console, "console:run", run.pk)
    assert first.count('<th scope="row" class="mono">C') == 50
    assert "Page 1 of 6 · 300 in all" in first
    failed = body(console, "console:run", run.pk, state="failed")
    assert failed.count('<th scope="row" class="mono">C') == 6
    one = body(console, "console:run", run.pk, course="C0150")
    assert one.count('<th scope="row" class="mono">C') == 1
