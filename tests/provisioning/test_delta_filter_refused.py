"""A SIS that refuses a delta's change filter is read in full instead, with the refusal in the
run's log; a full read it refuses still fails with the SIS's reason."""

from __future__ import annotations

import pytest

from runs.models import SyncRun, SyncRunLog
from sandbox.oneroster.faults import FaultRule
from tests.provisioning.runs import sync

# A live database (autocommit, as in production): the refused page ends a COPY mid-stream.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

S = SyncRun.Status


def test_a_refused_change_filter_reads_everything_instead(sandbox, sandbox_district):
    assert sync(sandbox_district).status == S.SUCCEEDED
    dropped = sandbox.oneroster.mutate(drops=2)["dropped_enrollments"]
    # The next request for enrollments, the delta's filtered one, is refused.
    sandbox.oneroster.faults.set([FaultRule("status", status=400, count=1, match="enrollments")])

    run = sync(sandbox_district)

    assert run.status == S.SUCCEEDED, run.error
    assert run.kind == SyncRun.Kind.DELTA
    assert run.full_read
    warning = SyncRunLog.objects.get(run=run, level=SyncRunLog.Level.WARNING)
    assert warning.message.startswith("The SIS refused the filter for changes since the last run")
    assert warning.message.endswith("reading everything instead.")
    # Read in full, the run sees what vanished, which a delta cannot.
    assert run.counts["enrollments"]["drop"] == len(dropped)
    assert run.plan_summary["full_read"] is True


def test_a_refused_full_read_still_fails_with_the_reason(sandbox, sandbox_district):
    sandbox.oneroster.faults.set([FaultRule("status", status=400, count=1, match="enrollments")])
    run = sync(sandbox_district, "full")
    assert run.status == S.FAILED
    assert "OneRoster answered 400" in run.error
    assert not SyncRunLog.objects.filter(run=run, message__contains="refused the filter").exists()
