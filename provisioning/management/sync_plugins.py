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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.management.base import CommandError

from runs.models import SyncRun
from runs.services.lifecycle import sync_run_cancel

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

    from provisioning.models import Conflict

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
