"""Canvas coursework → OneRoster 1.1 gradebook objects (DESIGN §5). Pure: no ORM, no HTTP.

Everything here is a function of its arguments, so a passback is reproducible: the same
Canvas data and options give byte-identical payloads, and the payload hash decides whether
anything needs sending.

sourcedIds are UUIDv5 names in ``SOURCED_ID_NAMESPACE``, built from the district slug (never
edited after creation) and Canvas / OneRoster ids, so they are stable across reruns and
reinstalls and distinct between districts:

- assignment lineItem: ``lineItem:{slug}:{canvas assignment id}:{class sourcedId}``
- course-grade lineItem: ``courseGrade:{slug}:{class sourcedId}:{session sourcedId}``
- result: ``result:{slug}:{lineItem sourcedId}:{student sourcedId}``
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson

from integration.canvas.types import format_timestamp

if TYPE_CHECKING:
    from integration.canvas.types import CanvasAssignment, CanvasSubmission

#: Fixed namespace of every sourcedId we create. Changing it would duplicate every lineItem.
SOURCED_ID_NAMESPACE = uuid.UUID("6f1c4d2e-9a57-5b8e-8d3c-2b7e0f4a9c61")

#: IC's placeholder category for assignments (infinite-campus.md §10): if the SIS lists it,
#: it is the default for assignments whose group matches no category. (The all-zero GUID
#: is the category of IC's own grading tasks, never a default for assignments.)
PLACEHOLDER_CATEGORY_ID = "11111111-1111-1111-111111111111"
DEFAULT_CATEGORY_TITLES = frozenset({"uncategorized", "default"})

#: Payload keys that change on every push and so never count as a change.
VOLATILE_KEYS = frozenset({"dateLastModified"})

#: The title the issue asks for ("Course grade", an en dash, the period title).
COURSE_GRADE_TITLE = "Course grade \u2013 {period}"


class ScoreStatus(enum.StrEnum):
    """OneRoster 1.1 ``scoreStatus`` values we send (spaces are part of the spelling)."""

    FULLY_GRADED = "fully graded"
    EXEMPT = "exempt"
    NOT_SUBMITTED = "not submitted"


class ProblemKind(enum.StrEnum):
    """Why an assignment (or one of its classes) is not sent; each is a teacher's to fix."""

    NO_DUE_DATE = "no_due_date"
    DUE_OUTSIDE_PERIODS = "due_outside_periods"
    DIFFERING_DUE_DATES = "differing_due_dates"
    TITLE_TOO_LONG = "title_too_long"
    NO_POINTS = "no_points"
    UNKNOWN_CLASS = "unknown_class"
    NO_GRADING_TASK = "no_grading_task"
    NO_GRADING_PERIOD = "no_grading_period"
    STUDENT_NOT_IN_ROSTER = "student_not_in_roster"


class SkipReason(enum.StrEnum):
    """Why a score is not sent although its lineItem is (counted, not a problem)."""

    UNGRADED = "ungraded"
    HIDDEN = "hidden"
    MISSING_SKIPPED = "missing_skipped"
    NO_SCORE = "no_score"
    UNKNOWN_STUDENT = "unknown_student"


# Teacher-facing messages. Tests assert on these.
MSG_NO_DUE_DATE = (
    "“{name}” has no due date. The SIS places each score in a grading period by its due "
    "date: give the assignment one due date."
)
MSG_DUE_OUTSIDE_PERIODS = (
    "“{name}” is due {due}, which is outside every grading period of class {class_sid} "
    "({periods}). Move the due date into a grading period."
)
MSG_DIFFERING_DUE_DATES = (
    "“{name}” has different due dates for different sections or students ({dates}). "
    "The SIS takes one due date per assignment: give everyone the same due date."
)
MSG_TITLE_TOO_LONG = (
    "“{name}” is {length} characters long; the SIS accepts at most {limit}. Shorten the name."
)
MSG_NO_POINTS = (
    "“{name}” is marked for SIS sync but is worth no points, so there is no score to send. "
    "Give it points or untick “Sync to SIS”."
)
MSG_UNKNOWN_CLASS = (
    "Section {section} of this course is not a class in the SIS, so its students' scores "
    "cannot be sent. Ask the district to check the section's SIS id."
)
MSG_NO_GRADING_TASK = (
    "The SIS has no grading task titled “{task}” for {period} in class {class_sid}, so the "
    "course grade cannot be sent there."
)
MSG_STUDENT_NOT_IN_ROSTER = (
    "{count} student(s) of section {section} have a SIS user id the district's roster does "
    "not know ({ids}), so their grades cannot be sent. Ask the district to check them."
)
MSG_NO_GRADING_PERIOD = (
    "No Canvas grading period of this course matches {sessions} of class {class_sid} by "
    "title or by dates, so its course grade cannot be sent. Give the course's grading "
    "period set a period with the session's title or dates."
)


# --- sourcedIds ----------------------------------------------------------------------------


def _uuid(name: str) -> str:
    return str(uuid.uuid5(SOURCED_ID_NAMESPACE, name))


def lineitem_sourced_id(*, district_slug: str, assignment_id: int, class_sourced_id: str) -> str:
    return _uuid(f"lineItem:{district_slug}:{int(assignment_id)}:{class_sourced_id}")


def course_grade_lineitem_sourced_id(
    *, district_slug: str, class_sourced_id: str, period_sourced_id: str
) -> str:
    return _uuid(f"courseGrade:{district_slug}:{class_sourced_id}:{period_sourced_id}")


def result_sourced_id(
    *, district_slug: str, lineitem_sourced_id: str, student_sourced_id: str
) -> str:
    return _uuid(f"result:{district_slug}:{lineitem_sourced_id}:{student_sourced_id}")


# --- inputs --------------------------------------------------------------------------------


#: OneRoster 1.1 ``sessionType`` of the sessions a grade belongs to.
GRADING_PERIOD_TYPE = "gradingPeriod"


@dataclass(frozen=True, slots=True)
class Period:
    """An academic session of a class, as the SIS sends it (dates inclusive, local).

    A class's sessions are its ``terms`` and their descendants (``parent`` links): a class
    may list its semester only while the grades go to the semester's ``gradingPeriod``
    children. ``term`` is the sourcedId of the class's term a descendant belongs to (blank
    or the session's own sourcedId: one of the class's terms)."""

    sourced_id: str
    title: str
    start: dt.date
    end: dt.date
    type: str = ""
    term: str = ""

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def is_class_term(self) -> bool:
        return self.term in ("", self.sourced_id)

    @property
    def is_grading_period(self) -> bool:
        return self.type == GRADING_PERIOD_TYPE


@dataclass(frozen=True, slots=True)
class Options:
    """The district's passback options (tenants.models.District), as plain values."""

    district_slug: str
    timezone: ZoneInfo
    all_graded: bool = False
    title_limit: int = 50
    truncate_titles: bool = False
    send_missing: bool = True
    only_posted: bool = True

    @classmethod
    def for_district(cls, district: Any) -> Options:
        return cls(
            district_slug=district.slug,
            timezone=ZoneInfo(district.timezone),
            all_graded=district.passback_all_graded,
            title_limit=district.lineitem_title_limit,
            truncate_titles=district.title_overflow == "truncate",
            send_missing=district.send_missing_as_not_submitted,
            only_posted=district.only_posted_grades,
        )

    def local_date(self, when: dt.datetime) -> dt.date:
        return when.astimezone(self.timezone).date()


@dataclass(frozen=True, slots=True)
class Problem:
    """A reason an assignment (``class_sourced_id`` blank: all its classes) is not sent."""

    kind: ProblemKind
    message: str
    class_sourced_id: str = ""


@dataclass(frozen=True, slots=True)
class Push:
    """One object to PUT: its sourcedId, the body (without envelope) and its change hash."""

    sourced_id: str
    payload: dict[str, Any]
    hash: str


class CategoryIndex:
    """Picks the SIS category for an assignment group.

    Order: the district's override for the group name, then the SIS category whose title
    equals the group name ignoring case, then the SIS default (a placeholder or
    "Uncategorized" category if the SIS lists one), else none: IC 1.1 then files the
    lineItem under its own placeholder.
    """

    def __init__(
        self, *, categories: Iterable[tuple[str, str]], overrides: Mapping[str, str]
    ) -> None:
        self._by_title: dict[str, str] = {}
        listed = sorted(categories)
        for sourced_id, title in listed:
            self._by_title.setdefault(_fold(title), sourced_id)
        ids = {sourced_id for sourced_id, _ in listed}
        self.default: str | None = (
            PLACEHOLDER_CATEGORY_ID if PLACEHOLDER_CATEGORY_ID in ids else None
        )
        if self.default is None:
            self.default = next(
                (sid for sid, title in listed if _fold(title) in DEFAULT_CATEGORY_TITLES), None
            )
        self._overrides = {_fold(name): sid for name, sid in overrides.items()}

    def resolve(self, group_name: str | None) -> str | None:
        key = _fold(group_name or "")
        if key in self._overrides:
            return self._overrides[key]
        return self._by_title.get(key, self.default)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


# --- assignments → lineItems ---------------------------------------------------------------


def assignment_wanted(assignment: CanvasAssignment, *, options: Options) -> bool:
    """Published, and flagged for SIS sync or (by district option) graded with points.

    A flagged assignment without points is wanted too, so ``assignment_problems`` can tell
    the teacher why nothing arrives."""
    if not assignment.published or assignment.workflow_state == "deleted":
        return False
    if assignment.post_to_sis:
        return True
    return options.all_graded and assignment.graded and bool(assignment.points_possible)


def assignment_due_dates(assignment: CanvasAssignment) -> set[dt.datetime | None]:
    """Every due date that applies to some student: the base date (unless only override
    students see the assignment) and each override's."""
    dates: set[dt.datetime | None] = {o.due_at for o in assignment.overrides}
    if not assignment.only_visible_to_overrides or not assignment.overrides:
        dates.add(assignment.due_at)
    return dates


def assignment_problems(assignment: CanvasAssignment, *, options: Options) -> list[Problem]:
    """Problems that stop every class of the assignment (checked before any class)."""
    name = assignment.name
    problems = []
    if not assignment.graded or not assignment.points_possible:
        if assignment.post_to_sis:
            problems.append(Problem(ProblemKind.NO_POINTS, MSG_NO_POINTS.format(name=name)))
        return problems
    dates = assignment_due_dates(assignment)
    if len(dates) > 1:
        shown = ", ".join(
            sorted(_show_time(d, options) if d is not None else "no due date" for d in dates)
        )
        problems.append(
            Problem(
                ProblemKind.DIFFERING_DUE_DATES,
                MSG_DIFFERING_DUE_DATES.format(name=name, dates=shown),
            )
        )
    elif dates == {None}:
        problems.append(Problem(ProblemKind.NO_DUE_DATE, MSG_NO_DUE_DATE.format(name=name)))
    title = name.strip()
    if len(title) > options.title_limit and not options.truncate_titles:
        problems.append(
            Problem(
                ProblemKind.TITLE_TOO_LONG,
                MSG_TITLE_TOO_LONG.format(name=name, length=len(title), limit=options.title_limit),
            )
        )
    return problems


def lineitem_title(name: str, *, options: Options) -> str:
    title = name.strip()
    if len(title) > options.title_limit:
        title = title[: options.title_limit].rstrip()
    return title


def period_for(periods: Iterable[Period], day: dt.date) -> Period | None:
    """The class's session containing ``day`` that a grade belongs to (DESIGN §5).

    A session of type ``gradingPeriod`` first, among the class's terms and their
    descendants (a quarter under the semester the class lists), else one of the class's
    own terms; the shortest when several do (a quarter rather than its semester or year).
    A descendant of another type counts only when no term contains the day (dates that
    disagree between a session and its parent)."""
    containing = [p for p in periods if p.contains(day)]
    graded = [p for p in containing if p.is_grading_period]
    terms = [p for p in containing if p.is_class_term]
    pool = graded or terms or containing
    if not pool:
        return None
    return min(pool, key=lambda p: (p.end - p.start, p.sourced_id))


def grading_sessions(periods: Iterable[Period]) -> tuple[Period, ...]:
    """The sessions a class's course grades go to: per term of the class, its descendants
    of type ``gradingPeriod`` when it has any (a semester's quarters), else the term."""
    periods = tuple(periods)
    out: dict[str, Period] = {}
    for term in (p for p in periods if p.is_class_term):
        below = [
            p
            for p in periods
            if p.is_grading_period and p.term == term.sourced_id and p is not term
        ]
        for period in below or [term]:
            out.setdefault(period.sourced_id, period)
    return tuple(out.values())


def lineitem_map(
    *,
    assignment: CanvasAssignment,
    class_sourced_id: str,
    periods: Iterable[Period],
    category: str | None,
    options: Options,
) -> Push | Problem:
    """The lineItem of one (assignment, class), or why it cannot be sent.

    Call only for assignments without ``assignment_problems``: the due date is single.
    ``assignDate`` is the unlock date (else the creation date) moved into
    [start of the grading period, due date], since IC rejects an assignment whose dates
    leave the grading period.
    """
    periods = tuple(periods)
    (due,) = assignment_due_dates(assignment)
    if due is None:
        raise ValueError("lineitem_map needs an assignment with one due date")
    period = period_for(periods, options.local_date(due))
    if period is None:
        shown = (
            ", ".join(f"{p.title} {p.start} to {p.end}" for p in periods if p.is_class_term)
            or "none known"
        )
        return Problem(
            ProblemKind.DUE_OUTSIDE_PERIODS,
            MSG_DUE_OUTSIDE_PERIODS.format(
                name=assignment.name,
                due=_show_time(due, options),
                class_sid=class_sourced_id,
                periods=shown,
            ),
            class_sourced_id,
        )
    period_start = dt.datetime.combine(period.start, dt.time(), tzinfo=options.timezone)
    assign = assignment.unlock_at or assignment.created_at or due
    assign = min(max(assign, period_start), due)
    payload: dict[str, Any] = {
        "status": "active",
        "title": lineitem_title(assignment.name, options=options),
        "assignDate": format_timestamp(assign),
        "dueDate": format_timestamp(due),
        "class": {"sourcedId": class_sourced_id, "type": "class"},
        "gradingPeriod": {"sourcedId": period.sourced_id, "type": "academicSession"},
        "resultValueMin": 0.0,
        "resultValueMax": float(assignment.points_possible or 0.0),
    }
    if category:
        payload["category"] = {"sourcedId": category, "type": "category"}
    sourced_id = lineitem_sourced_id(
        district_slug=options.district_slug,
        assignment_id=assignment.id,
        class_sourced_id=class_sourced_id,
    )
    return Push(sourced_id, payload, payload_hash(payload))


# --- submissions → results -----------------------------------------------------------------


def result_map(
    *,
    submission: CanvasSubmission,
    lineitem_sourced_id: str,
    student_sourced_id: str,
    due_at: dt.datetime,
    points_possible: float,
    options: Options,
) -> Push | SkipReason:
    """The result of one submission, or why nothing is sent for it.

    Excused → ``exempt``. OneRoster 1.1 requires a numeric score on every result, so an
    exempt one carries the points possible: never a 0, and a SIS that ignored the exempt
    flag would not turn an excused assignment into a failing grade. A score →
    ``fully graded``, also after a resubmission that is not graded yet (the last score
    stands). Missing and unscored → ``not submitted`` with 0, unless the district skips
    those. Otherwise (not submitted, or submitted and waiting for a grade) nothing. Grades
    hidden from the student are held back unless the district sends unposted grades.
    ``scoreDate`` is the grading day (district time); a missing result is dated its due
    day, so the payload does not change from run to run.
    """
    has_score = submission.score is not None
    if submission.excused or has_score:
        if options.only_posted and not submission.posted:
            return SkipReason.HIDDEN
        graded_at = submission.graded_at or due_at
        if submission.excused:
            status, score = ScoreStatus.EXEMPT, float(points_possible)
        else:
            status, score = ScoreStatus.FULLY_GRADED, float(submission.score or 0.0)
        day = options.local_date(graded_at)
    elif submission.missing or submission.late_policy_status == "missing":
        if not options.send_missing:
            return SkipReason.MISSING_SKIPPED
        status, score, day = ScoreStatus.NOT_SUBMITTED, 0.0, options.local_date(due_at)
    else:
        return SkipReason.UNGRADED
    return result_push(
        lineitem_sourced_id=lineitem_sourced_id,
        student_sourced_id=student_sourced_id,
        status=status,
        score=score,
        day=day,
        options=options,
    )


def result_push(
    *,
    lineitem_sourced_id: str,
    student_sourced_id: str,
    status: ScoreStatus,
    score: float,
    day: dt.date,
    options: Options,
    dated_by_run: bool = False,
) -> Push:
    """A result body. ``dated_by_run``: the score date is the day of the run (course
    grades), so it does not count as a change."""
    payload: dict[str, Any] = {
        "status": "active",
        "lineItem": {"sourcedId": lineitem_sourced_id, "type": "lineItem"},
        "student": {"sourcedId": student_sourced_id, "type": "user"},
        "scoreStatus": str(status),
        "score": round(score, 4),
        "scoreDate": day.isoformat(),
    }
    sourced_id = result_sourced_id(
        district_slug=options.district_slug,
        lineitem_sourced_id=lineitem_sourced_id,
        student_sourced_id=student_sourced_id,
    )
    volatile = VOLATILE_KEYS | {"scoreDate"} if dated_by_run else VOLATILE_KEYS
    return Push(sourced_id, payload, payload_hash(payload, volatile=volatile))


# --- course grades -------------------------------------------------------------------------


def course_grade_lineitem_map(
    *, class_sourced_id: str, period: Period, category: str | None, options: Options
) -> Push:
    """Our own course-grade lineItem of one class and grading period, scored 0 to 100."""
    start = dt.datetime.combine(period.start, dt.time(), tzinfo=options.timezone)
    end = dt.datetime.combine(period.end, dt.time(23, 59), tzinfo=options.timezone)
    payload: dict[str, Any] = {
        "status": "active",
        "title": COURSE_GRADE_TITLE.format(period=period.title)[: options.title_limit],
        "assignDate": format_timestamp(start),
        "dueDate": format_timestamp(end),
        "class": {"sourcedId": class_sourced_id, "type": "class"},
        "gradingPeriod": {"sourcedId": period.sourced_id, "type": "academicSession"},
        "resultValueMin": 0.0,
        "resultValueMax": 100.0,
    }
    if category:
        payload["category"] = {"sourcedId": category, "type": "category"}
    sourced_id = course_grade_lineitem_sourced_id(
        district_slug=options.district_slug,
        class_sourced_id=class_sourced_id,
        period_sourced_id=period.sourced_id,
    )
    return Push(sourced_id, payload, payload_hash(payload))


def course_score(enrollment: Mapping[str, Any], *, only_posted: bool) -> float | None:
    """A student's current score (percent) from a Canvas enrollment: the final-grade
    override when a teacher set one, else the current score (counting hidden grades too
    when the district sends unposted grades)."""
    grades = enrollment.get("grades") or {}
    for value in (
        grades.get("override_score"),
        enrollment.get("override_score"),
        None if only_posted else grades.get("unposted_current_score"),
        grades.get("current_score"),
    ):
        if value is not None and value != "" and not isinstance(value, bool):
            try:
                score = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(score):  # never a NaN or an infinity to the SIS
                return score
    return None


def scale_percent(percent: float, *, low: float, high: float) -> float:
    """A percent on a lineItem's [min, max] scale (a grading task may not be out of 100)."""
    if high <= low:
        return percent
    return low + (high - low) * percent / 100.0


def task_matches(title: str, task_title: str) -> bool:
    return _fold(task_title) in _fold(title)


# --- hashing -------------------------------------------------------------------------------


def payload_hash(payload: Mapping[str, Any], *, volatile: frozenset[str] = VOLATILE_KEYS) -> str:
    """SHA-256 (hex, 32 chars) of the payload without its volatile keys, keys sorted."""
    stable = {k: v for k, v in payload.items() if k not in volatile}
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _show_time(when: dt.datetime, options: Options) -> str:
    return when.astimezone(options.timezone).strftime("%Y-%m-%d %H:%M")
