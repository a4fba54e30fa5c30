"""Which Canvas grading period a SIS session's course grade comes from, and what happens
when none fits: by title, else by the most shared days (a weekend or a break between
periods never decides); a session nothing matches is a conflict naming the class and the
session, and its course grades are counted, never silently left out."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from gradepassback import mapping
from gradepassback.mapping import Period
from gradepassback.models import PassbackConflict, PassbackCourse
from gradepassback.services.coursegrades import canvas_period_for
from provisioning.models import SyncRun
from sandbox.canvas import coursework
from tests.gradepassback.helpers import (
    Recorder,
    canvas_course,
    class_with_quarters,
    passback,
    quarter,
)

S = SyncRun.Status
CHICAGO = ZoneInfo("America/Chicago")


def _local(when: dt.datetime) -> dt.date:
    return when.astimezone(CHICAGO).date()


def _canvas(id_: int, title: str, start: str, end: str) -> dict:
    return {"id": id_, "title": title, "start_date": start, "end_date": end}


#: A calendar as Canvas sends it for a Chicago district: Q3 ends on Friday 19 March 2027,
#: Q4 starts on Monday 22 March; instants at local midnight and end of day.
QUARTERS = [
    _canvas(3, "Quarter 3", "2027-01-11T06:00:00Z", "2027-03-20T04:59:59Z"),
    _canvas(4, "Quarter 4", "2027-03-22T05:00:00Z", "2027-06-04T04:59:59Z"),
]


def test_a_semester_whose_midpoint_falls_on_the_weekend_gap_still_matches():
    # 11 January to 28 May: its midpoint is Saturday 20 March, between Q3 and Q4.
    semester = Period("s2", "S2", dt.date(2027, 1, 11), dt.date(2027, 5, 28))
    middle = semester.start + (semester.end - semester.start) / 2
    assert middle.weekday() == 5  # the case a midpoint rule could not place
    # Q3 shares 68 days with it (11 Jan to 19 Mar), Q4 shares 68 (22 Mar to 28 May): equal,
    # so the first in Canvas's order. One more day of Q4 in the session tips it.
    assert canvas_period_for(semester, QUARTERS, local_date=_local) == 3
    longer = Period("s2", "S2", dt.date(2027, 1, 11), dt.date(2027, 5, 29))
    assert canvas_period_for(longer, QUARTERS, local_date=_local) == 4


def test_the_title_wins_over_the_dates():
    quarter_3 = Period("q3", "quarter 3 ", dt.date(2027, 3, 1), dt.date(2027, 5, 28))
    assert canvas_period_for(quarter_3, QUARTERS, local_date=_local) == 3


def test_dates_are_read_in_the_district_time_zone():
    # Q3's last instant is 04:59 UTC on Saturday: still Friday in Chicago. A session of
    # that Saturday alone shares no day with Q3, and none with Q4 either.
    saturday = Period("x", "Make-up day", dt.date(2027, 3, 20), dt.date(2027, 3, 20))
    assert canvas_period_for(saturday, QUARTERS, local_date=_local) is None
    friday = Period("x", "Last day", dt.date(2027, 3, 19), dt.date(2027, 3, 19))
    assert canvas_period_for(friday, QUARTERS, local_date=_local) == 3


def test_a_session_sharing_no_day_matches_nothing():
    summer = Period("su", "Summer", dt.date(2027, 6, 14), dt.date(2027, 7, 30))
    assert canvas_period_for(summer, QUARTERS, local_date=_local) is None
    undated = [{"id": 9, "title": "Q9", "start_date": None, "end_date": None}]
    assert canvas_period_for(summer, undated, local_date=_local) is None


# --- over loopback ------------------------------------------------------------------------


@pytest.fixture
def course_sid(sandbox):
    return class_with_quarters(sandbox, {0, 1})


def _rename_and_move(sandbox, course_sid: str, moves: dict[str, tuple[dt.date, dt.date]]) -> None:
    """Give the course's Canvas grading periods other titles (so only dates can match) and,
    for the titles in ``moves``, other dates."""
    course = canvas_course(sandbox, course_sid)
    for number, period in enumerate(coursework.course_periods(sandbox.canvas, course), 1):
        if period.title in moves:
            start, end = moves[period.title]
            period.start_date = dt.datetime.combine(start, dt.time(6), tzinfo=dt.UTC)
            period.end_date = dt.datetime.combine(end, dt.time(23), tzinfo=dt.UTC)
        period.title = f"Marking period {number}"


@pytest.mark.django_db
def test_a_gap_at_the_session_midpoint_no_longer_drops_its_course_grades(
    sandbox, district, course_sid
):
    district.course_grade_mode = "own_lineitem"
    district.save(update_fields=["course_grade_mode"])
    q1, q2 = quarter(sandbox, course_sid, 0), quarter(sandbox, course_sid, 1)
    middle = q1.start_date + (q1.end_date - q1.start_date) / 2
    # Canvas's first period ends the Friday before Q1's midpoint; the second starts after
    # it. Q1 shares most of its days with the first.
    _rename_and_move(
        sandbox,
        course_sid,
        {
            q1.title: (q1.start_date, middle + dt.timedelta(days=-1)),
            q2.title: (middle + dt.timedelta(days=2), q2.end_date),
        },
    )
    recorder = Recorder(sandbox)
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    q1_item = mapping.course_grade_lineitem_sourced_id(
        district_slug=district.slug, class_sourced_id=course_sid, period_sourced_id=q1.sourced_id
    )
    assert q1_item in recorder.puts("lineItems")
    assert not PassbackConflict.objects.filter(district=district, kind="no_grading_period")


@pytest.mark.django_db
def test_a_session_no_grading_period_matches_is_a_conflict_naming_class_and_session(
    sandbox, district, course_sid
):
    district.course_grade_mode = "own_lineitem"
    district.save(update_fields=["course_grade_mode"])
    q1, q2 = quarter(sandbox, course_sid, 0), quarter(sandbox, course_sid, 1)
    a_year_later = dt.timedelta(days=400)
    _rename_and_move(
        sandbox,
        course_sid,
        {q.title: (q.start_date + a_year_later, q.end_date + a_year_later) for q in (q1, q2)},
    )
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    conflict = PassbackConflict.objects.get(
        district=district, sis_course_id=course_sid, kind="no_grading_period"
    )
    assert conflict.class_sourced_id == course_sid
    assert conflict.message == mapping.MSG_NO_GRADING_PERIOD.format(
        sessions=f"“{q1.title}” ({q1.start_date} to {q1.end_date}), "
        f"“{q2.title}” ({q2.start_date} to {q2.end_date})",
        class_sid=course_sid,
    )
    students = len(sandbox.canvas.course_student_ids(canvas_course(sandbox, course_sid)))
    counts = PassbackCourse.objects.get(passback_run__run=run, sis_course_id=course_sid).counts
    assert counts["courseGrades"]["no_grading_period"] == 2 * students
    assert run.counts["courseGrades"]["no_grading_period"] == 2 * students

    # The console's page of the run shows it.
    console = Client()
    console.force_login(
        get_user_model().objects.create_superuser(username="csm", password="x" * 20)
    )
    body = console.get(reverse("console:run", args=[run.pk])).content.decode()
    assert escape(conflict.message) in body


@pytest.mark.django_db
def test_ended_sessions_of_a_course_without_grading_periods_are_counted(
    sandbox, district, course_sid
):
    district.course_grade_mode = "own_lineitem"
    district.save(update_fields=["course_grade_mode"])
    course = canvas_course(sandbox, course_sid)
    del sandbox.canvas.course_period_set[course.id]
    assert coursework.course_periods(sandbox.canvas, course) == []
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    # The fixed school year is over: both quarters ended, and Canvas has only the whole
    # course's score, which belongs to no ended session.
    students = len(sandbox.canvas.course_student_ids(course))
    counts = PassbackCourse.objects.get(passback_run__run=run, sis_course_id=course_sid).counts
    assert counts["courseGrades"]["session_ended"] == 2 * students
