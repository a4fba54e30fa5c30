"""Assignment passback end to end over loopback: provisioned sandbox district, coursework
taught in the simulated Canvas, lineItems and results PUT to the simulated Infinite Campus."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from gradepassback import mapping
from gradepassback.errors import VENDOR_KEY_REFUSED
from gradepassback.models import (
    LineItemState,
    PassbackConflict,
    PassbackCourse,
    PassbackCursor,
    PassbackItem,
    ResultState,
)
from runs.models import SyncRun
from sandbox.canvas.coursework import LONG_NAME, scores_change
from tests.gradepassback.helpers import (
    Recorder,
    class_with_quarters,
    course_assignments,
    passback,
    quarter,
)

# Whole runs against the sandbox, a few seconds each: left out of `make test-fast`.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

S = SyncRun.Status
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def sandbox(shaped_sandbox):
    """Every test here runs against each generator shape (a semester term with quarter
    grading periods below it among them)."""
    return shaped_sandbox


@pytest.fixture
def recorder(sandbox):
    return Recorder(sandbox)


@pytest.fixture
def course_sid(sandbox):
    """A class taught in Q1 and Q2, where the taught assignments fall."""
    return class_with_quarters(sandbox, {0, 1})


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _category(sandbox, title: str) -> str:
    book = sandbox.oneroster.gradebook
    return next(sid for sid, c in book.categories.items() if c["title"] == title)


def _without_stamp(body: dict) -> dict:
    stamp = body.pop("dateLastModified")
    assert dt.datetime.fromisoformat(stamp).tzinfo is not None
    return body


def test_lineitem_payloads_for_each_kind_of_graded_work(sandbox, district, recorder, course_sid):
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    sent = recorder.puts("lineItems")
    assignments = course_assignments(sandbox, course_sid)
    q1, q2 = quarter(sandbox, course_sid, 0), quarter(sandbox, course_sid, 1)
    expected_groups = {
        "Essay: Causes and Effects": ("Homework", q1, 100.0),
        "Unit 1 Quiz": ("Quizzes", q1, 20.0),  # classic quiz
        "Discussion: Reading Response": ("Homework", q2, 10.0),  # graded discussion
        "Chapter Test": ("Tests", q2, 50.0),  # New Quiz
        "Lab Report": ("Projects", q1, 30.0),  # one section: a single due date
        # "Canvas Extras" matches no SIS category: IC's placeholder, the SIS default.
        "Bonus Reflection": ("Uncategorized", q2, 5.0),
    }
    for name, (category, period, points) in expected_groups.items():
        a = assignments[name]
        sid = mapping.lineitem_sourced_id(
            district_slug=district.slug, assignment_id=a.id, class_sourced_id=course_sid
        )
        assert _without_stamp(dict(sent[sid])) == {
            "sourcedId": sid,
            "status": "active",
            "title": name,
            # created today, after it was due: moved back into [period start, due]
            "assignDate": _iso(a.due_at),
            "dueDate": _iso(a.due_at),
            "class": {"sourcedId": course_sid, "type": "class"},
            "category": {"sourcedId": _category(sandbox, category), "type": "category"},
            "gradingPeriod": {"sourcedId": period.sourced_id, "type": "academicSession"},
            "resultValueMin": 0.0,
            "resultValueMax": points,
        }, name
    not_sent = {"Practice Worksheet", "Draft Project Proposal", "Class Participation", LONG_NAME}
    for name in not_sent:
        sid = mapping.lineitem_sourced_id(
            district_slug=district.slug,
            assignment_id=assignments[name].id,
            class_sourced_id=course_sid,
        )
        assert sid not in sent, name
    stored = sandbox.oneroster.gradebook.line_items
    assert set(sent) <= set(stored)


def test_result_payloads_for_each_kind_of_score(sandbox, district, recorder, course_sid):
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    state = sandbox.canvas
    essay = course_assignments(sandbox, course_sid)["Essay: Causes and Effects"]
    lineitem = mapping.lineitem_sourced_id(
        district_slug=district.slug, assignment_id=essay.id, class_sourced_id=course_sid
    )
    sent = recorder.puts("results")
    seen = {"graded": 0, "excused": 0, "missing": 0, "hidden": 0, "waiting": 0}
    for user_id, sub in state.submissions[essay.id].items():
        student = state.users[user_id].sis_id
        sid = mapping.result_sourced_id(
            district_slug=district.slug, lineitem_sourced_id=lineitem, student_sourced_id=student
        )
        base = {
            "sourcedId": sid,
            "status": "active",
            "lineItem": {"sourcedId": lineitem, "type": "lineItem"},
            "student": {"sourcedId": student, "type": "user"},
        }
        if sub.excused:
            seen["excused"] += 1
            graded_day = sub.graded_at.astimezone(CHICAGO).date().isoformat()
            expected = {**base, "scoreStatus": "exempt", "score": 100.0, "scoreDate": graded_day}
        elif sub.score is not None and sub.posted_at is None:
            seen["hidden"] += 1
            expected = None
        elif sub.score is not None:
            seen["graded"] += 1
            graded_day = sub.graded_at.astimezone(CHICAGO).date().isoformat()
            expected = {
                **base,
                "scoreStatus": "fully graded",
                "score": sub.score,
                "scoreDate": graded_day,
            }
        elif sub.late_policy_status == "missing":
            seen["missing"] += 1
            due_day = essay.due_at.astimezone(CHICAGO).date().isoformat()
            expected = {**base, "scoreStatus": "not submitted", "score": 0.0, "scoreDate": due_day}
        else:
            seen["waiting"] += 1
            expected = None
        if expected is None:
            assert sid not in sent
        else:
            assert _without_stamp(dict(sent[sid])) == expected
    assert all(seen.values()), seen  # the class has every case
    # Excused is never a 0, and the simulated IC stored it as exempt.
    stored = sandbox.oneroster.gradebook.results
    exempt = [r for r in stored.values() if r["scoreStatus"] == "exempt"]
    assert exempt
    assert all(r["score"] > 0 for r in exempt)


def test_every_gradebook_request_carries_the_vendor_header(sandbox, district, recorder):
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    info = sandbox.info
    expected = f"{info['vendor_key']}:{info['vendor_secret']}"
    gradebook = [c for c in recorder.calls if c.gradebook]
    assert len(gradebook) > 10
    assert {c.vendor for c in gradebook} == {expected}
    assert not [c for c in recorder.calls if not c.gradebook and c.vendor]


def test_a_rerun_with_nothing_changed_sends_nothing(sandbox, district, recorder):
    first = passback(district)
    assert first.status == S.SUCCEEDED, first.error
    assert recorder.writes()
    recorder.clear()
    second = passback(district)
    assert second.status == S.SUCCEEDED, second.error
    assert recorder.writes() == []
    assert second.counts["results"]["unchanged"] == first.counts["results"]["pushed"]
    assert second.counts["lineItems"]["unchanged"] == first.counts["lineItems"]["pushed"]
    full = passback(district, full=True)
    assert full.status == S.SUCCEEDED
    assert recorder.writes() == []


def test_one_changed_score_is_exactly_one_put(sandbox, district, recorder, course_sid):
    assert passback(district).status == S.SUCCEEDED
    change = scores_change(sandbox.canvas, count=1, seed=4, course_ids=[course_sid])["changes"][0]
    recorder.clear()
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    writes = recorder.writes()
    assert len(writes) == 1
    (put,) = writes
    lineitem = mapping.lineitem_sourced_id(
        district_slug=district.slug,
        assignment_id=change["assignment_id"],
        class_sourced_id=course_sid,
    )
    assert put.method == "PUT"
    assert put.sourced_id == mapping.result_sourced_id(
        district_slug=district.slug,
        lineitem_sourced_id=lineitem,
        student_sourced_id=change["sis_user_id"],
    )
    assert put.body["result"]["score"] == change["new_score"]
    # Incremental: the changed course read scores graded since its last passback.
    course = PassbackCourse.objects.get(passback_run__run=run, sis_course_id=course_sid)
    assert course.graded_since is not None
    assert course.pushed == 1


def test_teacher_problems_become_conflicts_that_close_once_fixed(
    sandbox, district, recorder, course_sid
):
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    conflicts = {
        c.kind: c
        for c in PassbackConflict.objects.filter(
            district=district, sis_course_id=course_sid, closed_at__isnull=True
        )
    }
    assert set(conflicts) == {"no_due_date", "title_too_long"}
    assert conflicts["no_due_date"].message == (
        "“Class Participation” has no due date. The SIS places each score in a grading "
        "period by its due date: give the assignment one due date."
    )
    assert conflicts["title_too_long"].message == (
        f"“{LONG_NAME}” is 60 characters long; the SIS accepts at most 50. Shorten the name."
    )
    skipped = PassbackItem.objects.filter(
        course__passback_run__run=run,
        course__sis_course_id=course_sid,
        outcome="skipped",
        object_type="lineItem",
    )
    assert {i.title for i in skipped} == {"Class Participation", LONG_NAME}

    # The teacher gives the assignment a due date inside Q2: the next run sends it and
    # closes the conflict.
    participation = course_assignments(sandbox, course_sid)["Class Participation"]
    q2 = quarter(sandbox, course_sid, 1)
    participation.due_at = dt.datetime.combine(q2.start_date, dt.time(18), tzinfo=dt.UTC)
    recorder.clear()
    again = passback(district)
    assert again.status == S.SUCCEEDED
    closed = PassbackConflict.objects.get(
        district=district, sis_course_id=course_sid, kind="no_due_date"
    )
    assert closed.closed_at is not None
    sid = mapping.lineitem_sourced_id(
        district_slug=district.slug, assignment_id=participation.id, class_sourced_id=course_sid
    )
    assert sid in recorder.puts("lineItems")
    # Its scores were read in full (a new lineItem), not only those graded since.
    assert any(r["lineItem"]["sourcedId"] == sid for r in recorder.puts("results").values())


def test_due_date_outside_the_class_terms_is_a_conflict_per_class(sandbox, district):
    run = passback(district)
    assert run.status == S.SUCCEEDED
    second_half = class_with_quarters(sandbox, {2, 3})
    kinds = set(
        PassbackConflict.objects.filter(district=district, sis_course_id=second_half).values_list(
            "kind", flat=True
        )
    )
    assert "due_outside_periods" in kinds
    outside = PassbackConflict.objects.filter(
        district=district, sis_course_id=second_half, kind="due_outside_periods"
    ).first()
    assert f"outside every grading period of class {second_half}" in outside.message


def test_truncating_titles_by_option(sandbox, district, recorder, course_sid):
    district.title_overflow = "truncate"
    district.save(update_fields=["title_overflow"])
    assert passback(district).status == S.SUCCEEDED
    long_one = course_assignments(sandbox, course_sid)[LONG_NAME]
    sid = mapping.lineitem_sourced_id(
        district_slug=district.slug, assignment_id=long_one.id, class_sourced_id=course_sid
    )
    assert recorder.puts("lineItems")[sid]["title"] == LONG_NAME[:50].rstrip()
    assert not PassbackConflict.objects.filter(district=district, kind="title_too_long").exists()


def test_an_unflagged_assignment_keeps_its_lineitem_by_default(
    sandbox, district, recorder, course_sid
):
    assert passback(district).status == S.SUCCEEDED
    essay = course_assignments(sandbox, course_sid)["Essay: Causes and Effects"]
    essay.post_to_sis = False
    recorder.clear()
    run = passback(district)
    assert run.status == S.SUCCEEDED
    assert recorder.writes() == []
    sid = mapping.lineitem_sourced_id(
        district_slug=district.slug, assignment_id=essay.id, class_sourced_id=course_sid
    )
    kept = PassbackItem.objects.get(course__passback_run__run=run, sourced_id=sid)
    assert kept.outcome == "kept"
    assert "no longer marked for SIS sync" in kept.detail
    assert LineItemState.objects.get(district=district, sourced_id=sid).status == "kept"
    assert sid in sandbox.oneroster.gradebook.line_items
    # Recorded once: the next run has nothing to say about it.
    third = passback(district)
    assert not PassbackItem.objects.filter(course__passback_run__run=third, sourced_id=sid)


def test_an_unflagged_assignment_is_deleted_by_option(sandbox, district, recorder, course_sid):
    district.delete_unflagged_lineitems = True
    district.save(update_fields=["delete_unflagged_lineitems"])
    assert passback(district).status == S.SUCCEEDED
    essay = course_assignments(sandbox, course_sid)["Essay: Causes and Effects"]
    sid = mapping.lineitem_sourced_id(
        district_slug=district.slug, assignment_id=essay.id, class_sourced_id=course_sid
    )
    assert sid in sandbox.oneroster.gradebook.line_items
    essay.post_to_sis = False
    recorder.clear()
    assert passback(district).status == S.SUCCEEDED
    assert [(c.method, c.sourced_id) for c in recorder.writes()] == [("DELETE", sid)]
    assert sid not in sandbox.oneroster.gradebook.line_items
    assert not ResultState.objects.filter(
        district=district, lineitem_sourced_id=sid, status="pushed"
    ).exists()
    # Flagged again: the lineItem and its results come back.
    essay.post_to_sis = True
    recorder.clear()
    assert passback(district).status == S.SUCCEEDED
    assert sid in recorder.puts("lineItems")
    assert any(r["lineItem"]["sourcedId"] == sid for r in recorder.puts("results").values())


def test_a_refused_vendor_key_fails_the_run_before_anything_is_sent(sandbox, db, fast_imports):
    from tests.gradepassback.conftest import district_for, provision, taught_classes, teach

    district = district_for(sandbox, oneroster_vendor_secret="not-the-secret")
    provision(district)
    teach(sandbox, taught_classes(sandbox))
    recorder = Recorder(sandbox)
    run = passback(district)
    assert run.status == S.FAILED
    assert run.error == VENDOR_KEY_REFUSED
    assert recorder.writes() == []


def test_a_401_in_the_middle_fails_the_run_and_stops_the_other_courses(sandbox, district, recorder):
    sandbox.oneroster.faults.set(
        [_fault(kind="status", status=401, method="PUT", match="results", count=-1)]
    )
    run = passback(district)
    assert run.status == S.FAILED
    assert run.error == VENDOR_KEY_REFUSED
    courses = list(PassbackCourse.objects.filter(passback_run__run=run).order_by("sis_course_id"))
    failed = [c for c in courses if c.status == "failed"]
    assert [c.error for c in failed] == [VENDOR_KEY_REFUSED]
    after = courses[courses.index(failed[0]) + 1 :]
    assert after
    assert {c.status for c in after} == {"cancelled"}
    # The refused course recorded nothing: its next passback starts from scratch.
    assert not PassbackCursor.objects.filter(
        district=district, sis_course_id=failed[0].sis_course_id
    ).exists()
    # Nothing after the refusal: the pending writes of the course were not sent.
    refused = [c for c in recorder.writes() if c.path.startswith("results/")]
    assert len(refused) <= district.oneroster_concurrency * 2


def test_other_errors_are_per_item_and_the_run_goes_on(sandbox, district, recorder, course_sid):
    sandbox.oneroster.faults.set(
        [_fault(kind="status", status=400, method="PUT", match="results", count=1)]
    )
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    failed = PassbackItem.objects.filter(course__passback_run__run=run, outcome="failed")
    assert failed.count() == 1
    item = failed.get()
    assert item.object_type == "result"
    assert item.detail.startswith("The SIS refused it (400)")
    assert run.counts["results"]["failed"] == 1
    state = ResultState.objects.get(district=district, sourced_id=item.sourced_id)
    assert (state.status, state.accepted_hash) == ("refused", "")
    # A refused payload is not sent again unchanged by the next incremental run ...
    recorder.clear()
    again = passback(district)
    assert again.status == S.SUCCEEDED
    assert recorder.writes() == []
    assert again.counts["results"]["refused_earlier"] == 1
    # ... but a full passback sends exactly it.
    full = passback(district, full=True)
    assert full.status == S.SUCCEEDED
    assert [c.sourced_id for c in recorder.writes()] == [item.sourced_id]
    state.refresh_from_db()
    assert state.status == "pushed"


def test_a_refused_payload_is_retried_once_it_changes_or_after_a_while(
    sandbox, district, recorder, course_sid
):
    from gradepassback.services.course import RETRY_REFUSED_AFTER

    sandbox.oneroster.faults.set(
        [_fault(kind="status", status=400, method="PUT", match="results", count=1)]
    )
    run = passback(district)
    item = PassbackItem.objects.get(course__passback_run__run=run, outcome="failed")
    ResultState.objects.filter(district=district, sourced_id=item.sourced_id).update(
        last_attempt_at=timezone.now() - RETRY_REFUSED_AFTER
    )
    recorder.clear()
    assert passback(district).status == S.SUCCEEDED
    assert [c.sourced_id for c in recorder.writes()] == [item.sourced_id]


def _fault(**fields):
    from sandbox.oneroster.faults import FaultRule

    return FaultRule(**fields)
