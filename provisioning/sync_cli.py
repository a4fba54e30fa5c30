"""``manage.py sync provision SLUG [--full] [--dry-run] [--approve RUN_ID] [--discard RUN_ID]
[--cancel RUN_ID] [--enqueue] [--json]``.

Without ``--enqueue`` the run happens in this process (scripts, cron, tests) and the exit
code tells how it ended: 0 succeeded, 1 failed, 3 held for approval. With ``--enqueue`` it
goes through Celery like a scheduled run: the command prints the queued run and exits 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import CommandError

from provisioning.management.sync_plugins import (
    EXIT_FAILED,
    EXIT_OK,
    RunReport,
    SyncSubcommand,
    add_cancel_argument,
    exit_code_for,
    run_cancel,
    run_summary,
    run_summary_line,
    write_refused,
)
from provisioning.run_kind import PROVISIONING
from provisioning.services.pipeline import sync_run_resume
from provisioning.services.schedules import district_schedule_sync
from provisioning.tasks import apply_run
from runs.locks import DistrictBusy, district_lock
from runs.models import SyncRun
from runs.services.launch import start_run
from runs.services.lifecycle import (
    Heartbeat,
    SyncRunError,
    sync_run_approve,
    sync_run_discard,
)
from tenants.models import District
from tenants.selectors import district_get
from tenants.services.audit import cli_actor_label

if TYPE_CHECKING:
    from django.core.management.base import CommandParser, OutputWrapper


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("slug", help="The district's slug.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="Read everything; drop what is gone.")
    mode.add_argument("--approve", type=int, metavar="RUN_ID", help="Apply a held run's plan.")
    mode.add_argument("--discard", type=int, metavar="RUN_ID", help="Discard a held run.")
    add_cancel_argument(mode)
    parser.add_argument(
        "--dry-run", action="store_true", help="Plan and build the zip; send nothing."
    )
    parser.add_argument(
        "--enqueue", action="store_true", help="Hand the run to a Celery worker and exit."
    )
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")


def _held_run(district: District, run_id: int) -> SyncRun:
    run = SyncRun.objects.filter(district=district, pk=run_id).select_related("district").first()
    if run is None:
        raise CommandError(f"District {district.slug} has no run #{run_id}.")
    return run


REPORT = RunReport(run_summary, run_summary_line)


def run(options: dict[str, Any], stdout: OutputWrapper) -> int:
    district = district_get(slug=options["slug"])
    district_schedule_sync(district)
    label = cli_actor_label()
    as_json = bool(options["json"])
    try:
        if options["cancel"]:
            cancelled = run_cancel(
                district=district, run_id=options["cancel"], kinds=PROVISIONING.kinds, label=label
            )
            REPORT.write(stdout, cancelled, as_json=as_json)
            return EXIT_OK
        if options["discard"]:
            held = sync_run_discard(
                run=_held_run(district, options["discard"]), actor=None, actor_label=label
            )
            REPORT.write(stdout, held, as_json=as_json)
            return EXIT_OK
        if options["approve"]:
            run = sync_run_approve(
                run=_held_run(district, options["approve"]), actor=None, actor_label=label
            )
            if options["enqueue"]:
                apply_run.delay_on_commit(run.pk)
                REPORT.write(stdout, run, as_json=as_json)
                return EXIT_OK
            with district_lock(district.pk, run_id=run.pk) as lock:
                sync_run_resume(run=run, heartbeat=Heartbeat(run, extend=lock.extend))
        else:
            kind = SyncRun.Kind.DRY_RUN if options["dry_run"] else SyncRun.Kind.DELTA
            if options["full"] and not options["dry_run"]:
                kind = SyncRun.Kind.FULL
            run = start_run(
                district=district,
                kind=kind,
                trigger=SyncRun.Trigger.CLI,
                actor_label=label,
                enqueue=bool(options["enqueue"]),
                full_read=bool(options["full"]),
            )
            if options["enqueue"]:
                REPORT.write(stdout, run, as_json=as_json)
                return EXIT_OK
    except (SyncRunError, DistrictBusy) as exc:
        write_refused(stdout, exc, as_json=as_json)
        return EXIT_FAILED
    REPORT.write(stdout, run, as_json=as_json)
    return exit_code_for(run)


SUBCOMMAND = SyncSubcommand(
    name="provision",
    help="Provision a district's Canvas from its OneRoster roster.",
    add_arguments=add_arguments,
    run=run,
)
