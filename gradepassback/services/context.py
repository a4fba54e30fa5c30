"""What every course of a passback run shares: clients, options, categories, the gate.

Built once per run in the process doing the work (the ``sync`` command, or a Celery worker
that keeps the last one so consecutive course tasks of a run reuse its connections and
OAuth token). Closing it releases the HTTP pools.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from gradepassback.gate import RequestGate
from gradepassback.mapping import CategoryIndex, Options, Period
from gradepassback.models import CategoryOverride
from provisioning.selectors import (
    canvas_user_sourced_ids,
    roster_class_terms,
    roster_session_children,
    roster_session_list,
)
from tenants.services.clients import district_canvas_client, district_oneroster_client

if TYPE_CHECKING:
    from integration.canvas.client import CanvasClient
    from integration.oneroster.client import OneRosterClient
    from provisioning.models import RosterSession
    from runs.models import SyncRun
    from tenants.models import District


@dataclass
class PassbackContext:
    """Per run: the district, its options and clients, and lookups into the roster mirror."""

    district: District
    run: SyncRun
    options: Options
    canvas: CanvasClient
    oneroster: OneRosterClient
    gate: RequestGate
    categories: CategoryIndex
    # The writer threads (as many as the district's SIS concurrency), shared by the
    # courses this process works on at once.
    writers: ThreadPoolExecutor
    owns_clients: bool = True
    _user_ids: SisUserIds | None = field(default=None, repr=False)

    def close(self) -> None:
        """Release the writer threads; the HTTP clients too when this context made them."""
        self.writers.shutdown(wait=True)
        if self.owns_clients:
            self.canvas.close()
            self.oneroster.close()

    # --- roster mirror lookups -----------------------------------------------------------

    def student_sourced_id(self, sis_user_id: str | None) -> str | None:
        """The OneRoster sourcedId behind a Canvas SIS user id (see ``SisUserIds``)."""
        if self._user_ids is None:
            self._user_ids = SisUserIds(self.district)
        return self._user_ids.sourced_id(sis_user_id)

    def class_periods(self, class_sourced_ids: set[str]) -> dict[str, tuple[Period, ...]]:
        return class_periods_for(district=self.district, class_sourced_ids=class_sourced_ids)


class SisUserIds:
    """Canvas SIS user id → OneRoster sourcedId, for one district.

    Provisioning sets the Canvas user id to the sourcedId, or (by district option) to
    the OneRoster identifier; the Canvas mirror knows which id it sent for whom.
    """

    def __init__(self, district: District) -> None:
        self.district = district
        self._index: dict[str, str] | None = None

    def sourced_id(self, sis_user_id: str | None) -> str | None:
        if not sis_user_id:
            return None
        if self.district.user_id_source == "sourcedId":
            return sis_user_id
        if self._index is None:
            self._index = canvas_user_sourced_ids(district=self.district)
        return self._index.get(sis_user_id)


def class_periods_for(
    *, district: District, class_sourced_ids: set[str]
) -> dict[str, tuple[Period, ...]]:
    """Known classes among ``class_sourced_ids`` → their academic sessions: their terms,
    then the terms' descendants by ``parent`` (``Period.term`` names the term), so a class
    listing a semester finds the semester's grading periods."""
    classes = roster_class_terms(district=district, class_sourced_ids=class_sourced_ids)
    wanted = {sid for terms in classes.values() for sid in terms}
    sessions = {
        s.sourced_id: _period(s) for s in roster_session_list(district=district, sourced_ids=wanted)
    }
    children = _session_children(district=district, roots=set(sessions))
    out = {}
    for class_sid, terms in classes.items():
        periods: dict[str, Period] = {t: sessions[t] for t in terms if t in sessions}
        for term in list(periods):
            for below in _descendants(term, children):
                periods.setdefault(below.sourced_id, replace(below, term=term))
        out[class_sid] = tuple(periods.values())
    return out


def _period(session: RosterSession) -> Period:
    return Period(
        session.sourced_id,
        session.title,
        session.start_date,
        session.end_date,
        type=session.type,
    )


def _session_children(*, district: District, roots: set[str]) -> dict[str, list[Period]]:
    """Parent sourcedId → its child sessions (by start), for every session below ``roots``.

    One query per level (a school year has at most three). A session that is itself a root
    (a class listing a semester, another its quarter) is still a child of its parent."""
    children: dict[str, list[Period]] = {}
    expanded: set[str] = set()
    level = roots
    while level:
        found = roster_session_children(district=district, parents=level)
        expanded |= level
        for session in found.order_by("start_date", "sourced_id"):
            children.setdefault(session.parent, []).append(_period(session))
        level = {p.sourced_id for kids in children.values() for p in kids} - expanded
    return children


def _descendants(root: str, children: dict[str, list[Period]]) -> list[Period]:
    """The sessions below ``root``, depth first; each once, even where broken data makes
    ``parent`` links a cycle."""
    out: list[Period] = []
    seen = {root}
    stack = list(reversed(children.get(root, [])))
    while stack:
        period = stack.pop()
        if period.sourced_id in seen:
            continue
        seen.add(period.sourced_id)
        out.append(period)
        stack.extend(reversed(children.get(period.sourced_id, [])))
    return out


def category_index_build(*, district: District, categories: list[list[str]]) -> CategoryIndex:
    """The category matcher from the run's SIS categories and the district's overrides."""
    overrides = dict(
        CategoryOverride.objects.filter(district=district).values_list(
            "assignment_group_name", "category_sourced_id"
        )
    )
    return CategoryIndex(
        categories=[(sid, title) for sid, title in categories], overrides=overrides
    )


def passback_context_build(
    *,
    run: SyncRun,
    categories: list[list[str]],
    canvas: CanvasClient | None = None,
    oneroster: OneRosterClient | None = None,
) -> PassbackContext:
    """A context for ``run``; clients default to the district's own."""
    district = run.district
    return PassbackContext(
        district=district,
        run=run,
        options=Options.for_district(district),
        canvas=canvas or district_canvas_client(district),
        oneroster=oneroster or district_oneroster_client(district),
        gate=RequestGate(district_id=district.pk, limit=district.oneroster_concurrency),
        categories=category_index_build(district=district, categories=categories),
        writers=ThreadPoolExecutor(
            max_workers=district.oneroster_concurrency, thread_name_prefix="passback-put"
        ),
        owns_clients=canvas is None and oneroster is None,
    )


_worker_context: tuple[tuple[int, object], PassbackContext] | None = None


def passback_context_for_worker(run: SyncRun) -> PassbackContext:
    """The context of ``run`` for a Celery worker process, kept between course tasks.

    Consecutive course tasks of one run reuse the clients (connection pools, OAuth token).
    A task of another run, or a changed district (credentials), replaces it.
    """
    global _worker_context
    key = (run.pk, run.district.updated_at)
    if _worker_context is not None and _worker_context[0] == key:
        return _worker_context[1]
    if _worker_context is not None:
        _worker_context[1].close()
        _worker_context = None
    ctx = passback_context_build(run=run, categories=run.passback.categories)
    _worker_context = (key, ctx)
    return ctx
