"""Console pages: what they show, and that every change goes through an audited service."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from evaluation.models import EvaluationReport, EvaluationRow
from runs.models import SyncRun, SyncRunLog
from tenants.models import AuditEvent, District, IntakeLink
from tenants.services.intake import intake_token_hash
from tests.console.conftest import conflict_make, mirror_make, run_make
from tests.tenants.conftest import ALL_SECRETS, CANVAS_TOKEN, assert_no_secret

pytestmark = pytest.mark.django_db

S = SyncRun.Status


def page(client, name, *args, **query):
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


# --- districts overview --------------------------------------------------------------------


def test_the_overview_shows_each_districts_last_runs_and_what_needs_attention(
    console, make_district
):
    calm = make_district(name="Calm Valley", status="active")
    run_make(calm, kind="delta", status="succeeded", minutes_ago=200)
    District.objects.filter(pk=calm.pk).update(last_check_ok=True, last_check_at=timezone.now())
    make_district(name="New Hope")
    troubled = make_district(name="Troubled Springs", status="active")
    run_make(troubled, kind="full", status="succeeded", minutes_ago=3000)
    run_make(troubled, kind="delta", status="failed", minutes_ago=30, error="SIS down")
    run_make(troubled, kind="delta", status="held", minutes_ago=5, held_reason="too many drops")
    conflict_make(troubled)
    conflict_make(troubled, severity="warning", kind="duplicate_email")
    District.objects.filter(pk=troubled.pk).update(
        last_check_ok=False,
        last_check_at=timezone.now(),
        credentials_expire_on=timezone.localdate() + dt.timedelta(days=10),
    )

    body = page(console, "console:districts")

    assert "Calm Valley" in body
    assert "3 h ago" in body
    assert "All good" in body
    assert "Never checked: run the connection check" in body
    assert "1 held run" in body
    assert "1 open error conflict" in body
    assert "Connection check failing" in body
    assert "OneRoster key expires in 10 days" in body
    # The held run is the latest delta; the failed one is history.
    assert "Held for approval" in body


def test_the_overview_filters_and_sorts(console, make_district):
    alpha = make_district(name="Alpha", status="active")
    run_make(alpha)  # a successful run: connected, nothing to look at
    beta = make_district(name="Beta", status="paused")
    conflict_make(beta)

    only_attention = page(console, "console:districts", attention="1")
    assert "Beta" in only_attention
    assert "Alpha" not in only_attention

    paused = page(console, "console:districts", status="paused")
    assert "Beta" in paused
    assert "Alpha" not in paused

    by_errors = page(console, "console:districts", sort="-conflicts")
    assert by_errors.index("Beta") < by_errors.index("Alpha")
    by_name = page(console, "console:districts", sort="name")
    assert by_name.index("Alpha") < by_name.index("Beta")


def test_an_empty_console_says_what_to_do(console):
    body = page(console, "console:districts")

    assert "No districts yet." in body
    assert "intake link" in body


# --- district page -------------------------------------------------------------------------


def test_creating_a_district_is_audited_and_leads_to_its_page(console, operator):
    response = console.post(
        reverse("console:district_new"),
        {
            "name": "Cedar Falls",
            "slug": "cedar-falls",
            "canvas_base_url": "https://cedar.instructure.example",
            "canvas_account_id": "1",
            "term_mode": "consolidated",
            "timezone": "America/Chicago",
            "notification_emails": "it@cedar.example.org",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("console:district", args=["cedar-falls"])
    event = AuditEvent.objects.get(action=AuditEvent.Action.DISTRICT_CREATED)
    assert event.actor == operator
    assert event.district.slug == "cedar-falls"


def test_the_district_page_shows_check_steps_runs_chart_and_audit(console, make_district):
    district = make_district(canvas_token=CANVAS_TOKEN)
    District.objects.filter(pk=district.pk).update(
        last_check_ok=False,
        last_check_at=timezone.now(),
        last_check_steps=[
            {"name": "oneroster_auth", "ok": True, "reason": "The SIS issued an access token."},
            {"name": "canvas_token", "ok": False, "reason": "Canvas refused the API token."},
        ],
    )
    for minutes in (300, 200, 100):
        run_make(district, kind="delta", minutes_ago=minutes, counts={"users": {"create": 4}})

    body = page(console, "console:district", district.slug)

    assert "OneRoster sign-in" in body
    assert "Canvas refused the API token." in body
    assert "<svg" in body
    assert "4 rows changed" in body
    assert "District created" in body
    assert "••••" + CANVAS_TOKEN[-4:] in body
    assert_no_secret(body)


def test_settings_are_saved_through_the_audited_service(console, make_district, operator):
    district = make_district()
    form = page(console, "console:district", district.slug)
    assert 'name="guard_users_drop_pct"' in form
    data = _settings_data(district, guard_users_drop_pct=7, delta_time="23:15")

    url = reverse("console:district_settings", args=[district.slug])
    response = console.post(url, data)

    assert response.status_code == 302
    district.refresh_from_db()
    assert district.guard_users_drop_pct == 7
    assert district.delta_time == dt.time(23, 15)
    event = AuditEvent.objects.get(action=AuditEvent.Action.SETTINGS_CHANGED)
    assert event.actor == operator
    assert event.changes["guard_users_drop_pct"] == [10, 7]


def _settings_data(district, **changes):
    from tenants.forms import DistrictOptionsForm

    form = DistrictOptionsForm(instance=district)
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else value
    data.update(changes)
    return data


def test_a_term_mode_switch_shows_what_it_would_move_before_saving(console, make_district):
    district = make_district()
    mirror_make(district)
    url = reverse("console:district_settings", args=[district.slug])
    data = _settings_data(district, term_mode="as_is")

    preview = console.post(url, data)

    body = preview.content.decode()
    assert preview.status_code == 200
    assert "Switch the term mode?" in body
    assert "would move to another term" in body
    assert ">3<" in body  # courses moving
    assert "T-FALL" in body
    assert "T-SPRING" in body
    assert f"{district.slug}-sy2026" in body  # retired
    assert "held for approval" in body
    district.refresh_from_db()
    assert district.term_mode == "consolidated"  # nothing saved yet

    confirmed = console.post(url, {**data, "confirm_term_mode": "1"})

    assert confirmed.status_code == 302
    district.refresh_from_db()
    assert district.term_mode == "as_is"


def test_the_preview_of_a_district_not_yet_in_canvas_says_nothing_moves(console, make_district):
    district = make_district()
    data = _settings_data(district, term_mode="as_is")

    body = console.post(
        reverse("console:district_settings", args=[district.slug]), data
    ).content.decode()

    assert "Nothing has been sent to Canvas yet, so nothing moves" in body


def test_an_intake_link_is_shown_once_and_only_its_hash_is_kept(console, make_district):
    district = make_district()

    response = console.post(reverse("console:district_intake", args=[district.slug]))

    body = response.content.decode()
    assert "this is the only time it is shown" in body
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    link = IntakeLink.objects.get(district=district)
    token = body.split("/intake/")[1].split("/")[0]
    assert link.token_hash == intake_token_hash(token)
    assert token not in page(console, "console:district", district.slug)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INTAKE_CREATED).count() == 1


def test_credentials_are_write_only_and_shown_by_their_last_four(console, make_district):
    district = make_district()

    body = page(console, "console:district_credentials", district.slug)

    assert_no_secret(body)
    assert "Stored: ••••" in body

    console.post(
        reverse("console:district_credentials", args=[district.slug]),
        {"canvas_token": "a-brand-new-canvas-token-9876"},
    )
    district.refresh_from_db()
    assert district.canvas_token == "a-brand-new-canvas-token-9876"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREDENTIALS_CHANGED)
    assert event.changes == {"canvas_token": "(changed)"}


def test_a_connection_check_is_queued_and_the_page_waits_for_it(
    console, make_district, django_capture_on_commit_callbacks
):
    district = make_district()

    with django_capture_on_commit_callbacks() as callbacks:
        console.post(reverse("console:district_check", args=[district.slug]))

    assert len(callbacks) == 1
    status = console.get(reverse("console:district_check_status", args=[district.slug]))
    assert status.json()["pending"] is True
    assert "This panel updates by itself" in status.json()["html"]
    District.objects.filter(pk=district.pk).update(
        last_check_at=timezone.now(), last_check_ok=True, last_check_steps=[]
    )
    assert console.get(status.wsgi_request.path).json()["pending"] is False


# --- starting runs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        ("delta", AuditEvent.Action.SYNC_REQUESTED),
        ("full", AuditEvent.Action.SYNC_REQUESTED),
        ("dry_run", AuditEvent.Action.SYNC_REQUESTED),
        ("evaluation", AuditEvent.Action.EVALUATION_REQUESTED),
    ],
)
def test_a_run_is_queued_audited_and_handed_to_a_worker_after_commit(
    console, make_district, operator, django_capture_on_commit_callbacks, kind, action
):
    district = make_district()

    with django_capture_on_commit_callbacks() as callbacks:
        response = console.post(
            reverse("console:district_run_start", args=[district.slug]), {"kind": kind}
        )

    run = SyncRun.objects.get(district=district)
    assert response["Location"] == reverse("console:run", args=[run.pk])
    assert run.kind == kind
    assert run.status == S.QUEUED
    assert run.requested_by == operator
    assert run.full_read is (kind in ("full", "evaluation"))
    assert len(callbacks) == 1
    assert AuditEvent.objects.get(action=action).target == f"run #{run.pk}"


def test_a_second_run_is_refused_while_one_is_active(console, make_district):
    district = make_district()
    busy = run_make(district, status="running")

    response = console.post(
        reverse("console:district_run_start", args=[district.slug]),
        {"kind": "delta"},
        follow=True,
    )

    assert f"already has an active run (#{busy.pk}, running)" in response.content.decode()
    assert SyncRun.objects.filter(district=district).count() == 1


def test_passback_is_refused_with_a_reason_when_it_is_off(console, make_district):
    district = make_district()

    response = console.post(
        reverse("console:district_run_start", args=[district.slug]),
        {"kind": "passback"},
        follow=True,
    )

    assert "passback" in response.content.decode().lower()
    assert not SyncRun.objects.filter(district=district).exists()


# --- run page ------------------------------------------------------------------------------


def test_the_run_page_shows_the_plan_per_school_and_the_log(console, make_district):
    district = make_district()
    run = run_make(
        district,
        status="succeeded",
        counts={"users": {"create": 12, "update": 1, "drop": 0, "keep": 0}},
        plan_summary={
            "by_school": {"SCH1": {"name": "Lincoln High", "files": {"users": {"create": 12}}}},
            "source": {"users": {"read": 13, "invalid": 1}},
        },
        canvas_import_id="77",
        canvas_import_state="imported",
    )
    SyncRunLog.objects.create(run=run, message="Read: users 13.")
    SyncRunLog.objects.create(run=run, message="Something odd", level="warning")
    conflict_make(district, run=run, detail="Login x is used by 2 users")

    body = page(console, "console:run", run.pk)

    assert "Lincoln High" in body
    assert "+12" in body
    assert "Read: users 13." in body
    assert "imported" in body
    assert "Login x is used by 2 users" in body
    warnings_only = page(console, "console:run", run.pk, level="warning")
    assert "Something odd" in warnings_only
    assert "Read: users 13." not in warnings_only


def test_the_progress_endpoint_sends_status_phase_and_new_log_lines(console, make_district):
    """The phase comes from the run's stored phase, not from its log lines."""
    district = make_district()
    run = run_make(district, status="running", phase="planning")
    first = SyncRunLog.objects.create(run=run, message="Reading the roster (everything).")
    SyncRunLog.objects.create(run=run, message="Read: users 40.")

    data = console.get(reverse("console:run_progress", args=[run.pk]), {"after": first.pk}).json()

    assert data["status"] == "running"
    assert data["active"] is True
    assert data["phase"] == "Planning and checking guards"
    assert [line["message"] for line in data["log"]] == ["Read: users 40."]
    assert "Running" in data["html"]


def test_the_phase_shows_the_stored_progress(console, make_district):
    district = make_district()
    run = run_make(district, status="running", phase="reading", progress={"pages_read": 1234})
    SyncRunLog.objects.create(run=run, message="Plan: users +1.")  # never read for the phase

    data = console.get(reverse("console:run_progress", args=[run.pk])).json()

    assert data["phase"] == "Reading the roster from OneRoster (1,234 pages)"


def test_a_held_run_is_approved_through_the_audited_service(
    console, make_district, operator, django_capture_on_commit_callbacks
):
    district = make_district()
    run = run_make(district, status="held", held_reason="Too many drops.")
    body = page(console, "console:run", run.pk)
    assert "Approve and apply" in body

    with django_capture_on_commit_callbacks() as callbacks:
        console.post(reverse("console:run_approve", args=[run.pk]))

    run.refresh_from_db()
    assert run.status == S.APPLYING
    assert run.decided_by == operator
    assert len(callbacks) == 1
    assert AuditEvent.objects.get(action=AuditEvent.Action.SYNC_APPROVED).actor == operator


def test_a_held_run_can_be_discarded(console, make_district):
    district = make_district()
    run = run_make(district, status="held", held_reason="Too many drops.")

    console.post(reverse("console:run_discard", args=[run.pk]))

    run.refresh_from_db()
    assert run.status == S.DISCARDED
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SYNC_DISCARDED).exists()


# --- conflicts -----------------------------------------------------------------------------


def test_the_conflicts_browser_filters_across_districts(console, make_district):
    one = make_district(name="One")
    two = make_district(name="Two")
    conflict_make(one, sourced_id="s-one-error")
    conflict_make(two, sourced_id="s-two-warning", severity="warning", kind="duplicate_email")
    old = conflict_make(two, sourced_id="s-two-old")
    old.first_seen = timezone.now() - dt.timedelta(days=40)
    old.save(update_fields=["first_seen"])

    everything = page(console, "console:conflicts")
    assert all(s in everything for s in ("s-one-error", "s-two-warning", "s-two-old"))
    errors_of_two = page(console, "console:conflicts", district=two.slug, severity="error")
    assert "s-two-old" in errors_of_two
    assert "s-two-warning" not in errors_of_two
    assert "s-one-error" not in errors_of_two
    recent = page(console, "console:conflicts", age="7d")
    assert "s-two-old" not in recent
    by_kind = page(console, "console:conflicts", kind="duplicate_email")
    assert "s-two-warning" in by_kind
    assert "s-one-error" not in by_kind


def test_the_conflicts_csv_neutralises_formulas(console, make_district):
    district = make_district()
    conflict_make(district, sourced_id='=HYPERLINK("http://x")', detail="+1 and -2 @home")

    response = console.get(reverse("console:conflicts"), {"format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["district", "severity", "kind"]
    assert rows[1][4] == '\'=HYPERLINK("http://x")'
    assert rows[1][6] == "'+1 and -2 @home"


def test_a_conflict_is_resolved_with_a_note_and_audited(console, make_district, operator):
    district = make_district()
    conflict = conflict_make(district)

    console.post(
        reverse("console:conflict_resolve", args=[conflict.pk]),
        {"note": "Fixed the login in Campus", "next": reverse("console:conflicts")},
    )

    conflict.refresh_from_db()
    assert conflict.closed_at is not None
    assert conflict.resolution_note == "Fixed the login in Campus"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CONFLICT_RESOLVED)
    assert event.actor == operator
    assert event.changes == {"note": "Fixed the login in Campus"}


# --- evaluation ----------------------------------------------------------------------------


def _report(district) -> EvaluationReport:
    run = run_make(district, kind="evaluation", status="succeeded")
    counts = dict.fromkeys(
        ("matched_sis_id", "matched_login", "matched_email", "ambiguous", "new", "orphan"), 0
    )
    report = EvaluationReport.objects.create(
        run=run,
        district=district,
        summary={
            "users": {**counts, "matched_login": 1, "orphan": 1},
            "courses": counts,
            "sections": counts,
            "checks": {"users": {"login_changes": 0, "login_collisions": 0}},
            "change_sis_id": {"users": 1, "courses": 0, "sections": 0},
        },
        risks=[{"level": "medium", "text": "1 Canvas account from the previous SIS matches."}],
    )
    EvaluationRow.objects.create(
        report=report,
        object_type="user",
        match="matched_login",
        source_id="s100",
        target_sis_id="s100",
        source_login="jdoe",
        canvas_id=5,
        canvas_sis_id="OLD-5",
        canvas_login="jdoe",
        note="-1 looks like a formula",
    )
    EvaluationRow.objects.create(
        report=report, object_type="user", match="orphan", canvas_id=6, canvas_sis_id="OLD-6"
    )
    return report


def test_the_evaluation_page_shows_summary_risks_and_detail(console, make_district):
    report = _report(make_district())

    body = page(console, "console:evaluation", report.pk)

    assert "1 Canvas account from the previous SIS matches." in body
    assert "Same login under another SIS id" in body
    assert "OLD-5" in body
    filtered = page(console, "console:evaluation", report.pk, match="orphan")
    assert "OLD-6" in filtered
    assert "OLD-5" not in filtered


def test_the_evaluation_downloads(console, make_district):
    report = _report(make_district())

    detail = console.get(reverse("console:evaluation_csv", args=[report.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(detail.streaming_content).decode())))
    assert rows[0][0] == "object_type"
    assert rows[1][-1] == "'-1 looks like a formula"
    change = console.get(reverse("console:evaluation_change_sis_id", args=[report.pk]))
    assert 'filename="change_sis_id.csv"' in change["Content-Disposition"]
    content = b"".join(change.streaming_content).decode()
    assert content == "old_id,new_id,type\r\nOLD-5,s100,user\r\n"


def test_no_page_shows_a_secret(console, make_district):
    district = make_district()
    run = run_make(district)
    for name, args in (
        ("console:districts", ()),
        ("console:district", (district.slug,)),
        ("console:district_credentials", (district.slug,)),
        ("console:run", (run.pk,)),
        ("console:runs", ()),
        ("console:audit", ()),
    ):
        assert_no_secret(page(console, name, *args), ALL_SECRETS)
