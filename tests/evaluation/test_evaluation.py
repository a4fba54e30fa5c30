"""The conversion evaluation against the loopback sandbox: every object in exactly one
class, the report's rows, risk notes, change_sis_id.csv and the ``sync evaluate`` command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from evaluation.exports import evaluation_change_sis_id_rows, evaluation_detail_rows
from evaluation.models import EvaluationReport, EvaluationRow
from evaluation.services import evaluation_run_create, evaluation_run_execute
from runs.models import SyncRun
from tenants.models import AuditEvent
from tests.evaluation.conftest import classes, provisioned_users

pytestmark = pytest.mark.django_db

S = SyncRun.Status
MATCHES = ("matched_sis_id", "matched_login", "matched_email", "ambiguous", "new", "orphan")


def evaluate(district) -> SyncRun:
    run = evaluation_run_create(district=district, trigger=SyncRun.Trigger.CLI, actor_label="test")
    evaluation_run_execute(run=run)
    run.refresh_from_db()
    return run


def test_each_user_and_course_lands_in_the_class_the_previous_sis_was_seeded_with(
    sandbox, district, previous_sis
):
    run = evaluate(district)

    assert run.status == S.SUCCEEDED, run.error
    report = EvaluationReport.objects.get(run=run)
    users, seeded = report.summary["users"], previous_sis["users"]
    assert users == {
        "matched_sis_id": len(seeded["same_sis_id"]),
        "matched_login": len(seeded["same_login"]),
        "matched_email": len(seeded["same_email"]),
        "ambiguous": 0,
        "new": len(seeded["none"]),
        "orphan": len(seeded["orphans"]),
    }
    courses, seeded_courses = report.summary["courses"], previous_sis["courses"]
    assert courses == {
        "matched_sis_id": len(seeded_courses["same_sis_id"]),
        "matched_login": 0,
        "matched_email": 0,
        "ambiguous": 0,
        "new": len(seeded_courses["none"]),
        "orphan": len(seeded_courses["orphans"]),
    }
    # The previous SIS left no sections with SIS ids: every class is a new section.
    assert report.summary["sections"]["new"] == len(classes(sandbox))
    assert run.counts["users"] == users

    rows = EvaluationRow.objects.filter(report=report, object_type="user")
    by_class = {m: set(rows.filter(match=m).values_list("source_id", flat=True)) for m in MATCHES}
    assert by_class["matched_sis_id"] == set(seeded["same_sis_id"])
    assert by_class["matched_login"] == set(seeded["same_login"])
    assert by_class["matched_email"] == set(seeded["same_email"])
    assert by_class["new"] == set(seeded["none"])
    orphans = rows.filter(match="orphan").values_list("canvas_sis_id", flat=True)
    assert set(orphans) == set(seeded["orphans"])
    # Exactly one row per OneRoster user.
    assert rows.exclude(match="orphan").count() == len(provisioned_users(sandbox))


def test_the_same_sis_id_users_get_a_note_that_their_login_changes(sandbox, district, previous_sis):
    report = EvaluationReport.objects.get(run=evaluate(district))

    sourced = previous_sis["users"]["same_sis_id"][0]
    row = EvaluationRow.objects.get(report=report, source_id=sourced)
    assert row.canvas_login == f"legacy-{row.source_login}"
    assert f"Login changes from legacy-{row.source_login} to {row.source_login}." in row.note
    assert report.summary["checks"]["users"]["login_changes"] == len(
        previous_sis["users"]["same_sis_id"]
    )
    levels = {risk["level"] for risk in report.risks}
    assert "medium" in levels
    assert any("change_sis_id.csv" in risk["text"] for risk in report.risks)


def test_change_sis_id_proposes_the_login_and_email_matches_only(sandbox, district, previous_sis):
    report = EvaluationReport.objects.get(run=evaluate(district))

    header, *rows = list(evaluation_change_sis_id_rows(report=report))
    assert header == ("old_id", "new_id", "type")
    expected = set(previous_sis["users"]["same_login"]) | set(previous_sis["users"]["same_email"])
    assert {new for _, new, _ in rows} == expected
    assert all(old.startswith("PREV-U") and kind == "user" for old, _, kind in rows)
    assert report.summary["change_sis_id"] == {"users": len(expected), "courses": 0, "sections": 0}

    detail = list(evaluation_detail_rows(report=report))
    assert detail[0][:2] == ("object_type", "match")
    assert len(detail) - 1 == report.rows.count()


def test_several_candidates_are_ambiguous_and_a_taken_login_is_a_collision(sandbox, district):
    people = provisioned_users(sandbox)
    first, second, third = people[0], people[1], people[2]
    state = sandbox.canvas
    with state.lock:
        state.add_user("PREV-A", first["username"], "Someone Else")
        by_email = state.add_user("PREV-B", "someone.b", "Another Person")
        by_email.email = first["email"]
        # The second person's account (same SIS id) carries the third person's login.
        keeper = state.add_user(second["sourcedId"], third["username"], "Second Person")
        keeper.email = second["email"]

    report = EvaluationReport.objects.get(run=evaluate(district))

    ambiguous = EvaluationRow.objects.get(report=report, source_id=first["sourcedId"])
    assert ambiguous.match == "ambiguous"
    assert "PREV-A" in ambiguous.note
    assert "by login" in ambiguous.note
    assert "PREV-B" in ambiguous.note
    assert "by e-mail" in ambiguous.note
    assert ambiguous.canvas_id is None
    collided = EvaluationRow.objects.get(report=report, source_id=third["sourcedId"])
    assert "The login is taken in Canvas by the account of SIS user" in collided.note
    assert report.summary["checks"]["users"]["login_collisions"] == 1
    assert report.risks[0]["level"] == "high"
    # Canvas accounts that are candidates are not orphans.
    assert report.summary["users"]["orphan"] == 0


def test_one_canvas_account_wanted_by_two_people_is_ambiguous_for_both(sandbox, district):
    first, second = provisioned_users(sandbox)[:2]
    state = sandbox.canvas
    with state.lock:
        shared = state.add_user("PREV-SHARED", first["username"], "Shared Account")
        shared.email = second["email"]

    report = EvaluationReport.objects.get(run=evaluate(district))

    for person in (first, second):
        row = EvaluationRow.objects.get(report=report, source_id=person["sourcedId"])
        assert row.match == "ambiguous"
        assert row.canvas_sis_id == "PREV-SHARED"
        assert "is also the match of 1 other OneRoster user" in row.note
    _header, *rows = list(evaluation_change_sis_id_rows(report=report))
    assert rows == []


def test_a_canvas_that_refuses_the_token_fails_the_run_with_a_reason(sandbox, db):
    from tests.evaluation.conftest import sandbox_district

    district = sandbox_district(sandbox, canvas_token="not-the-sandbox-token-0000")
    run = evaluate(district)

    assert run.status == S.FAILED
    assert run.error.startswith("Canvas could not be read")
    assert not EvaluationReport.objects.filter(run=run).exists()
    from provisioning.services.workspace import Workspace

    assert not Workspace(run.pk).exists()


def test_sync_evaluate_prints_the_json_contract(sandbox, district, previous_sis):
    out = io.StringIO()
    call_command("sync", "evaluate", district.slug, "--json", stdout=out)

    summary = json.loads(out.getvalue())
    assert summary["status"] == "succeeded"
    assert summary["kind"] == "evaluation"
    for key in ("users", "courses", "sections"):
        assert set(summary[key]) == set(MATCHES)
    assert summary["users"]["orphan"] == len(previous_sis["users"]["orphans"])
    assert summary["labels"]["courses"]["matched_login"] == "Same course code under another SIS id"
    audit = AuditEvent.objects.get(district=district, action=AuditEvent.Action.EVALUATION_REQUESTED)
    assert audit.target == f"run #{summary['run_id']}"


def test_sync_evaluate_refuses_while_another_run_is_active(sandbox, district):
    evaluation_run_create(district=district, trigger=SyncRun.Trigger.CLI, actor_label="test")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("sync", "evaluate", district.slug, stdout=out)

    assert exited.value.code == 1
    assert out.getvalue().startswith("refused: District")


def test_an_evaluation_whose_worker_died_stops_holding_the_district(sandbox, district):
    import datetime as dt

    from django.utils import timezone

    stale = evaluation_run_create(
        district=district, trigger=SyncRun.Trigger.CLI, actor_label="test"
    )
    long_ago = timezone.now() - dt.timedelta(minutes=40)
    SyncRun.objects.filter(pk=stale.pk).update(
        status=S.RUNNING, created_at=long_ago, started_at=long_ago, heartbeat_at=long_ago
    )

    fresh = evaluation_run_create(
        district=district, trigger=SyncRun.Trigger.CLI, actor_label="test"
    )

    stale.refresh_from_db()
    assert stale.status == S.FAILED
    assert "no worker worked on it" in stale.error
    assert fresh.status == S.QUEUED
