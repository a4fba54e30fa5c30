"""Passback figures for ``manage.py benchmark`` (DESIGN §8), plugged in through
``provisioning.benchmark``'s ``MEASUREMENTS`` hook.

Against the provisioned benchmark district and the sandbox in its own process:

1. coursework is taught in ``TEACH_COURSES`` provisioned classes that span their school's
   first two quarters (where the taught due dates fall), with Canvas grading periods equal
   to the IC quarters;
2. a full passback of those courses runs in this process, as ``manage.py sync passback``
   does, at the district's ``oneroster_concurrency`` (5) requests in flight:
   ``passback_results_per_s`` = results the SIS accepted / wall time of the whole run
   (Canvas reads, mapping, lineItem and result PUTs, bookkeeping);
3. the same passback again with nothing changed: ``passback_rerun_puts`` = the PUTs and
   DELETEs the simulated IC received during that run, counted from its request log.

Details (counts, seconds) go to the log and to ``context.extra["passback"]``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioning.benchmark import BenchmarkContext
    from runs.models import SyncRun

#: Classes given coursework (about 10 assignments and 25 students each).
TEACH_COURSES = 120
#: Courses at once, as ``manage.py sync passback`` does by default.
PARALLEL_COURSES = 3


def _quarters_and_classes(
    district: Any, limit: int = TEACH_COURSES
) -> tuple[dict[str, list[dict[str, str]]], list[str]]:
    """Each school's quarters (the terms its classes use) and up to ``limit`` classes that
    span their school's first two quarters."""
    from provisioning.models import RosterClass, RosterSession

    sessions = {
        s.sourced_id: s
        for s in RosterSession.objects.filter(district=district, type="term").only(
            "sourced_id", "title", "start_date", "end_date"
        )
    }
    by_school: dict[str, set[str]] = defaultdict(set)
    classes = list(
        RosterClass.objects.filter(district=district)
        .order_by("sourced_id")
        .values_list("sourced_id", "school", "terms")
    )
    for _, school, terms in classes:
        by_school[school].update(t for t in terms if t in sessions)
    quarters = {
        school: sorted((sessions[t] for t in terms), key=lambda s: (s.start_date, s.sourced_id))
        for school, terms in by_school.items()
    }
    chosen = []
    for sourced_id, school, terms in classes:
        first_two = {s.sourced_id for s in quarters[school][:2]}
        if len(first_two) == 2 and first_two <= set(terms):
            chosen.append(sourced_id)
        if len(chosen) >= limit:
            break
    payload = {
        school: [
            {
                "title": s.title,
                "start_date": s.start_date.isoformat(),
                "end_date": s.end_date.isoformat(),
            }
            for s in ordered
        ]
        for school, ordered in quarters.items()
    }
    return payload, chosen


def _passback(
    context: BenchmarkContext, courses: list[str], *, full: bool
) -> tuple[float, SyncRun]:
    from gradepassback.services.runs import passback_run_create, passback_run_execute
    from runs.models import SyncRun
    from tenants.services.clients import district_canvas_client, district_oneroster_client

    district = context.district
    started = time.perf_counter()
    run = passback_run_create(
        district=district,
        trigger=SyncRun.Trigger.CLI,
        actor_label="benchmark",
        course_sis_ids=courses,
        full=full,
    )
    with (
        district_oneroster_client(district, allow_private=True) as oneroster,
        district_canvas_client(district, allow_private=True) as canvas,
    ):
        run = passback_run_execute(
            run=run, canvas=canvas, oneroster=oneroster, parallel=PARALLEL_COURSES
        )
    seconds = time.perf_counter() - started
    if run.status != SyncRun.Status.SUCCEEDED:
        raise RuntimeError(f"passback run {run.pk} ended {run.status}: {run.error}")
    return seconds, run


def _writes_since_last_start(context: BenchmarkContext) -> int:
    """PUTs and DELETEs the simulated IC received after the last ``GET categories`` (each
    passback starts with one; the rest of a passback's requests are writes or class reads)."""
    requests = context.oneroster_control("requests", {})["requests"]
    starts = [
        i
        for i, (method, path, _) in enumerate(requests)
        if method == "GET" and path == "categories"
    ]
    tail = requests[starts[-1] + 1 :] if starts else requests
    return sum(1 for method, _, _ in tail if method in ("PUT", "DELETE"))


def _pushed(run: SyncRun) -> int:
    counts = run.counts or {}
    return sum(counts.get(name, {}).get("pushed", 0) for name in ("results", "courseGrades"))


def prepare_passback(context: BenchmarkContext, courses: int = TEACH_COURSES) -> list[str]:
    """Turn passback on for the provisioned district and seed coursework into up to
    ``courses`` of its classes in the simulated Canvas; their SIS ids."""
    district = context.district
    district.oneroster_vendor_key = context.sandbox["vendor_key"]
    district.oneroster_vendor_secret = context.sandbox["vendor_secret"]
    district.passback_enabled = True
    district.save(
        update_fields=["oneroster_vendor_key", "oneroster_vendor_secret", "passback_enabled"]
    )
    quarters, chosen = _quarters_and_classes(district, courses)
    taught = context.canvas_control(
        "teach", {"quarters_by_account": quarters, "course_ids": chosen, "seed": 1}
    )
    context.log(f"passback: taught {taught} in {len(chosen)} courses of {district.slug}")
    return chosen


def results_pushed(run: SyncRun) -> int:
    """Results and course grades the SIS accepted in a passback run."""
    return _pushed(run)


def measure_passback(context: BenchmarkContext) -> dict[str, Any]:
    courses = prepare_passback(context)

    seconds, first = _passback(context, courses, full=True)
    pushed = _pushed(first)
    lineitems = (first.counts or {}).get("lineItems", {}).get("pushed", 0)
    context.log(f"passback: {pushed} results (+{lineitems} lineItems) in {seconds:.1f} s")

    rerun_s, rerun = _passback(context, courses, full=False)
    rerun_puts = _writes_since_last_start(context)
    context.log(f"passback rerun: {rerun_puts} writes in {rerun_s:.1f} s")
    context.extra["passback"] = {
        "courses": len(courses),
        "results_pushed": pushed,
        "lineitems_pushed": lineitems,
        "first_s": round(seconds, 2),
        "first_counts": first.counts,
        "rerun_s": round(rerun_s, 2),
        "rerun_counts": rerun.counts,
    }
    return {
        "passback_results_per_s": round(pushed / seconds, 1) if seconds else None,
        "passback_rerun_puts": rerun_puts,
    }


def first_course_started(run: SyncRun) -> Any:
    """When a worker started the run's first course (``None`` before any did)."""
    from gradepassback.models import PassbackCourse

    return (
        PassbackCourse.objects.filter(passback_run__run=run)
        .exclude(started_at=None)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )


MEASUREMENTS = [measure_passback]
#: What ``manage.py benchmark --scaleout`` needs from grade passback (``provisioning.scaleout``).
SCALEOUT = {
    "prepare": prepare_passback,
    "pushed": results_pushed,
    "first_course_started": first_course_started,
}
