"""The passback reaper: courses whose worker stopped are handed out again, then the run
fails if nobody finishes it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gradepassback.models import PassbackCourse, PassbackRun
from gradepassback.services.runs import STALE_AFTER, passback_runs_reap
from runs.models import SyncRun
from runs.services.lifecycle import MAX_ATTEMPTS
from tenants.models import District

pytestmark = pytest.mark.django_db


def _running_run(*, stale_by: dt.timedelta, attempts: int = 1) -> tuple[SyncRun, list[int]]:
    district = District.objects.create(slug=f"reap-{attempts}", name="Reap", passback_enabled=True)
    old = timezone.now() - stale_by
    run = SyncRun.objects.create(
        district=district, kind="passback", trigger="schedule", status="running",
        heartbeat_at=old, attempts=attempts,
    )  # fmt: skip
    SyncRun.objects.filter(pk=run.pk).update(created_at=old)
    passback = PassbackRun.objects.create(run=run, courses_total=3, courses_done=1)
    rows = [
        PassbackCourse.objects.create(passback_run=passback, sis_course_id="a", status="succeeded"),
        PassbackCourse.objects.create(
            passback_run=passback, sis_course_id="b", status="running", heartbeat_at=old
        ),
        PassbackCourse.objects.create(passback_run=passback, sis_course_id="c"),
    ]
    return run, [row.pk for row in rows]


def test_stale_courses_are_handed_out_again():
    run, (_, stuck, waiting) = _running_run(stale_by=STALE_AFTER * 2)
    assert sorted(passback_runs_reap()) == sorted([stuck, waiting])
    assert PassbackCourse.objects.get(pk=stuck).status == "pending"
    run.refresh_from_db()
    assert run.status == "running"
    assert run.attempts == 2
    # Fresh heartbeat: nothing to do on the next round.
    assert passback_runs_reap() == []


def test_a_run_nobody_finishes_fails_after_the_attempts():
    run, (_, stuck, waiting) = _running_run(stale_by=STALE_AFTER * 2, attempts=MAX_ATTEMPTS)
    assert passback_runs_reap() == []
    run.refresh_from_db()
    assert run.status == "failed"
    assert "no worker" in run.error
    assert PassbackCourse.objects.get(pk=waiting).status == "cancelled"
    assert PassbackCourse.objects.get(pk=stuck).status == "cancelled"


def test_a_live_run_is_left_alone():
    run, _ = _running_run(stale_by=dt.timedelta(seconds=30))
    assert passback_runs_reap() == []
    run.refresh_from_db()
    assert run.status == "running"
