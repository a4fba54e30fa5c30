"""The mirrors are partitioned by district: a complete full read swaps in freshly built
partitions of the district (and only of that district), deltas write into them in place,
and a rejected import leaves the partitions it would have replaced."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from provisioning.models import CanvasRow, RosterEnrollment, RosterUser
from provisioning.services import apply
from provisioning.services.partitions import CANVAS_TABLE, partition_name
from runs.models import SyncRun
from tests.provisioning.factories import district_make
from tests.provisioning.planning import commit, plan_records
from tests.provisioning.roster import roster_build
from tests.provisioning.runs import sync

S = SyncRun.Status
USERS = "provisioning_rosteruser"


def _oid(table: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid", [table])
        return cursor.fetchone()[0]


def _rows_in(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a test's own names
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_complete_full_read_swaps_in_partitions_of_the_district(sandbox, sandbox_district):
    district = sandbox_district
    # A row left in the default partition (a mirror written before the district had its
    # own partition) is replaced by the swap, not duplicated beside it.
    RosterUser.objects.create(
        district=district, sourced_id="stale", content_hash=0, last_seen_at=timezone.now()
    )
    first = sync(district)
    assert first.status == S.SUCCEEDED
    own_users, own_canvas = (
        partition_name(USERS, district.pk),
        partition_name(CANVAS_TABLE, district.pk),
    )
    assert _rows_in(own_users) == RosterUser.objects.filter(district=district).count() > 0
    assert _rows_in(own_canvas) == CanvasRow.objects.filter(district=district).count() > 0
    assert not RosterUser.objects.filter(district=district, sourced_id="stale").exists()
    assert _rows_in(f"{USERS}_default") == 0

    gone = sandbox.oneroster.mutate(tobedeleted=2)["tobedeleted_enrollments"]
    delta = sync(district)
    assert delta.counts["enrollments"]["drop"] == 2
    assert not RosterEnrollment.objects.filter(district=district, sourced_id__in=gone).exists()

    before = _oid(own_users)
    added = sandbox.oneroster.mutate(adds=1)["added_users"]
    full = sync(district, "full", full_read=True)
    assert full.status == S.SUCCEEDED
    assert _oid(own_users) != before  # a new partition, under the same name
    assert _oid(f"{own_users}_next") is None
    assert RosterUser.objects.filter(district=district, sourced_id__in=added).count() == 1
    # Unchanged Canvas rows were kept: the next delta plans nothing.
    assert sum(c["create"] + c["update"] + c["drop"] for c in sync(district).counts.values()) == 0


@pytest.mark.django_db(transaction=True)
def test_a_rejected_full_import_keeps_the_partitions_it_would_replace(sandbox, fast_imports):
    from tests.provisioning.conftest import district_for

    district = district_for(sandbox)
    assert sync(district).status == S.SUCCEEDED
    own_users = partition_name(USERS, district.pk)
    before, users = _oid(own_users), RosterUser.objects.filter(district=district).count()
    sandbox.oneroster.mutate(adds=2)
    sandbox.canvas.runner.fail_next()
    assert sync(district, "full", full_read=True).status == S.FAILED
    assert _oid(own_users) == before
    assert _oid(f"{own_users}_next") is None
    assert RosterUser.objects.filter(district=district).count() == users


def _canvas_after_changes(monkeypatch, rewrite_share: float) -> tuple[set, dict, dict]:
    """A district's Canvas mirror after a full run that holds, updates, drops and keeps rows,
    written in place or rebuilt as a new partition (``rewrite_share``): (file, key, row)
    with the district's slug blanked, and sent_at by key after and before the run."""
    monkeypatch.setattr(apply, "_REWRITE_SHARE", rewrite_share)
    district = district_make(term_mode="as_is")
    roster = roster_build()
    run, ws, _ = plan_records(district, roster.records(), send_all=True)
    commit(run, ws)
    sent_before = dict(CanvasRow.objects.filter(district=district).values_list("key", "sent_at"))
    district.term_mode = "consolidated"  # courses updated, old terms dropped
    district.save(update_fields=["term_mode"])
    roster.replace_user("s1-1-2", username="student111")  # duplicate login: both held
    roster.enrollments = roster.enrollments[1:]  # one enrollment dropped
    run, ws, plan = plan_records(district, roster.records(), send_all=True)
    run.counts, run.plan_summary["base"] = plan.by_file, plan.base_by_file
    commit(run, ws)
    own = partition_name(CANVAS_TABLE, district.pk)
    assert (_oid(own) is not None) == (rewrite_share == 0.0)
    if rewrite_share == 0.0:
        # Analyzed before the swap (while Canvas imports), not after the commit.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", [own])
            assert cursor.fetchone()[0] > 0
    rows = CanvasRow.objects.filter(district=district)
    return (
        {(r.file, r.key, tuple(v.replace(district.slug, "") for v in r.row)) for r in rows},
        {r.key: r.sent_at for r in rows},
        sent_before,
    )


@pytest.mark.django_db
def test_a_rebuilt_canvas_partition_is_what_writing_in_place_gives(monkeypatch):
    in_place, _, _ = _canvas_after_changes(monkeypatch, rewrite_share=float("inf"))
    rebuilt, sent_at, sent_before = _canvas_after_changes(monkeypatch, rewrite_share=0.0)
    assert rebuilt == in_place
    assert ("enrollments", "t-sch1-c1", ("sch1-c1", "sch1-c1", "t1", "teacher", "active")) not in (
        rebuilt
    )
    # Held users and unchanged rows keep the version (and time) they were sent with.
    assert sent_at["s1-1-2"] == sent_before["s1-1-2"]
    assert sent_at["sch1"] == sent_before["sch1"]
