"""How ``manage.py sync`` finds its subcommands, and the output every subcommand shares.

Any installed app may provide a module ``<app>.sync_cli`` with a module-level ``SUBCOMMAND``
(a ``SyncSubcommand``); ``manage.py sync <name> …`` dispatches to it. Provisioning provides
``provision``; grade passback and the conversion evaluation plug in ``passback`` and
``evaluate`` the same way, without touching this package.

Exit codes (DESIGN §6): 0 success, 1 failure, 3 held for approval.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.management.base import CommandError

from provisioning.models import Conflict
from runs.locks import DistrictBusy
from runs.models import SyncRun
from runs.services.launch import start_run
from runs.services.lifecycle import SyncRunError, sync_run_cancel
from tenants.selectors import district_get
from tenants.services.audit import cli_actor_label

if TYPE_CHECKING:
    from django.core.management.base import CommandParser, OutputWrapper

    from tenants.models import District

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_HELD = 3


@dataclass(frozen=True)
class SyncSubcommand:
    """One ``manage.py sync`` subcommand.

    ``run(options, stdout)`` gets the parsed options as a dict and returns the exit code.
    """

    name: str
    help: str
    add_arguments: Callable[[CommandParser], None]
    run: Callable[[dict[str, Any], OutputWrapper], int]


def sync_subcommands() -> list[SyncSubcommand]:
    """Every installed app's ``sync_cli.SUBCOMMAND``, in ``INSTALLED_APPS`` order."""
    found = []
    for module_name in [f"{c.name}.sync_cli" for c in apps.get_app_configs()]:
        if importlib.util.find_spec(module_name) is None:
            continue
        subcommand = getattr(importlib.import_module(module_name), "SUBCOMMAND", None)
        if isinstance(subcommand, SyncSubcommand):
            found.append(subcommand)
    return found


def add_cancel_argument(parser: Any) -> None:
    """``--cancel RUN_ID`` on a parser or a mutually exclusive group of one."""
    parser.add_argument(
        "--cancel",
        type=int,
        metavar="RUN_ID",
        help="Cancel a queued or running run: its worker stops at the next safe point, "
        "nothing is sent, and the district is free at once.",
    )


def run_cancel(*, district: District, run_id: int, kinds: tuple[str, ...], label: str) -> SyncRun:
    """Cancel the district's run ``run_id`` of one of ``kinds`` (audited as ``label``).
    Raises ``CommandError`` for an unknown run, ``SyncRunError`` when it cannot be cancelled."""
    run = (
        SyncRun.objects.filter(district=district, pk=run_id, kind__in=kinds)
        .select_related("district")
        .first()
    )
    if run is None:
        raise CommandError(f"District {district.slug} has no such run #{run_id}.")
    return sync_run_cancel(run=run, actor=None, actor_label=label)


def refused(exc: Exception) -> dict[str, Any]:
    """The ``--json`` object when nothing ran: a refusal, or a slug or run id that does not
    exist."""
    return {"run_id": None, "status": "refused", "error": str(exc)}


def write_refused(stdout: OutputWrapper, exc: Exception, *, as_json: bool) -> None:
    stdout.write(json.dumps(refused(exc)) if as_json else f"refused: {exc}")


@dataclass(frozen=True)
class RunReport:
    """How a subcommand shows a run: its ``--json`` object and its one line for people."""

    summary: Callable[[SyncRun], dict[str, Any]]
    line: Callable[[SyncRun], str]

    def write(self, stdout: OutputWrapper, run: SyncRun, *, as_json: bool) -> None:
        run.refresh_from_db()
        stdout.write(json.dumps(self.summary(run)) if as_json else self.line(run))


def cancel_or_start(
    options: dict[str, Any], stdout: OutputWrapper, *, kind: str, report: RunReport, **create: Any
) -> int:
    """The whole ``run`` of a subcommand for one kind of run: ``--cancel RUN_ID`` cancels the
    district's run of that kind, otherwise a run starts, in this process or handed to Celery
    with ``--enqueue`` (``create`` goes to ``start_run``). Prints the run or the refusal and
    returns the exit code: 0 cancelled, queued or succeeded; 1 refused or not succeeded."""
    district = district_get(slug=options["slug"])
    label = cli_actor_label()
    as_json = bool(options["json"])
    enqueue = bool(options.get("enqueue"))
    try:
        if options.get("cancel"):
            cancelled = run_cancel(
                district=district, run_id=options["cancel"], kinds=(kind,), label=label
            )
            report.write(stdout, cancelled, as_json=as_json)
            return EXIT_OK
        run = start_run(
            district=district,
            kind=kind,
            trigger=SyncRun.Trigger.CLI,
            actor_label=label,
            enqueue=enqueue,
            **create,
        )
    except (SyncRunError, DistrictBusy) as exc:
        write_refused(stdout, exc, as_json=as_json)
        return EXIT_FAILED
    report.write(stdout, run, as_json=as_json)
    if enqueue:
        return EXIT_OK
    return EXIT_OK if run.status == SyncRun.Status.SUCCEEDED else EXIT_FAILED


def exit_code_for(run: SyncRun) -> int:
    if run.status == SyncRun.Status.HELD:
        return EXIT_HELD
    if run.status in (SyncRun.Status.FAILED, SyncRun.Status.DISCARDED, SyncRun.Status.CANCELLED):
        return EXIT_FAILED
    return EXIT_OK


def run_summary(run: SyncRun) -> dict[str, Any]:
    """The ``--json`` object of a run: id, status, counts per type, conflicts by kind, held
    reason (DESIGN §6), plus the error of a failed run and the Canvas import id."""
    from django.db.models import Count

    conflicts = dict(
        Conflict.objects.filter(last_run=run)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    return {
        "run_id": run.pk,
        "district": run.district.slug,
        "kind": run.kind,
        "status": run.status,
        "counts": run.counts,
        "conflicts": conflicts,
        "held_reason": run.held_reason or None,
        "error": run.error or None,
        "canvas_import_id": run.canvas_import_id or None,
    }


def run_summary_line(run: SyncRun) -> str:
    """One line for people: ``run 12 (delta, springfield): succeeded — users +3 ~1 -0 …``."""
    summary = run_summary(run)
    changes = "; ".join(
        f"{file} +{c.get('create', 0)} ~{c.get('update', 0)} -{c.get('drop', 0)}"
        for file, c in (run.counts or {}).items()
        if c.get("create") or c.get("update") or c.get("drop")
    )
    parts = [f"run {run.pk} ({run.kind}, {run.district.slug}): {run.status}"]
    parts.append(changes or "no changes")
    if summary["conflicts"]:
        parts.append(f"{sum(summary['conflicts'].values())} conflicts")
    if run.held_reason and run.status == "held":
        parts.append(f"held: {run.held_reason}")
    if run.error and run.status == "failed":
        parts.append(f"error: {run.error}")
    return " — ".join(parts)
