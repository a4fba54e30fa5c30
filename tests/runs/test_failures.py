"""Errors retrying cannot fix fail the run at once with a reason a person can act on; the
first write into a district's Canvas waits for approval."""

from __future__ import annotations

import pytest

from integration.http.errors import (
    UpstreamAuthFailed,
    UpstreamMisconfigured,
    UpstreamNotFound,
    UpstreamPermissionDenied,
    UpstreamTimeout,
    is_transient,
    upstream_error_reason,
)
from provisioning.models import CanvasRow
from provisioning.services.pipeline import sync_run_execute, sync_run_resume
from provisioning.services.workspace import Workspace
from runs.models import SyncRun
from runs.services.lifecycle import sync_run_approve, sync_run_create
from tests.provisioning.conftest import district_for

pytestmark = pytest.mark.django_db
S = SyncRun.Status


def _execute(district) -> SyncRun:
    run = sync_run_create(district=district, kind="delta", trigger="cli")
    # As the worker's first attempt: a transient error would put it back in the queue.
    sync_run_execute(run=run, retry_transient=True)
    run.refresh_from_db()
    return run


def test_a_malformed_url_fails_at_once_and_says_what_to_fix(sandbox, fast_imports):
    run = _execute(district_for(sandbox, oneroster_base_url="://sis.example.org/ims"))
    assert run.status == S.FAILED
    assert "is not a valid URL (not retried)" in run.error
    assert "Correct the URL in the district's connection settings" in run.error


def test_refused_credentials_fail_at_once(sandbox, fast_imports):
    run = _execute(district_for(sandbox, oneroster_client_secret="not-the-secret"))
    assert run.status == S.FAILED
    assert "check the client key and secret" in run.error


def test_a_base_url_that_is_not_found_fails_at_once(sandbox, fast_imports):
    base = sandbox.info["oneroster_url"].replace("/ims/oneroster", "/nowhere/oneroster")
    run = _execute(district_for(sandbox, oneroster_base_url=base))
    assert run.status == S.FAILED
    assert "Check the base URL" in run.error


def test_the_first_write_is_held_with_the_plan_in_words_then_applied(sandbox, fast_imports):
    district = district_for(sandbox, guard_first_write=True)
    run = sync_run_create(district=district, kind="full", trigger="cli")
    sync_run_execute(run=run)
    run.refresh_from_db()

    assert run.status == S.HELD
    assert run.held_reason.startswith("First write into this district's Canvas: creates ")
    assert " school accounts, " in run.held_reason
    assert " users, " in run.held_reason
    # The wait for a person starts now: the run page tells work and wait apart.
    assert "held_at" in run.progress
    assert [g["guard"] for g in run.plan_summary["guards"]] == ["first_write"]
    assert sandbox.canvas.runner.newest_first() == []  # nothing sent
    sync_run_approve(run=run, actor=None, actor_label="ann")
    sync_run_resume(run=run)
    run.refresh_from_db()
    assert run.status == S.SUCCEEDED, run.error
    assert CanvasRow.objects.filter(district=district).exists()
    # Canvas now holds our rows: the next run is not a first write.
    nxt = sync_run_create(district=district, kind="full", trigger="cli")
    sync_run_execute(run=nxt)
    nxt.refresh_from_db()
    assert nxt.status == S.SUCCEEDED, nxt.held_reason


def test_the_district_setting_turns_the_first_write_hold_off(sandbox, fast_imports):
    district = district_for(sandbox, guard_first_write=False)
    run = sync_run_create(district=district, kind="full", trigger="cli")
    sync_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == S.SUCCEEDED, run.held_reason
    assert not Workspace(run.pk).exists()


def test_the_stored_phase_and_progress_follow_the_run(sandbox, fast_imports):
    district = district_for(sandbox)
    run = sync_run_create(district=district, kind="full", trigger="cli")
    sync_run_execute(run=run)
    run.refresh_from_db()
    assert run.phase == SyncRun.Phase.COMMITTING
    assert run.progress["pages_read"] >= 6
    assert run.progress["records_read"] > 0
    # X-Total-Count's promise, for a determinate progress bar: every record arrived.
    assert run.progress["pages_total"] == run.progress["pages_read"]
    assert run.progress["records_total"] == run.progress["records_read"]
    assert run.progress["rows_planned"] > 0
    assert run.progress["import_progress"] == 100
    started = run.progress["phase_started"]
    assert sorted(started, key=started.get) == ["reading", "planning", "importing", "committing"]


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (UpstreamMisconfigured("OneRoster URL '://x' is not a valid URL"), "Correct the URL"),
        (UpstreamAuthFailed("OneRoster refused the token (401)"), "check the client key"),
        (UpstreamPermissionDenied("Canvas denied access (403)"), "lack a permission"),
        (UpstreamNotFound("OneRoster answered 404 for /orgs"), "Check the base URL"),
    ],
)
def test_each_error_retrying_cannot_fix_is_neither_transient_nor_silent(error, action):
    assert not is_transient(error)
    assert upstream_error_reason(error).startswith(f"{error} (not retried). ")
    assert action in upstream_error_reason(error)
    assert is_transient(UpstreamTimeout("slow"))
