"""``manage.py sync passback SLUG [--course SIS_COURSE_ID] [--full] [--cancel RUN_ID]
[--enqueue] [--json]``.

Without ``--enqueue`` the passback runs in this process, every course one after the other
(each with up to ``District.oneroster_concurrency`` SIS requests in flight), and the exit
code tells how it ended: 0 succeeded, 1 failed or refused. With ``--enqueue`` it goes
through Celery like a scheduled run (one task per course on any worker): the command
prints the queued run and exits 0. Plugged into provisioning's ``sync`` command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradepassback.models import PassbackConflict
from gradepassback.services.runs import passback_summary_text
from provisioning.management.sync_plugins import (
    RunReport,
    SyncSubcommand,
    add_cancel_argument,
    cancel_or_start,
)
from runs.models import SyncRun

#: Courses at once without --enqueue: enough to keep the SIS busy while one course reads
#: Canvas or writes its bookkeeping.
DEFAULT_PARALLEL = 3

if TYPE_CHECKING:
    from django.core.management.base import CommandParser, OutputWrapper


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("slug", help="The district's slug.")
    parser.add_argument(
        "--course", metavar="SIS_COURSE_ID", default="", help="Only this course (its SIS id)."
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="Read every score, not only those graded since the last passback.",
    )
    parser.add_argument(
        "--enqueue", action="store_true", help="Hand the run to Celery workers and exit."
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help=f"Courses passed back at once in this process (default {DEFAULT_PARALLEL}); "
        "SIS requests stay within the district's concurrency.",
    )
    add_cancel_argument(parser)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")


def passback_summary(run: SyncRun) -> dict[str, Any]:
    """The ``--json`` object (DESIGN §6): run id, status, counts per object type, open
    conflicts by kind, held reason (never for passback), error."""
    from django.db.models import Count

    conflicts = dict(
        PassbackConflict.objects.filter(last_run=run, closed_at__isnull=True)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    passback = getattr(run, "passback", None)
    return {
        "run_id": run.pk,
        "district": run.district.slug,
        "kind": run.kind,
        "status": run.status,
        "courses": list(passback.course_sis_ids) if passback else [],
        "full": bool(passback and passback.full),
        "counts": run.counts,
        "conflicts": dict(sorted(conflicts.items())),
        "held_reason": None,
        "error": run.error or None,
    }


def passback_summary_line(run: SyncRun) -> str:
    """One line for people: ``run 12 (passback, springfield): succeeded — results …``."""
    summary = passback_summary(run)
    parts = [f"run {run.pk} (passback, {run.district.slug}): {run.status}"]
    if run.counts:
        parts.append(passback_summary_text(run.counts))
    if summary["conflicts"]:
        parts.append(f"{sum(summary['conflicts'].values())} open conflicts")
    if run.error:
        parts.append(f"error: {run.error}")
    return " — ".join(parts)


def run(options: dict[str, Any], stdout: OutputWrapper) -> int:
    return cancel_or_start(
        options,
        stdout,
        kind=SyncRun.Kind.PASSBACK,
        report=RunReport(passback_summary, passback_summary_line),
        execute_options={"parallel": max(1, options["parallel"])},
        course_sis_ids=[options["course"]] if options.get("course") else [],
        full=bool(options.get("full")),
    )


SUBCOMMAND = SyncSubcommand(
    name="passback",
    help="Pass grades back from Canvas to the SIS (assignments, and course grades if on).",
    add_arguments=add_arguments,
    run=run,
)
