"""The run state machine, as data. ``runs.services.lifecycle.sync_run_transition`` is the only
code that changes a run's status, and it allows exactly these moves.

    queued ──► running ──► applying ──► succeeded
      │          │  ▲  └──► held ──┬──► applying
      │          │  └ (transient   └──► discarded
      │          │     error, retry)
      │          └──────────────────────► cancelled   (a person; the worker stops at its
      ├─────────────────────────────────► cancelled    next safe point)
      └──────────┴──────────┴──────────► failed       (an error, or lost: lease expired)

``applying`` cannot be cancelled: the import may already be in Canvas, and only finishing
(or failing) records what Canvas holds. ``held`` is ended by a decision, approve or discard.
"""

from __future__ import annotations

from runs.models import SyncRun

S = SyncRun.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.RUNNING, S.FAILED, S.DISCARDED, S.CANCELLED}),
    # running → queued: a transient upstream error before anything was sent; the task retries.
    S.RUNNING: frozenset({S.QUEUED, S.HELD, S.APPLYING, S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    S.HELD: frozenset({S.APPLYING, S.DISCARDED, S.FAILED}),
    S.APPLYING: frozenset({S.SUCCEEDED, S.FAILED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.DISCARDED: frozenset(),
    S.CANCELLED: frozenset(),
}

#: Statuses a person may cancel from.
CANCELLABLE = frozenset({S.QUEUED, S.RUNNING})
#: Statuses in which a worker holds the run and must keep its heartbeat fresh.
LEASED = frozenset({S.RUNNING, S.APPLYING})
