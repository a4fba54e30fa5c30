"""Sending gradebook writes: concurrent PUT/DELETE under the district's request gate.

Each write holds one slot of the district-wide ``RequestGate`` while it is in flight, and a
course sends at most ``District.oneroster_concurrency`` at once, so many course tasks on many
workers together stay within the SIS's limit. A write's failure is that item's outcome; the
only exception that stops the whole batch is the SIS refusing the gradebook vendor key (a
401): every other write would be refused the same way, so the batch stops sending and
``VendorKeyRejected`` propagates to fail the run.
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from integration.canvas.types import format_timestamp
from integration.http.errors import UpstreamError
from integration.oneroster.errors import OneRosterError, VendorKeyRejected

if TYPE_CHECKING:
    from gradepassback.gate import RequestGate
    from gradepassback.mapping import Push
    from integration.oneroster.client import OneRosterClient

#: How often the waiting thread calls the heartbeat while writes are in flight.
HEARTBEAT_EVERY_SECONDS = 30.0
#: Writes sent under one gate slot before it is given back (fairness between processes).
SLOT_BATCH = 25


class Action(enum.StrEnum):
    PUT = "put"
    DELETE = "delete"


class ObjectType(enum.StrEnum):
    LINE_ITEM = "lineItem"
    RESULT = "result"


@dataclass(slots=True)
class Job:
    """One write. ``meta`` carries what the outcome row needs (assignment, class, student)."""

    object_type: ObjectType
    action: Action
    sourced_id: str
    push: Push | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    ok: bool = False
    # The SIS refused the request (a 4xx), as opposed to a transport or server failure.
    refused: bool = False
    detail: str = ""


def error_text(exc: UpstreamError) -> str:
    """The reason shown for a failed write: the SIS's own words when it gave some."""
    if isinstance(exc, OneRosterError) and exc.imsx_description:
        return f"The SIS refused it ({exc.status}): {exc.imsx_description}"
    return str(exc)


class Pusher:
    """Runs jobs with up to ``concurrency`` in flight, each under a gate slot.

    ``pool`` is the process's writer threads, shared by every course the process works on
    at once: as many threads as the district may have requests in flight, so parallel
    courses add no threads that would only wait (and fight over the GIL). Each of up to
    ``concurrency`` runners takes a gate slot and sends up to ``SLOT_BATCH`` jobs under it
    before giving it back, so the gate costs two Redis calls per batch, not per request.
    """

    def __init__(
        self,
        *,
        client: OneRosterClient,
        gate: RequestGate,
        pool: ThreadPoolExecutor,
        concurrency: int,
        heartbeat: Callable[[], None] = lambda: None,
        now: Callable[[], dt.datetime],
    ) -> None:
        self._client = client
        self._gate = gate
        self._pool = pool
        self._concurrency = max(1, concurrency)
        self._heartbeat = heartbeat
        self._now = now
        self._stop = threading.Event()
        self.sent = 0

    def run(self, jobs: Iterable[Job]) -> list[Job]:
        """Send every job; fill ``ok`` and ``detail``; raise ``VendorKeyRejected`` if the
        SIS refused the vendor key (the jobs not yet sent are left unsent)."""
        jobs = list(jobs)
        if not jobs:
            return jobs
        stamp = format_timestamp(self._now())
        queue = collections.deque(jobs)
        refusal: list[VendorKeyRejected] = []
        runners = [
            self._pool.submit(self._drain, queue, stamp, refusal)
            for _ in range(min(self._concurrency, len(jobs)))
        ]
        try:
            pending = set(runners)
            while pending:
                _, pending = wait(pending, timeout=HEARTBEAT_EVERY_SECONDS)
                if pending:
                    self._heartbeat()
        except BaseException:
            # The heartbeat says the run stopped: send nothing more, let in-flight finish.
            self._stop.set()
            wait(runners)
            raise
        for runner in runners:
            runner.result()  # a bug in a runner surfaces here, not silently
        if refusal:
            raise refusal[0]
        return jobs

    def _drain(self, queue: collections.deque[Job], stamp: str, refusal: list) -> None:
        while queue and not self._stop.is_set():
            with self._gate.slot() as slot:
                for _ in range(SLOT_BATCH):
                    if self._stop.is_set():
                        return
                    try:
                        job = queue.popleft()
                    except IndexError:
                        return
                    self._send(job, stamp, refusal)
                    slot.keep_alive()

    def _send(self, job: Job, stamp: str, refusal: list[VendorKeyRejected]) -> None:
        try:
            if job.action is Action.DELETE:
                self._delete(job)
                job.detail = "deleted"
            else:
                assert job.push is not None
                body = {**job.push.payload, "dateLastModified": stamp}
                put = (
                    self._client.put_line_item
                    if job.object_type is ObjectType.LINE_ITEM
                    else self._client.put_result
                )
                job.detail = str(put(job.sourced_id, body))
            job.ok = True
            self.sent += 1
        except VendorKeyRejected as exc:
            self._stop.set()
            refusal.append(exc)
            job.detail = error_text(exc)
        except UpstreamError as exc:
            job.detail = error_text(exc)
            job.refused = exc.status is not None and 400 <= exc.status < 500

    def _delete(self, job: Job) -> None:
        if job.object_type is ObjectType.LINE_ITEM:
            self._client.delete_line_item(job.sourced_id)
        else:
            self._client.delete_result(job.sourced_id)
