"""Reads for the console pages, shaped for display: rows with ages, tones and reasons.

Everything here only reads. District-wide listings use a fixed number of queries whatever
the number of districts (``DISTINCT ON`` for the last run of each kind, grouped counts),
so the overview stays fast for a deployment with many districts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from console.display import (
    KIND_SHORT,
    STATUS_TONES,
    age,
    changed_rows,
    changes_text,
    duration,
    run_worked_seconds,
)
from provisioning.mapping import FILES, consolidated_term_prefix
from provisioning.models import CanvasRow, Conflict, RosterClass, RosterOrg, RosterSession
from runs.lease import lease
from runs.models import SyncRun
from tenants.models import AuditEvent, District, district_secret_paths
from tenants.selectors import district_credential_warning

S = SyncRun.Status
OVERVIEW_KINDS = (SyncRun.Kind.DELTA, SyncRun.Kind.FULL, SyncRun.Kind.PASSBACK)
#: Conflict age filters: label → (newer than, older than) in days.
CONFLICT_AGES = {
    "1d": ("Seen first in the last day", 0, 1),
    "7d": ("In the last week", 0, 7),
    "30d": ("In the last 30 days", 0, 30),
    "older": ("Older than 30 days", 30, None),
}


@dataclass
class RunRow:
    """A run as list pages show it."""

    run: SyncRun
    kind_label: str
    status_label: str
    tone: str
    age: str
    duration: str
    changes: str

    @property
    def pk(self) -> int:
        return self.run.pk


def run_row(run: SyncRun, *, now: dt.datetime | None = None) -> RunRow:
    now = now or timezone.now()
    return RunRow(
        run=run,
        kind_label=KIND_SHORT.get(run.kind, run.kind),
        status_label=run.get_status_display(),
        tone=STATUS_TONES.get(run.status, "neutral"),
        age=age(run.finished_at or run.started_at or run.created_at, now=now),
        # A held or queued run is waiting, not working: no running time to show.
        duration=duration(run_worked_seconds(run, now=now))
        if run.status in (*SyncRun.FINAL_STATUSES, S.RUNNING, S.APPLYING)
        else "",
        changes=changes_text(run),
    )


@dataclass
class DistrictRow:
    """One line of the districts overview."""

    district: District
    last: dict[str, RunRow | None]
    active: RunRow | None
    held: int
    open_errors: int
    check_ok: bool | None
    check_age: str
    credential_warning: str
    #: The last successful run, which proves the connection as well as a check does.
    proved_by: RunRow | None = None
    #: (reason, tone) pairs; "neutral" reasons (not set up yet) need no one to act now.
    attention: list[tuple[str, str]] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        return bool(self.attention)

    @property
    def connected(self) -> bool | None:
        """Whether the district's systems answer: the check's result, or a successful run
        since (or instead of) a check."""
        if self.check_ok is None and self.proved_by is not None:
            return True
        if self.check_ok is False and self.proved_by is not None:
            checked = self.district.last_check_at
            finished = self.proved_by.run.finished_at
            if checked and finished and finished > checked:
                return True
        return self.check_ok


def _sort_key(row: DistrictRow, key: str) -> Any:
    never = dt.datetime.min.replace(tzinfo=dt.UTC)

    def finished(kind: str) -> dt.datetime:
        last = row.last.get(kind)
        if last is None:
            return never
        return last.run.finished_at or last.run.created_at

    keys = {
        "name": lambda: row.district.name.lower(),
        "status": lambda: row.district.status,
        "delta": lambda: finished(SyncRun.Kind.DELTA),
        "full": lambda: finished(SyncRun.Kind.FULL),
        "passback": lambda: finished(SyncRun.Kind.PASSBACK),
        "conflicts": lambda: row.open_errors,
        "held": lambda: row.held,
        "attention": lambda: (row.needs_attention, len(row.attention), row.open_errors),
        "check": lambda: {True: 2, None: 1, False: 0}[row.connected],
    }
    return keys.get(key, keys["name"])()


OVERVIEW_SORTS = ("name", "status", "delta", "full", "passback", "conflicts", "held", "check")


def district_overview(
    *, search: str = "", status: str = "", attention: bool = False, sort: str = "name"
) -> list[DistrictRow]:
    """Every district with its last delta, full and passback run, held runs, open error
    conflicts, connection check and credential warning; filtered and sorted.

    ``sort`` is a key of ``OVERVIEW_SORTS``, ``-`` in front for descending.
    """
    districts = District.objects.order_by("name")
    if search:
        districts = districts.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    if status:
        districts = districts.filter(status=status)
    districts = list(districts)
    ids = [d.pk for d in districts]
    now = timezone.now()
    last: dict[tuple[int, str], SyncRun] = {
        (r.district_id, r.kind): r
        for r in SyncRun.objects.filter(district_id__in=ids, kind__in=OVERVIEW_KINDS)
        .order_by("district_id", "kind", "-created_at", "-id")
        .distinct("district_id", "kind")
    }
    active = {
        r.district_id: r
        for r in SyncRun.objects.filter(district_id__in=ids, status__in=SyncRun.ACTIVE_STATUSES)
    }
    proved = {
        r.district_id: r
        for r in SyncRun.objects.filter(district_id__in=ids, status=S.SUCCEEDED)
        .order_by("district_id", "-finished_at", "-id")
        .distinct("district_id")
    }
    held = dict(
        SyncRun.objects.filter(district_id__in=ids, status=S.HELD)
        .values_list("district_id")
        .annotate(n=Count("id"))
    )
    errors = dict(
        Conflict.objects.filter(
            district_id__in=ids, severity=Conflict.Severity.ERROR, closed_at__isnull=True
        )
        .values_list("district_id")
        .annotate(n=Count("id"))
    )
    rows = []
    for district in districts:
        row = DistrictRow(
            district=district,
            last={
                kind: run_row(last[(district.pk, kind)], now=now)
                if (district.pk, kind) in last
                else None
                for kind in OVERVIEW_KINDS
            },
            active=run_row(active[district.pk], now=now) if district.pk in active else None,
            held=held.get(district.pk, 0),
            open_errors=errors.get(district.pk, 0),
            check_ok=district.last_check_ok,
            check_age=age(district.last_check_at, now=now),
            credential_warning=district_credential_warning(district=district),
            proved_by=run_row(proved[district.pk], now=now) if district.pk in proved else None,
        )
        row.attention = _attention(row, now=now)
        rows.append(row)
    if attention:
        rows = [row for row in rows if row.needs_attention]
    key = sort.lstrip("-")
    rows.sort(key=lambda row: _sort_key(row, key), reverse=sort.startswith("-"))
    return rows


#: A queued run no worker has taken for this long is stuck.
QUEUED_STUCK = dt.timedelta(minutes=15)


def run_stuck_reason(run: SyncRun, *, now: dt.datetime) -> str:
    """Why an active run looks stuck or is retrying, or ``""``."""
    if run.status in (S.RUNNING, S.APPLYING):
        beat = run.heartbeat_at or run.started_at or run.created_at
        if now - beat > lease():
            return f"{KIND_SHORT.get(run.kind, run.kind)} #{run.pk} has shown no sign of life"
    if run.status == S.QUEUED:
        if run.attempts:
            return f"{KIND_SHORT.get(run.kind, run.kind)} #{run.pk} is retrying"
        if now - run.created_at > QUEUED_STUCK:
            return f"{KIND_SHORT.get(run.kind, run.kind)} #{run.pk} waits for a worker"
    return ""


def _attention(row: DistrictRow, *, now: dt.datetime) -> list[tuple[str, str]]:
    """Why someone should look at the district, each with its tone; a paused district
    needs no one."""
    reasons = []
    for kind in OVERVIEW_KINDS:
        last = row.last.get(kind)
        if last is not None and last.run.status == S.FAILED:
            reasons.append((f"Last {KIND_SHORT[kind].lower()} failed", "danger"))
    if row.active is not None:
        stuck = run_stuck_reason(row.active.run, now=now)
        if stuck:
            reasons.append((stuck, "danger" if "no sign" in stuck else "warning"))
    if row.connected is False:
        reasons.append(("Connection check failing", "danger"))
    if row.held:
        reasons.append((f"{row.held:,} held run{'s' if row.held > 1 else ''}", "warning"))
    if row.open_errors:
        plural = "s" if row.open_errors > 1 else ""
        reasons.append((f"{row.open_errors:,} open error conflict{plural}", "warning"))
    if row.credential_warning:
        tone = "danger" if "expired" in row.credential_warning else "warning"
        reasons.append((row.credential_warning, tone))
    if row.connected is None and row.district.status != District.Status.PAUSED:
        reasons.append(("Never checked: run the connection check", "warning"))
    return reasons


@dataclass(frozen=True)
class DateRange:
    """``from``/``to`` days of a list's filter form (both ends included, UTC)."""

    start: dt.date | None = None
    end: dt.date | None = None

    @classmethod
    def from_query(cls, query: Any) -> DateRange:
        def day(name: str) -> dt.date | None:
            try:
                return dt.date.fromisoformat(query.get(name, "").strip())
            except ValueError:
                return None

        return cls(start=day("from"), end=day("to"))

    def as_query(self) -> dict[str, str]:
        values = {"from": self.start, "to": self.end}
        return {k: v.isoformat() for k, v in values.items() if v is not None}

    def apply(self, rows: QuerySet, field: str) -> QuerySet:
        if self.start is not None:
            rows = rows.filter(**{f"{field}__date__gte": self.start})
        if self.end is not None:
            rows = rows.filter(**{f"{field}__date__lte": self.end})
        return rows


def run_list(
    *,
    district: District | None = None,
    kind: str = "",
    status: str = "",
    dates: DateRange | None = None,
) -> QuerySet[SyncRun]:
    runs = SyncRun.objects.select_related("district").defer(*district_secret_paths("district"))
    if district is not None:
        runs = runs.filter(district=district)
    if kind:
        runs = runs.filter(kind=kind)
    if status:
        runs = runs.filter(status=status)
    if dates is not None:
        runs = dates.apply(runs, "created_at")
    return runs.order_by("-created_at", "-id")


# --- chart ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPoint:
    run_id: int
    kind: str
    started_at: dt.datetime
    seconds: float
    changed: int
    status: str
    #: Whether the run waited for a person's approval (held, then approved or discarded).
    held: bool = False


def run_chart_points(*, district: District, limit: int = 30) -> list[ChartPoint]:
    """The district's last delta and full runs that did some work (finished or held),
    oldest first; the time shown is the time worked, without the wait for approval."""
    now = timezone.now()
    runs = (
        SyncRun.objects.filter(
            district=district,
            kind__in=(SyncRun.Kind.DELTA, SyncRun.Kind.FULL),
            started_at__isnull=False,
        )
        .filter(Q(finished_at__isnull=False) | Q(status=S.HELD))
        .order_by("-started_at", "-id")
        .only(
            "pk",
            "kind",
            "started_at",
            "finished_at",
            "counts",
            "status",
            "progress",
            "decided_at",
        )[:limit]
    )
    return [
        ChartPoint(
            run_id=r.pk,
            kind=r.kind,
            started_at=r.started_at,
            seconds=run_worked_seconds(r, now=now) or 0.0,
            changed=changed_rows(r.counts),
            status=r.status,
            held=r.status == S.HELD or r.decided_at is not None,
        )
        for r in reversed(list(runs))
    ]


# --- conflicts -----------------------------------------------------------------------------


@dataclass
class ConflictFilters:
    district: str = ""
    kind: str = ""
    severity: str = ""
    school: str = ""
    age: str = ""
    state: str = "open"
    search: str = ""
    dates: DateRange = field(default_factory=DateRange)

    @classmethod
    def from_query(cls, query: Any) -> ConflictFilters:
        state = query.get("state", "open")
        return cls(
            dates=DateRange.from_query(query),
            district=query.get("district", "").strip(),
            kind=query.get("kind", "").strip(),
            severity=query.get("severity", "").strip(),
            school=query.get("school", "").strip(),
            age=query.get("age", "").strip(),
            state=state if state in ("open", "closed", "all") else "open",
            search=query.get("q", "").strip(),
        )

    def as_query(self) -> dict[str, str]:
        values = {
            "district": self.district,
            "kind": self.kind,
            "severity": self.severity,
            "school": self.school,
            "age": self.age,
            "state": self.state,
            "q": self.search,
            **self.dates.as_query(),
        }
        return {k: v for k, v in values.items() if v}


def conflict_browse(
    *, filters: ConflictFilters, now: dt.datetime | None = None
) -> QuerySet[Conflict]:
    """Conflicts across districts narrowed by ``filters``, newest first."""
    now = now or timezone.now()
    conflicts = Conflict.objects.select_related("district", "last_run").defer(
        *district_secret_paths("district")
    )
    if filters.district:
        conflicts = conflicts.filter(district__slug=filters.district)
    if filters.kind:
        conflicts = conflicts.filter(kind=filters.kind)
    if filters.severity:
        conflicts = conflicts.filter(severity=filters.severity)
    if filters.school:
        conflicts = conflicts.filter(school=filters.school)
    if filters.state == "open":
        conflicts = conflicts.filter(closed_at__isnull=True)
    elif filters.state == "closed":
        conflicts = conflicts.filter(closed_at__isnull=False)
    if filters.age in CONFLICT_AGES:
        _, newer_days, older_days = CONFLICT_AGES[filters.age]
        if older_days is not None:
            conflicts = conflicts.filter(first_seen__gte=now - dt.timedelta(days=older_days))
        if newer_days:
            conflicts = conflicts.filter(first_seen__lt=now - dt.timedelta(days=newer_days))
    if filters.search:
        conflicts = conflicts.filter(
            Q(sourced_id__icontains=filters.search) | Q(detail__icontains=filters.search)
        )
    conflicts = filters.dates.apply(conflicts, "last_seen")
    return conflicts.order_by("-last_seen", "kind", "sourced_id")


def conflict_open_counts(*, district: District) -> dict[str, int]:
    """Open conflicts of the district by severity."""
    return dict(
        Conflict.objects.filter(district=district, closed_at__isnull=True)
        .values_list("severity")
        .annotate(n=Count("id"))
    )


def audit_browse(
    *,
    district_slug: str = "",
    action: str = "",
    search: str = "",
    dates: DateRange | None = None,
) -> QuerySet[AuditEvent]:
    """Audit rows of every district (or one), newest first."""
    events = AuditEvent.objects.select_related("district", "actor").defer(
        *district_secret_paths("district")
    )
    if district_slug:
        events = events.filter(district__slug=district_slug)
    if action:
        events = events.filter(action=action)
    if search:
        events = events.filter(Q(actor_label__icontains=search) | Q(target__icontains=search))
    if dates is not None:
        events = dates.apply(events, "created_at")
    return events.order_by("-created_at", "-id")


def school_names(*, district_ids: list[int] | None = None) -> dict[str, str]:
    """School sourcedId → name from the roster mirror (names of the schools conflicts cite)."""
    orgs = RosterOrg.objects.filter(type="school")
    if district_ids is not None:
        orgs = orgs.filter(district_id__in=district_ids)
    return dict(orgs.values_list("sourced_id", "name"))


def conflict_schools(*, filters: ConflictFilters) -> list[tuple[str, str]]:
    """(sourcedId, name) of the schools that have conflicts, for the school filter."""
    conflicts = Conflict.objects.exclude(school="")
    if filters.district:
        conflicts = conflicts.filter(district__slug=filters.district)
    ids = sorted(set(conflicts.values_list("school", flat=True).distinct()[:500]))
    names = school_names()
    return sorted(((sid, names.get(sid, sid)) for sid in ids), key=lambda pair: pair[1].lower())


# --- term mode preview ---------------------------------------------------------------------


@dataclass
class CourseMove:
    course_id: str
    name: str
    old_term: str
    new_term: str
    old_term_name: str = ""
    new_term_name: str = ""
    school: str = ""


@dataclass
class TermModePreview:
    """What switching ``term_mode`` would do to what Canvas already holds."""

    from_mode: str
    to_mode: str
    courses_in_canvas: int
    moves: int
    sample: list[CourseMove]
    terms_created: list[tuple[str, str]]
    terms_retired: list[tuple[str, str]]
    #: The same terms by school: (school name, [(term id, name), ...]), schools by name.
    created_by_school: list[tuple[str, list[tuple[str, str]]]]
    retired_by_school: list[tuple[str, list[tuple[str, str]]]]
    #: Canvas terms by id → name, to show names instead of ids.
    term_names: dict[str, str]

    @property
    def empty(self) -> bool:
        return not (self.moves or self.terms_created or self.terms_retired)


def term_mode_preview(*, district: District, term_mode: str, sample: int = 50) -> TermModePreview:
    """Compare the terms and course terms Canvas holds (the Canvas mirror) with what the
    roster mirror gives under ``term_mode``. Read-only; the next sync does the move (and is
    held by the terms guard when it retires terms)."""
    term_col = FILES["courses"].columns.index("term_id")
    name_col = FILES["courses"].columns.index("long_name")
    sessions = {
        s.sourced_id: s
        for s in RosterSession.objects.filter(district=district).only(
            "sourced_id", "title", "start_date", "school_year"
        )
    }

    def new_term_of(terms: list[str]) -> str | None:
        known = sorted(
            (sessions[sid] for sid in terms if sid in sessions),
            key=lambda s: (s.start_date, s.sourced_id),
        )
        if not known:
            return None
        first = known[0]
        if term_mode == "as_is":
            return first.sourced_id
        return consolidated_term_prefix(district) + first.school_year

    class_terms: dict[str, list[str]] = {}
    session_schools: dict[str, set[str]] = {}
    for sid, school, terms in RosterClass.objects.filter(district=district).values_list(
        "sourced_id", "school", "terms"
    ):
        class_terms[sid] = terms
        for term in terms or []:
            session_schools.setdefault(term, set()).add(school)
    names = school_names(district_ids=[district.pk])
    moves: list[CourseMove] = []
    count = in_canvas = 0
    courses = CanvasRow.objects.filter(district=district, file="courses").values_list(
        "key", "row", "school"
    )
    for key, row, school in courses.iterator(chunk_size=5000):
        in_canvas += 1
        new = new_term_of(class_terms.get(key, []))
        if new is None or new == row[term_col]:
            continue
        count += 1
        if len(moves) < sample:
            moves.append(
                CourseMove(
                    key,
                    row[name_col],
                    row[term_col],
                    new,
                    school=names.get(school, school or "District-wide"),
                )
            )
    moves.sort(key=lambda move: (move.school.lower(), move.course_id))
    if term_mode == "as_is":
        wanted = {s.sourced_id: s.title for s in sessions.values()}
    else:
        wanted = {}
        for s in sessions.values():
            label = (
                f"{int(s.school_year) - 1}-{s.school_year}"
                if s.school_year.isdigit()
                else s.school_year
            )
            wanted[consolidated_term_prefix(district) + s.school_year] = label
    current = dict(
        CanvasRow.objects.filter(district=district, file="terms").values_list("row__0", "row__1")
    )
    for move in moves:
        move.old_term_name = current.get(move.old_term, "")
        move.new_term_name = wanted.get(move.new_term, "")
    created = sorted((tid, name) for tid, name in wanted.items() if tid not in current)
    retired = sorted((tid, name) for tid, name in current.items() if tid not in wanted)

    def school_of(term_id: str) -> str:
        schools = session_schools.get(term_id, set())
        if term_id.startswith(consolidated_term_prefix(district)) or len(schools) > 1:
            return "All schools"
        if not schools:
            return "No school's classes use it"
        only = next(iter(schools))
        return names.get(only, only or "District-wide")

    def by_school(terms: list[tuple[str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
        groups: dict[str, list[tuple[str, str]]] = {}
        for term in terms:
            groups.setdefault(school_of(term[0]), []).append(term)
        return sorted(groups.items(), key=lambda item: item[0].lower())

    return TermModePreview(
        from_mode=district.term_mode,
        to_mode=term_mode,
        courses_in_canvas=in_canvas,
        moves=count,
        sample=moves,
        terms_created=created,
        terms_retired=retired,
        created_by_school=by_school(created),
        retired_by_school=by_school(retired),
        term_names={**current, **wanted},
    )
