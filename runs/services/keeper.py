"""The lease keeper: a thread that renews a run's lease for as long as its worker lives.

The work itself proves liveness only between steps (a page read, a poll), and one step can
take longer than the lease (a slow SIS answer, a large plan). So while a worker holds a run,
this thread refreshes the run's heartbeat and the district lock every third of the lease,
on a database connection of its own. A killed worker's keeper dies with it: the lease then
runs out within one lease, and the next start (or the redelivered message) takes over.

A run whose work is split in parts (a passback's courses, on any worker, with no district
lock) keeps each part's own liveness mark fresh the same way: ``also`` renews it with the run.

It only keeps the lease alive. Stopping at a safe point when the run was cancelled or failed
as lost stays with the work's own heartbeat (``runs.services.lifecycle.Heartbeat``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from django.db import DatabaseError, connection
from django.utils import timezone

from runs.lease import heartbeat_every_seconds
from runs.locks import RunLock
from runs.models import SyncRun
from runs.states import LEASED

logger = logging.getLogger(__name__)


class LeaseKeeper:
    """``with LeaseKeeper(run_id, lock): <the run's work>``; ``lock`` is None for work that
    holds no district lock, ``also`` renews the work's own liveness mark at each renewal."""

    def __init__(
        self, run_id: int, lock: RunLock | None, *, also: Callable[[], object] | None = None
    ) -> None:
        self.run_id = run_id
        self.lock = lock
        self.also = also
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._keep, name=f"lease-keeper-run-{run_id}", daemon=True
        )

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _keep(self) -> None:
        try:
            while not self._stop.wait(heartbeat_every_seconds()):
                self.renew()
        finally:
            connection.close()  # this thread's own connection

    def renew(self) -> None:
        """One renewal: the run's heartbeat (while it is leased), ``also`` and the lock's
        TTL. A database or Redis hiccup is logged and tried again next time."""
        try:
            SyncRun.objects.filter(pk=self.run_id, status__in=tuple(LEASED)).update(
                heartbeat_at=timezone.now()
            )
            if self.also is not None:
                self.also()
        except DatabaseError as exc:
            logger.warning("run %s: lease not renewed: %s", self.run_id, exc)
            connection.close()
        if self.lock is not None:
            self.lock.extend()
