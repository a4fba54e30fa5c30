"""Fixtures: a loopback sandbox (simulated Infinite Campus and Canvas), a district wired to
it, provisioned through provisioning's own service, with coursework taught in Canvas.

The district is tiny (one school, a dozen students) so the suite stays fast. Its school year
is fixed in the past, so every grading period has begun whatever the date of the run.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest

from provisioning.services.pipeline import sync_run_execute
from runs.models import SyncRun
from runs.services.lifecycle import sync_run_create
from sandbox.canvas.coursework import coursework_teach
from sandbox.oneroster.generator import SHAPES, Shape
from sandbox.server import RunningSandbox, start_sandbox
from tenants.models import District
from tests.tenants.conftest import make_district  # noqa: F401 - fixture

AS_OF = dt.datetime(2025, 11, 20, tzinfo=dt.UTC)
_numbers = itertools.count(1)


def sandbox_serve(shape: Shape | None = None) -> Iterator[RunningSandbox]:
    """The tiny district served in ``shape`` (default: the modelled Infinite Campus one)."""
    running = start_sandbox(schools=1, students=12, seed=5, as_of=AS_OF, shape=shape)
    try:
        yield running
    finally:
        running.canvas.close()
        running.stop()


@pytest.fixture
def sandbox():
    yield from sandbox_serve()


@pytest.fixture(params=sorted(SHAPES))
def shaped_sandbox(request):
    """The district in every plausible Infinite Campus shape (docs/sandbox.md): modules
    whose tests must hold in each override ``sandbox`` with this one."""
    yield from sandbox_serve(SHAPES[request.param])


@pytest.fixture
def fast_imports(settings):
    settings.PROVISIONING_IMPORT_POLL_MAX = 0.2
    settings.PROVISIONING_CANVAS_BUSY_WAIT = 5


def district_for(sandbox, **fields: object) -> District:
    info = sandbox.info
    number = next(_numbers)
    values: dict[str, object] = {
        "slug": f"gp-{number}",
        "name": f"Passback District {number}",
        "status": District.Status.ACTIVE,
        "timezone": "America/Chicago",
        "oneroster_base_url": info["oneroster_url"],
        "oneroster_token_url": info["token_url"],
        "oneroster_client_id": info["client_id"],
        "oneroster_client_secret": info["client_secret"],
        "oneroster_vendor_key": info["vendor_key"],
        "oneroster_vendor_secret": info["vendor_secret"],
        "canvas_base_url": info["canvas_url"],
        "canvas_account_id": info["canvas_account_id"],
        "canvas_token": info["canvas_token"],
        "passback_enabled": True,
        # The first-write hold has its own tests (tests/runs); passback needs Canvas filled.
        "guard_first_write": False,
        **fields,
    }
    return District.objects.create(**values)


def provision(district: District) -> SyncRun:
    run = sync_run_create(
        district=district, kind=SyncRun.Kind.DELTA, trigger=SyncRun.Trigger.CLI, actor_label="test"
    )
    sync_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def teach(sandbox, course_ids: list[str] | None = None) -> dict[str, int]:
    """Seed the tricky coursework into provisioned courses (all, or ``course_ids``), with
    Canvas grading periods equal to the school's IC quarters."""
    quarters = {
        school.sourced_id: [
            {
                "title": q.title,
                "start_date": q.start_date.isoformat(),
                "end_date": q.end_date.isoformat(),
            }
            for q in school.quarters
        ]
        for school in sandbox.generated.schools
    }
    return coursework_teach(
        sandbox.canvas, quarters_by_account=quarters, seed=3, course_ids=course_ids
    )


def taught_classes(sandbox) -> list[str]:
    """Two classes carry coursework: one in Q1-Q2 (where the due dates fall) and one in
    Q3-Q4 (so the same due dates are outside its terms). The others stay empty."""
    from tests.gradepassback.helpers import class_with_quarters

    return [class_with_quarters(sandbox, {0, 1}), class_with_quarters(sandbox, {2, 3})]


@pytest.fixture
def district(db, sandbox, fast_imports):
    """Provisioned and taught: ready for passback."""
    made = district_for(sandbox)
    provision(made)
    teach(sandbox, taught_classes(sandbox))
    return made
