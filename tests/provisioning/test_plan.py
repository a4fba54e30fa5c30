from __future__ import annotations

import pytest

from tests.provisioning.factories import district_make
from tests.provisioning.planning import commit, plan_records, plan_rows
from tests.provisioning.roster import roster_build

pytestmark = pytest.mark.django_db


def test_first_plan_creates_every_row():
    district = district_make()
    roster = roster_build()
    run, ws, plan = plan_records(district, roster.records())
    assert plan.by_file["accounts"]["create"] == 2
    assert plan.by_file["users"]["create"] == 2 + 2 * 3 * 4
    assert plan.by_file["courses"]["create"] == 6
    assert plan.by_file["enrollments"]["create"] == 6 * 5
    assert plan.by_file["terms"]["create"] == 1
    rows = plan_rows(ws, "courses")
    assert rows[0][3][:6] == [
        "sch1-c1",
        "M1",
        "Math 1",
        "sch1",
        f"{district.slug}-sy2026",
        "active",
    ]
    commit(run, ws)
    _run2, _ws2, plan2 = plan_records(district, roster.records())
    assert plan2.rows_to_send(send_all=False) == 0
