"""What the run core needs to know about each kind of run, registered by the app that owns it.

The run core (layer 3) never imports provisioning, grade passback or the evaluation (layer 4):
each of them registers a ``RunKind`` in its ``AppConfig.ready``, and the launcher, the
lifecycle and the reaper call through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runs.models import SyncRun
    from tenants.models import District


def _nothing(run: SyncRun) -> None:
    return None


@dataclass(frozen=True, slots=True)
class RunProblems:
    """What a run found that a person must fix, for its notification mail: ``total`` of
    them, a ``headline`` ("3 new error conflicts") and the mail's ``lines`` about them."""

    total: int
    headline: str
    lines: list[str]


def _no_blockers(district: District, kind: str) -> list[str]:
    return []


@dataclass(frozen=True, slots=True)
class RunKind:
    """One app's kinds of run.

    - ``create(district=, kind=, trigger=, actor=, actor_label=, **options)``: the queued run
      (and its kind's rows), audited; raises ``SyncRunError`` subclasses when refused;
    - ``enqueue(run)``: hand it to a worker after the transaction commits;
    - ``execute(run, lock, **options)``: do it in this process (the command line without
      ``--enqueue``);
    - ``blockers(district, kind)``: what the district lacks for this kind, in words;
    - ``cleanup(run)``: drop what an ended run left behind (its workspace), idempotent;
    - ``resume(run)``: hand a lost ``applying`` run to a worker again (its stored plan is
      applied again), when the kind can; otherwise the reaper fails it as lost;
    - ``sweep()``: the reaper's chance to drop leftovers of runs that ended uncleanly;
    - ``problems(run)``: what the run found that a person must fix, for its mail, or None;
    - ``titles``: what a mail calls each of ``kinds`` ("Nightly sync"; the kind itself when
      missing);
    - ``requested_action``: the audit action of a person's request for one (the generic
      ``sync.requested`` when empty);
    - ``own_reaper``: the kind reaps its own runs (its work waits in the queue between
      heartbeats): the core's lease reaper and its re-send of queued runs leave them alone.
    """

    kinds: tuple[str, ...]
    create: Callable[..., SyncRun]
    enqueue: Callable[[SyncRun], None]
    execute: Callable[..., Any]
    blockers: Callable[[District, str], list[str]] = _no_blockers
    cleanup: Callable[[SyncRun], None] = _nothing
    resume: Callable[[SyncRun], None] | None = None
    sweep: Callable[[], None] | None = None
    problems: Callable[[SyncRun], RunProblems | None] = _nothing
    titles: dict[str, str] = field(default_factory=dict)
    requested_action: str = ""
    own_reaper: bool = False


_KINDS: dict[str, RunKind] = {}


class UnknownRunKind(LookupError):
    pass


def run_kind_register(handler: RunKind) -> None:
    for kind in handler.kinds:
        _KINDS[kind] = handler


def run_kind(kind: str) -> RunKind:
    try:
        return _KINDS[kind]
    except KeyError:
        raise UnknownRunKind(f"Unknown kind of run: {kind}.") from None


def run_kinds() -> list[RunKind]:
    """Each registered handler once."""
    return list({id(handler): handler for handler in _KINDS.values()}.values())


def run_cleanup(run: SyncRun) -> None:
    """The owning app's cleanup of an ended run (nothing when no app registered the kind)."""
    handler = _KINDS.get(run.kind)
    if handler is not None:
        handler.cleanup(run)


def run_problems(run: SyncRun) -> RunProblems | None:
    """The owning app's problems of a run (None when no app registered the kind)."""
    handler = _KINDS.get(run.kind)
    return handler.problems(run) if handler is not None else None


def run_title(kind: str) -> str:
    """What people call a kind of run in a mail ("Nightly sync"), or the kind itself."""
    handler = _KINDS.get(kind)
    return handler.titles.get(kind, kind) if handler is not None else kind


def run_requested_action(kind: str) -> str:
    """The audit action of a person's request for a run of ``kind`` ("" for the generic one)."""
    handler = _KINDS.get(kind)
    return handler.requested_action if handler is not None else ""


def kinds_with_own_reaper() -> list[str]:
    """The kinds whose app reaps their runs itself (``RunKind.own_reaper``)."""
    return [kind for kind, handler in _KINDS.items() if handler.own_reaper]
