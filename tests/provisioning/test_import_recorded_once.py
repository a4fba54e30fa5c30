"""The Canvas import's id and the id a re-applied attempt follows are written to the run in
one statement: a worker killed between two writes would leave a run whose import the next
attempt cannot find, and the plan would be sent to Canvas twice (the fault drill's
"kill -9 while polling the import" met that window on a loaded machine)."""

from __future__ import annotations

import pytest

from provisioning.services.apply import RunProgress
from runs.models import SyncRun
from tests.provisioning.runs import sync

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_import_id_is_never_stored_without_the_id_to_follow(
    sandbox, sandbox_district, monkeypatch
):
    writes: list[dict] = []
    update = RunProgress.update

    def recorded(self, **fields):
        writes.append(fields)
        update(self, **fields)

    monkeypatch.setattr(RunProgress, "update", recorded)
    run = sync(sandbox_district)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    first = next(i for i, fields in enumerate(writes) if fields.get("canvas_import_id"))
    assert writes[first]["progress"]["main_import_id"] == int(writes[first]["canvas_import_id"])
