"""``manage.py sync evaluate SLUG [--enqueue] [--json]``: the conversion evaluation.

Without ``--enqueue`` the evaluation runs in this process and prints its summary: with
``--json`` one object whose ``users``, ``courses`` and ``sections`` each hold the counts
``matched_sis_id``, ``matched_login``, ``matched_email``, ``ambiguous``, ``new`` and
``orphan`` (``labels`` says what each means per type). Exit 0 when the report is ready, 1
when the evaluation failed or was refused. Plugged into provisioning's ``sync`` command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evaluation.classify import MATCH_LABELS, TYPE_KEYS
from evaluation.models import EvaluationReport
from provisioning.management.sync_plugins import (
    RunReport,
    SyncSubcommand,
    add_cancel_argument,
    cancel_or_start,
)
from runs.models import SyncRun

if TYPE_CHECKING:
    from django.core.management.base import CommandParser, OutputWrapper


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("slug", help="The district's slug.")
    parser.add_argument(
        "--enqueue", action="store_true", help="Hand the evaluation to a Celery worker and exit."
    )
    add_cancel_argument(parser)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")


def evaluation_summary(run: SyncRun) -> dict[str, Any]:
    """The ``--json`` object: run id, status, counts per type and class, checks, risk notes,
    the number of proposed change_sis_id rows, error."""
    report = EvaluationReport.objects.filter(run=run).first()
    summary = report.summary if report else {}
    out: dict[str, Any] = {
        "run_id": run.pk,
        "district": run.district.slug,
        "kind": run.kind,
        "status": run.status,
    }
    for key in TYPE_KEYS.values():
        out[key] = summary.get(key, {})
    out.update(
        {
            "checks": summary.get("checks", {}),
            "source": summary.get("source", {}),
            "canvas": summary.get("canvas", {}),
            "change_sis_id": summary.get("change_sis_id", {}),
            "risks": report.risks if report else [],
            "labels": MATCH_LABELS,
            "error": run.error or None,
        }
    )
    return out


def evaluation_summary_line(run: SyncRun) -> str:
    """One line for people: ``run 12 (evaluation, springfield): succeeded — users …``."""
    summary = evaluation_summary(run)
    parts = [f"run {run.pk} (evaluation, {run.district.slug}): {run.status}"]
    for key in ("users", "courses", "sections"):
        counts = summary.get(key) or {}
        if counts:
            parts.append(f"{key} " + ", ".join(f"{m} {n}" for m, n in counts.items()))
    if run.error:
        parts.append(f"error: {run.error}")
    return " — ".join(parts)


def run(options: dict[str, Any], stdout: OutputWrapper) -> int:
    return cancel_or_start(
        options,
        stdout,
        kind=SyncRun.Kind.EVALUATION,
        report=RunReport(evaluation_summary, evaluation_summary_line),
    )


SUBCOMMAND = SyncSubcommand(
    name="evaluate",
    help="Compare a district's Canvas with its OneRoster source before the first import.",
    add_arguments=add_arguments,
    run=run,
)
