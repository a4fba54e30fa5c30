"""Apply outside a test transaction: the main zip is built (and the import created) on a
second connection while the mirrors are written, and a rejected import still rolls back
both mirrors."""

from __future__ import annotations

import pytest
from django.db import connection

from provisioning.models import CanvasRow, RosterEnrollment, RosterUser
from provisioning.services import apply
from runs.models import SyncRun
from tests.provisioning.runs import last_import, sync

pytestmark = pytest.mark.django_db(transaction=True)

S = SyncRun.Status


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_zip_is_built_on_its_own_connection_beside_the_mirror_writes(
    sandbox, fast_imports, monkeypatch
):
    from tests.provisioning.conftest import district_for

    seen: dict[str, int] = {}
    build, write_roster = apply.sis_zip_build, apply.mirrors_write_roster

    def recording_build(**kwargs):
        seen["zip"] = _backend_pid()
        return build(**kwargs)

    def recording_write_roster(**kwargs):
        seen["roster"] = _backend_pid()
        return write_roster(**kwargs)

    monkeypatch.setattr(apply, "sis_zip_build", recording_build)
    monkeypatch.setattr(apply, "mirrors_write_roster", recording_write_roster)
    district = district_for(sandbox)
    run = sync(district, "full")
    assert run.status == S.SUCCEEDED, run.error
    assert seen["zip"] != seen["roster"]
    sent = last_import(sandbox)
    assert sent.workflow_state == "imported"
    assert sent.counts["users"] == run.counts["users"]["create"]
    assert sent.counts["enrollments"] == run.counts["enrollments"]["create"]
    read = run.plan_summary["source"]["enrollments"]["read"]
    assert RosterEnrollment.objects.filter(district=district).count() == read


def test_a_rejected_import_rolls_back_the_roster_mirror_written_before_it(sandbox, fast_imports):
    from tests.provisioning.conftest import district_for

    district = district_for(sandbox)
    assert sync(district).status == S.SUCCEEDED
    users_before = set(RosterUser.objects.filter(district=district).values_list("sourced_id"))
    rows_before = CanvasRow.objects.filter(district=district).count()
    sandbox.oneroster.mutate(adds=2)
    sandbox.canvas.runner.fail_next()
    assert sync(district).status == S.FAILED
    assert set(RosterUser.objects.filter(district=district).values_list("sourced_id")) == (
        users_before
    )
    assert CanvasRow.objects.filter(district=district).count() == rows_before
