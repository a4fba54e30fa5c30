"""Provisioning against the loopback sandbox: OneRoster in, SIS imports into the simulated
Canvas, the mirror committed only when Canvas accepts, guards holding what looks wrong."""

from __future__ import annotations

import pytest

from provisioning.models import CanvasRow, RosterEnrollment
from runs.models import SyncRun
from sandbox.oneroster.generator import SHAPES
from tests.provisioning.canvas_view import course_term, enrollment_state
from tests.provisioning.conftest import district_for, sandbox_serve
from tests.provisioning.runs import last_import, sync

# Whole runs against the sandbox, a few seconds each: left out of `make test-fast`.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(params=sorted(SHAPES))
def sandbox(request):
    """Each test runs against every plausible Infinite Campus shape (docs/sandbox.md): the
    modelled one, grading periods under semester terms, empty optional strings, ``metadata``
    extensions and several ``userIds``."""
    yield from sandbox_serve(SHAPES[request.param])


S = SyncRun.Status


def _messages(record) -> list[str]:
    return [m.message for m in record.errors]


def _sent(district, file: str, key: str) -> list[str]:
    return CanvasRow.objects.get(district=district, file=file, key=key).row


def test_a_first_run_provisions_everything_and_canvas_accepts_it_cleanly(sandbox, sandbox_district):
    run = sync(sandbox_district)
    assert run.status == S.SUCCEEDED, run.error
    assert run.full_read  # nothing applied before: the first delta reads everything
    record = last_import(sandbox)
    assert record.workflow_state == "imported", _messages(record)
    generated = sandbox.generated
    summary = sandbox.canvas.summary()
    assert summary["accounts"] == len(generated.schools)
    assert summary["courses"] == len(generated.class_id)
    assert summary["terms"] == 1  # consolidated: one term per school year
    assert (
        run.counts["enrollments"]["create"]
        == RosterEnrollment.objects.filter(district=sandbox_district).count()
        == generated.counts()["enrollments"]  # none held back as a conflict
    )
    assert summary["enrollments"]["active"] == run.counts["enrollments"]["create"]
    assert (
        CanvasRow.objects.filter(district=sandbox_district, file="users").count()
        == (run.counts["users"]["create"])
    )
    again = sync(sandbox_district)
    assert again.status == S.SUCCEEDED
    assert not again.full_read
    assert len(sandbox.canvas.runner.newest_first()) == 1  # nothing changed, nothing sent


def test_as_is_terms_end_to_end(sandbox, db, fast_imports):
    district = district_for(sandbox, term_mode="as_is")
    run = sync(district)
    assert run.status == S.SUCCEEDED, run.error
    assert last_import(sandbox).workflow_state == "imported", _messages(last_import(sandbox))
    terms = CanvasRow.objects.filter(district=district, file="terms").count()
    assert sandbox.canvas.summary()["terms"] == terms > 1
    course = CanvasRow.objects.filter(district=district, file="courses").first()
    assert course_term(sandbox, course.key) == course.row[4]


def test_each_kind_of_change_sends_exactly_the_changed_rows(sandbox, sandbox_district):
    assert sync(sandbox_district).status == S.SUCCEEDED
    imports_before = len(sandbox.canvas.runner.newest_first())

    renamed = sandbox.oneroster.mutate(renames=3)["renamed_users"]
    run = sync(sandbox_district)
    provisioned = [u for u in renamed if not u.startswith("g")]  # guardians: observers are off
    assert run.counts["users"]["update"] == len(set(provisioned))
    assert sum(c["create"] + c["update"] + c["drop"] for c in run.counts.values()) == len(
        set(provisioned)
    )
    if provisioned:
        assert last_import(sandbox).counts["users"] == len(set(provisioned))

    added = sandbox.oneroster.mutate(adds=1)
    run = sync(sandbox_district)
    assert run.counts["users"]["create"] == 1
    assert run.counts["enrollments"]["create"] == len(added["added_enrollments"])
    assert last_import(sandbox).counts["enrollments"] == len(added["added_enrollments"])

    gone = sandbox.oneroster.mutate(tobedeleted=2)["tobedeleted_enrollments"]
    rows = [_sent(sandbox_district, "enrollments", key) for key in gone]
    run = sync(sandbox_district)
    assert run.counts["enrollments"] == {"create": 0, "update": 0, "keep": 0, "drop": 2}
    assert last_import(sandbox).counts["enrollments"] == 2
    for _course, section, user, role, _status in rows:
        assert enrollment_state(sandbox, section=section, user=user, role=role) == "inactive"

    moved = sandbox.oneroster.mutate(moves=1)
    run = sync(sandbox_district)
    # The new section's enrollment arrives; the old one vanished, which only a full read sees.
    assert run.counts["enrollments"] == {
        "create": len(moved["moved_to"]),
        "update": 0,
        "keep": 0,
        "drop": 0,
    }

    dropped = sandbox.oneroster.mutate(drops=2)["dropped_enrollments"]
    delta = sync(sandbox_district)
    assert delta.counts["enrollments"]["drop"] == 0  # a delta cannot see what vanished
    full = sync(sandbox_district, "full")
    assert full.status == S.SUCCEEDED, full.error
    assert full.counts["enrollments"]["drop"] == len(dropped) + len(moved["moved_from"])
    assert full.counts["users"]["keep"] > 0  # a full run re-sends every current row
    assert len(sandbox.canvas.runner.newest_first()) > imports_before
    for record in sandbox.canvas.runner.newest_first():
        assert record.workflow_state == "imported", _messages(record)
