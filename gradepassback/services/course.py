"""One course's passback: read Canvas, map, compare with what the SIS accepted, send.

``CoursePassback.execute`` reads the course's sections, students, assignments and scores
from Canvas, maps them (``gradepassback.mapping``), sends the lineItems that changed, then
the results that changed, and returns a ``CourseOutcome`` for ``record.py`` to store. It
writes nothing to the database itself, so a course that dies half way leaves the
change-tracking state as it was and the next run sends again what is not recorded.

Incremental reads: with a cursor (the start of the course's last clean passback), scores
are read ``graded_since`` the cursor minus ``CURSOR_OVERLAP``, except for assignments
read in full because they are new or changed this run, hold hidden grades waiting to be
posted, or fell due since the cursor (Canvas marks work missing without touching
``graded_at``). A full passback, or a course without a cursor, reads every score.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gradepassback.mapping import (
    MSG_STUDENT_NOT_IN_ROSTER,
    MSG_UNKNOWN_CLASS,
    Problem,
    ProblemKind,
    Push,
    SkipReason,
    assignment_problems,
    assignment_wanted,
    lineitem_map,
    result_map,
    result_sourced_id,
)
from gradepassback.models import LineItemState, PushState, ResultState
from gradepassback.services.coursegrades import (
    MODE_OWN,
    STUDENT_STATES,
    Student,
    course_grades_collect,
)
from gradepassback.services.push import Action, Job, ObjectType, Pusher

if TYPE_CHECKING:
    from collections.abc import Callable

    from gradepassback.services.context import PassbackContext
    from integration.canvas.types import CanvasAssignment

#: Scores graded this long before the cursor are read again (clock skew, slow commits).
CURSOR_OVERLAP = dt.timedelta(minutes=10)
#: A payload the SIS refused is sent again after this long (nightly runs retry it nightly).
RETRY_REFUSED_AFTER = dt.timedelta(hours=20)

St = PushState.Status
LINE_ITEMS = "lineItems"
RESULTS = "results"
COURSE_GRADES = "courseGrades"

KEPT_REASONS = {
    "deleted": "The assignment was deleted in Canvas; its lineItem stays in the SIS.",
    "unpublished": "The assignment was unpublished in Canvas; its lineItem stays in the SIS.",
    "unflagged": "The assignment is no longer marked for SIS sync; its lineItem stays in the SIS.",
    "ungraded": "The assignment is no longer graded; its lineItem stays in the SIS.",
    "class": "The class is no longer part of this Canvas course; its lineItem stays in the SIS.",
}


@dataclass
class SeenProblem:
    """A problem found in this course, for the conflict table."""

    kind: str
    message: str
    canvas_assignment_id: int | None
    assignment_name: str
    class_sourced_id: str


@dataclass
class CourseOutcome:
    """Everything ``record.py`` stores for one course of a run."""

    canvas_course_id: int
    started_at: dt.datetime
    counts: dict[str, Counter] = field(
        default_factory=lambda: {LINE_ITEMS: Counter(), RESULTS: Counter()}
    )
    # sourcedId → fields to write, only for states that change.
    lineitem_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    result_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    # PassbackItem fields, for pushed/skipped/kept/deleted/failed items.
    items: list[dict[str, Any]] = field(default_factory=list)
    problems: list[SeenProblem] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(c["failed"] for c in self.counts.values())

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())


@dataclass(slots=True)
class _Known:
    status: str
    accepted_hash: str
    last_pushed_at: dt.datetime | None
    canvas_assignment_id: int | None
    class_sourced_id: str = ""
    lineitem_sourced_id: str = ""
    attempted_hash: str = ""
    last_attempt_at: dt.datetime | None = None


class CoursePassback:
    """The passback of one Canvas course within a run (see the module docstring)."""

    def __init__(
        self,
        *,
        ctx: PassbackContext,
        sis_course_id: str,
        canvas_course: dict[str, Any],
        graded_since: dt.datetime | None,
        now: Callable[[], dt.datetime],
        full: bool = False,
        heartbeat: Callable[[], None] = lambda: None,
    ) -> None:
        self.ctx = ctx
        self.sis_course_id = sis_course_id
        self.course_id = int(canvas_course["id"])
        self.graded_since = graded_since
        self.full = full
        self.now = now
        self.heartbeat = heartbeat
        self.out = CourseOutcome(canvas_course_id=self.course_id, started_at=now())
        self.pusher = Pusher(
            client=ctx.oneroster,
            gate=ctx.gate,
            pool=ctx.writers,
            concurrency=ctx.district.oneroster_concurrency,
            heartbeat=heartbeat,
            now=now,
        )

    # --- core API ------------------------------------------------------------------------

    def execute(self) -> CourseOutcome:
        canvas = self.ctx.canvas
        sections = {
            int(s["id"]): s.get("sis_section_id") for s in canvas.list_sections(self.course_id)
        }
        enrollments = list(
            canvas.list_enrollments_with_grades(self.course_id, states=STUDENT_STATES)
        )
        class_periods = self.ctx.class_periods({sid for sid in sections.values() if sid})
        students = self._students(enrollments, sections, class_periods)
        assignments = list(canvas.list_assignments(self.course_id))
        groups = {
            int(g["id"]): str(g.get("name") or "")
            for g in canvas.list_assignment_groups(self.course_id)
        }
        self.heartbeat()

        known_li = self._known_lineitems()
        planned, blocked, wanted = self._plan_lineitems(assignments, groups, class_periods)
        grades = None
        if self.ctx.district.course_grade_mode != "off":
            grades = course_grades_collect(
                ctx=self.ctx,
                canvas_course_id=self.course_id,
                class_periods=class_periods,
                students=students,
                today=self.ctx.options.local_date(self.out.started_at),
            )
            self.out.counts[COURSE_GRADES] = Counter()
            self.out.counts[COURSE_GRADES]["no_score"] += grades.no_score
            for key in ("no_grading_period", "session_ended"):
                if getattr(grades, key):
                    self.out.counts[COURSE_GRADES][key] += getattr(grades, key)
            for problem in grades.problems:
                self._problem(problem, None, "")
        jobs = self._lineitem_jobs(planned, grades, known_li)
        jobs += self._orphan_jobs(known_li, planned, blocked, wanted, assignments, class_periods)
        self.pusher.run(jobs)
        changed = self._record_lineitem_jobs(jobs, known_li)
        self.heartbeat()

        lineitem_sids = {push.sourced_id for push, _ in planned.values()}
        if grades is not None:
            lineitem_sids |= {push.sourced_id for push, _ in grades.lineitems}
        live = {sid for sid in lineitem_sids if self._lineitem_status(sid, known_li) == St.PUSHED}
        known_res = self._known_results()
        result_jobs = self._result_jobs(planned, live, changed, students, known_res, assignments)
        if grades is not None:
            result_jobs += self._course_grade_jobs(grades, live, known_res)
        self.pusher.run(result_jobs)
        self._record_result_jobs(result_jobs, known_res)
        return self.out

    # --- reading -------------------------------------------------------------------------

    def _students(
        self,
        enrollments: list[dict[str, Any]],
        sections: dict[int, str | None],
        class_periods: dict[str, Any],
    ) -> dict[int, Student]:
        """Canvas user id → (student sourcedId, class sourcedId); unknown sections, and
        students whose SIS user id the roster does not know, are recorded as problems."""
        students: dict[int, Student] = {}
        unknown: set[str] = set()
        # class sourcedId → SIS user ids that match no roster user.
        strangers: dict[str, set[str]] = {}
        for enrollment in enrollments:
            section_sid = enrollment.get("sis_section_id") or sections.get(
                int(enrollment.get("course_section_id") or 0)
            )
            if not section_sid or section_sid not in class_periods:
                unknown.add(str(section_sid or enrollment.get("course_section_id") or "?"))
                continue
            sis_user_id = enrollment.get("sis_user_id")
            sourced_id = self.ctx.student_sourced_id(sis_user_id)
            if sourced_id is None:
                # Without a SIS user id it is no SIS student (e.g. Canvas's test student):
                # never sent. With one the roster does not know, it is a problem to fix.
                if sis_user_id:
                    strangers.setdefault(section_sid, set()).add(str(sis_user_id))
                continue
            students.setdefault(int(enrollment["user_id"]), Student(sourced_id, section_sid))
        for section in sorted(unknown):
            self._problem(
                Problem(
                    ProblemKind.UNKNOWN_CLASS, MSG_UNKNOWN_CLASS.format(section=section), section
                ),
                None,
                "",
            )
        for section, ids in sorted(strangers.items()):
            listed = ", ".join(sorted(ids)[:10]) + (", …" if len(ids) > 10 else "")
            message = MSG_STUDENT_NOT_IN_ROSTER.format(count=len(ids), section=section, ids=listed)
            self._problem(Problem(ProblemKind.STUDENT_NOT_IN_ROSTER, message, section), None, "")
        return students

    def _known_lineitems(self) -> dict[str, _Known]:
        rows = LineItemState.objects.filter(
            district=self.ctx.district, canvas_course_id=self.course_id
        ).values_list(
            "sourced_id",
            "status",
            "accepted_hash",
            "last_pushed_at",
            "canvas_assignment_id",
            "class_sourced_id",
            "attempted_hash",
            "last_attempt_at",
        )
        return {
            sid: _Known(status, accepted, pushed_at, assignment_id, class_sid, "", tried, tried_at)
            for sid, status, accepted, pushed_at, assignment_id, class_sid, tried, tried_at in rows
        }

    def _known_results(self) -> dict[str, _Known]:
        rows = ResultState.objects.filter(
            district=self.ctx.district, canvas_course_id=self.course_id
        ).values_list(
            "sourced_id",
            "status",
            "accepted_hash",
            "last_pushed_at",
            "canvas_assignment_id",
            "lineitem_sourced_id",
            "attempted_hash",
            "last_attempt_at",
        )
        return {
            sid: _Known(status, accepted, pushed_at, assignment_id, "", lineitem, tried, tried_at)
            for sid, status, accepted, pushed_at, assignment_id, lineitem, tried, tried_at in rows
        }

    # --- lineItems -----------------------------------------------------------------------

    def _plan_lineitems(
        self,
        assignments: list[CanvasAssignment],
        groups: dict[int, str],
        class_periods: dict[str, Any],
    ) -> tuple[
        dict[tuple[int, str], tuple[Push, CanvasAssignment]], set[tuple[int, str]], set[int]
    ]:
        """(assignment, class) → lineItem; the pairs a problem blocks (class "" = all);
        the ids of the assignments the district wants sent."""
        options = self.ctx.options
        planned: dict[tuple[int, str], tuple[Push, CanvasAssignment]] = {}
        blocked: set[tuple[int, str]] = set()
        wanted: set[int] = set()
        for assignment in assignments:
            if not assignment_wanted(assignment, options=options):
                continue
            wanted.add(assignment.id)
            problems = assignment_problems(assignment, options=options)
            if problems:
                blocked.add((assignment.id, ""))
                for problem in problems:
                    self._problem(problem, assignment, "lineItem")
                continue
            category = self.ctx.categories.resolve(groups.get(assignment.assignment_group_id or 0))
            for class_sid, periods in sorted(class_periods.items()):
                mapped = lineitem_map(
                    assignment=assignment,
                    class_sourced_id=class_sid,
                    periods=periods,
                    category=category,
                    options=options,
                )
                if isinstance(mapped, Problem):
                    blocked.add((assignment.id, class_sid))
                    self._problem(mapped, assignment, "lineItem")
                else:
                    planned[(assignment.id, class_sid)] = (mapped, assignment)
        return planned, blocked, wanted

    def _lineitem_jobs(
        self,
        planned: dict[tuple[int, str], tuple[Push, CanvasAssignment]],
        grades: Any,
        known: dict[str, _Known],
    ) -> list[Job]:
        jobs = []
        wanted: list[tuple[Push, dict[str, Any]]] = [
            (
                push,
                {
                    "kind": LineItemState.Kind.ASSIGNMENT,
                    "assignment_id": assignment.id,
                    "class": class_sid,
                    "title": push.payload["title"],
                },
            )
            for (_, class_sid), (push, assignment) in planned.items()
        ]
        if grades is not None:
            wanted += [
                (push, {**meta, "kind": LineItemState.Kind.COURSE_GRADE, "assignment_id": None})
                for push, meta in grades.lineitems
            ]
        for push, meta in wanted:
            state = known.get(push.sourced_id)
            if _unchanged(state, push):
                self.out.counts[LINE_ITEMS]["unchanged"] += 1
                if state.status != St.PUSHED:
                    self._lineitem_state(push.sourced_id, meta, state, status=St.PUSHED)
                continue
            if self._held_refused(state, push):
                self.out.counts[LINE_ITEMS]["refused_earlier"] += 1
                continue
            jobs.append(Job(ObjectType.LINE_ITEM, Action.PUT, push.sourced_id, push, meta))
        return jobs

    def _orphan_jobs(
        self,
        known: dict[str, _Known],
        planned: dict[tuple[int, str], tuple[Push, CanvasAssignment]],
        blocked: set[tuple[int, str]],
        wanted: set[int],
        assignments: list[CanvasAssignment],
        class_periods: dict[str, Any],
    ) -> list[Job]:
        """lineItems we created whose assignment is no longer sent: deleted, unpublished,
        unflagged, no longer graded, or whose class left the course. Deleted from the SIS
        when the district asks for it, else kept (recorded once)."""
        by_id = {a.id: a for a in assignments}
        planned_sids = {push.sourced_id for push, _ in planned.values()}
        jobs = []
        for sid, state in sorted(known.items()):
            if state.canvas_assignment_id is None or sid in planned_sids:
                continue
            if state.status in (St.DELETED, St.KEPT) or not state.accepted_hash:
                continue
            assignment_id = state.canvas_assignment_id
            if (assignment_id, "") in blocked or (assignment_id, state.class_sourced_id) in blocked:
                continue  # a conflict explains it; the teacher is fixing it
            reason = _orphan_reason(
                by_id.get(assignment_id), wanted, state.class_sourced_id, class_periods
            )
            meta = {
                "kind": LineItemState.Kind.ASSIGNMENT,
                "assignment_id": assignment_id,
                "class": state.class_sourced_id,
                "title": by_id[assignment_id].name if assignment_id in by_id else "",
                "reason": KEPT_REASONS[reason],
            }
            if self.ctx.district.delete_unflagged_lineitems:
                jobs.append(Job(ObjectType.LINE_ITEM, Action.DELETE, sid, None, meta))
            else:
                self.out.counts[LINE_ITEMS]["kept"] += 1
                self._lineitem_state(sid, meta, state, status=St.KEPT)
                self._item(ObjectType.LINE_ITEM, sid, meta, "kept", meta["reason"])
        return jobs

    def _record_lineitem_jobs(self, jobs: list[Job], known: dict[str, _Known]) -> set[int]:
        """Outcomes of the lineItem writes; returns the assignments whose lineItem changed."""
        changed: set[int] = set()
        for job in jobs:
            state = known.get(job.sourced_id)
            if job.action is Action.DELETE:
                outcome = "deleted" if job.ok else "failed"
                self.out.counts[LINE_ITEMS][outcome] += 1
                if job.ok:
                    self._lineitem_state(job.sourced_id, job.meta, state, status=St.DELETED)
                    self._item(
                        ObjectType.LINE_ITEM,
                        job.sourced_id,
                        job.meta,
                        "deleted",
                        job.meta["reason"],
                    )
                else:
                    self._lineitem_state(job.sourced_id, job.meta, state, error=job.detail)
                    self._item(ObjectType.LINE_ITEM, job.sourced_id, job.meta, "failed", job.detail)
                continue
            assert job.push is not None
            if job.ok:
                self.out.counts[LINE_ITEMS]["pushed"] += 1
                self._lineitem_state(
                    job.sourced_id, job.meta, state, status=St.PUSHED, pushed=job.push.hash
                )
                self._item(ObjectType.LINE_ITEM, job.sourced_id, job.meta, "pushed", job.detail)
                if job.meta.get("assignment_id") is not None:
                    changed.add(job.meta["assignment_id"])
            else:
                self.out.counts[LINE_ITEMS]["failed"] += 1
                self._lineitem_state(
                    job.sourced_id,
                    job.meta,
                    state,
                    status=St.REFUSED if job.refused else St.FAILED,
                    error=job.detail,
                    attempted=job.push.hash,
                )
                self._item(ObjectType.LINE_ITEM, job.sourced_id, job.meta, "failed", job.detail)
        return changed

    # --- results -------------------------------------------------------------------------

    def _result_jobs(
        self,
        planned: dict[tuple[int, str], tuple[Push, CanvasAssignment]],
        live: set[str],
        changed: set[int],
        students: dict[int, Student],
        known: dict[str, _Known],
        assignments: list[CanvasAssignment],
    ) -> list[Job]:
        sendable = {key: value for key, value in planned.items() if value[0].sourced_id in live}
        assignment_ids = {a for a, _ in sendable}
        full_ids, since = self._read_plan(assignment_ids, changed, known, assignments)
        canvas = self.ctx.canvas
        submissions = list(canvas.list_submissions(self.course_id, assignment_ids=sorted(full_ids)))
        rest = sorted(assignment_ids - full_ids)
        if rest:
            submissions += canvas.list_submissions(
                self.course_id, assignment_ids=rest, graded_since=since
            )
        self.heartbeat()
        jobs = []
        counts = self.out.counts[RESULTS]
        for submission in submissions:
            student = students.get(submission.user_id)
            if student is None:
                counts["unknown_student"] += 1
                continue
            entry = sendable.get((submission.assignment_id, student.class_sourced_id))
            if entry is None:
                counts["lineitem_not_sent"] += 1
                continue
            lineitem, assignment = entry
            mapped = result_map(
                submission=submission,
                lineitem_sourced_id=lineitem.sourced_id,
                student_sourced_id=student.sourced_id,
                due_at=assignment.due_at or self.out.started_at,
                points_possible=assignment.points_possible or 0.0,
                options=self.ctx.options,
            )
            meta = {
                "assignment_id": assignment.id,
                "class": student.class_sourced_id,
                "student": student.sourced_id,
                "lineitem": lineitem.sourced_id,
                "title": lineitem.payload["title"],
            }
            if isinstance(mapped, Push):
                jobs += self._result_job(mapped, meta, known)
                continue
            jobs += self._result_skip(mapped, meta, known)
        return jobs

    def _read_plan(
        self,
        assignment_ids: set[int],
        changed: set[int],
        known: dict[str, _Known],
        assignments: list[CanvasAssignment],
    ) -> tuple[set[int], dt.datetime | None]:
        """Which assignments to read every score of, and ``graded_since`` for the rest."""
        if self.graded_since is None:
            return set(assignment_ids), None
        since = self.graded_since - CURSOR_OVERLAP
        # Hidden grades waiting to be posted, and scores not accepted yet.
        pending = (St.HELD, St.FAILED, St.REFUSED)
        held = {k.canvas_assignment_id for k in known.values() if k.status in pending}
        now = self.out.started_at
        fell_due = {a.id for a in assignments if a.due_at is not None and since < a.due_at <= now}
        return assignment_ids & (changed | held | fell_due), since

    def _result_job(self, push: Push, meta: dict[str, Any], known: dict[str, _Known]) -> list[Job]:
        state = known.get(push.sourced_id)
        if _unchanged(state, push):
            self.out.counts[RESULTS]["unchanged"] += 1
            if state.status != St.PUSHED:
                self._result_state(push.sourced_id, meta, state, status=St.PUSHED)
            return []
        if self._held_refused(state, push):
            self.out.counts[RESULTS]["refused_earlier"] += 1
            return []
        return [Job(ObjectType.RESULT, Action.PUT, push.sourced_id, push, meta)]

    def _result_skip(
        self, reason: SkipReason, meta: dict[str, Any], known: dict[str, _Known]
    ) -> list[Job]:
        sid = result_sourced_id(
            district_slug=self.ctx.options.district_slug,
            lineitem_sourced_id=meta["lineitem"],
            student_sourced_id=meta["student"],
        )
        state = known.get(sid)
        counts = self.out.counts[RESULTS]
        if reason is SkipReason.HIDDEN:
            counts["hidden"] += 1
            if state is None or state.status != St.HELD:
                self._result_state(sid, meta, state, status=St.HELD)
                self._item(
                    ObjectType.RESULT,
                    sid,
                    meta,
                    "skipped",
                    "The grade is hidden from the student in Canvas (not posted).",
                )
            return []
        if (
            reason is SkipReason.UNGRADED
            and state is not None
            and state.status in (St.PUSHED, St.HELD)
            and state.accepted_hash
        ):
            # The score was removed in Canvas: remove it from the SIS too.
            return [
                Job(
                    ObjectType.RESULT,
                    Action.DELETE,
                    sid,
                    None,
                    {**meta, "reason": "The grade was removed in Canvas."},
                )
            ]
        counts[str(reason)] += 1
        return []

    def _course_grade_jobs(
        self, grades: Any, live: set[str], known: dict[str, _Known]
    ) -> list[Job]:
        jobs = []
        own = self.ctx.district.course_grade_mode == MODE_OWN
        for lineitem_sid, push, meta in grades.results:
            if own and lineitem_sid not in live:
                self.out.counts[COURSE_GRADES]["lineitem_not_sent"] += 1
                continue
            meta = {**meta, "assignment_id": None, "course_grade": True}
            state = known.get(push.sourced_id)
            if _unchanged(state, push):
                self.out.counts[COURSE_GRADES]["unchanged"] += 1
                if state.status != St.PUSHED:
                    self._result_state(push.sourced_id, meta, state, status=St.PUSHED)
                continue
            if self._held_refused(state, push):
                self.out.counts[COURSE_GRADES]["refused_earlier"] += 1
                continue
            jobs.append(Job(ObjectType.RESULT, Action.PUT, push.sourced_id, push, meta))
        return jobs

    def _record_result_jobs(self, jobs: list[Job], known: dict[str, _Known]) -> None:
        for job in jobs:
            state = known.get(job.sourced_id)
            bucket = self.out.counts[COURSE_GRADES if job.meta.get("course_grade") else RESULTS]
            if job.action is Action.DELETE:
                if job.ok:
                    bucket["deleted"] += 1
                    self._result_state(job.sourced_id, job.meta, state, status=St.DELETED)
                    self._item(
                        ObjectType.RESULT, job.sourced_id, job.meta, "deleted", job.meta["reason"]
                    )
                else:
                    bucket["failed"] += 1
                    self._result_state(job.sourced_id, job.meta, state, error=job.detail)
                    self._item(ObjectType.RESULT, job.sourced_id, job.meta, "failed", job.detail)
                continue
            assert job.push is not None
            if job.ok:
                bucket["pushed"] += 1
                self._result_state(
                    job.sourced_id, job.meta, state, status=St.PUSHED, pushed=job.push.hash
                )
                self._item(ObjectType.RESULT, job.sourced_id, job.meta, "pushed", job.detail)
            else:
                bucket["failed"] += 1
                self._result_state(
                    job.sourced_id,
                    job.meta,
                    state,
                    status=St.REFUSED if job.refused else St.FAILED,
                    error=job.detail,
                    attempted=job.push.hash,
                )
                self._item(ObjectType.RESULT, job.sourced_id, job.meta, "failed", job.detail)

    # --- bookkeeping ---------------------------------------------------------------------

    def _lineitem_status(self, sid: str, known: dict[str, _Known]) -> str:
        if sid in self.out.lineitem_states:
            return self.out.lineitem_states[sid]["status"]
        return known[sid].status if sid in known else ""

    def _problem(
        self, problem: Problem, assignment: CanvasAssignment | None, object_type: str
    ) -> None:
        self.out.problems.append(
            SeenProblem(
                kind=str(problem.kind),
                message=problem.message,
                canvas_assignment_id=assignment.id if assignment else None,
                assignment_name=assignment.name[:255] if assignment else "",
                class_sourced_id=problem.class_sourced_id,
            )
        )
        if object_type:
            self.out.counts[LINE_ITEMS]["skipped"] += 1
            meta = {
                "assignment_id": assignment.id if assignment else None,
                "class": problem.class_sourced_id,
                "title": assignment.name if assignment else "",
            }
            self._item(ObjectType.LINE_ITEM, "", meta, "skipped", problem.message)

    def _item(
        self, object_type: ObjectType, sid: str, meta: dict[str, Any], outcome: str, detail: str
    ) -> None:
        self.out.items.append(
            {
                "object_type": str(object_type),
                "sourced_id": sid,
                "canvas_assignment_id": meta.get("assignment_id"),
                "class_sourced_id": meta.get("class", ""),
                "student_sourced_id": meta.get("student", ""),
                "title": str(meta.get("title", ""))[:255],
                "outcome": outcome,
                "detail": detail,
            }
        )

    def _held_refused(self, state: _Known | None, push: Push) -> bool:
        """The SIS refused exactly this payload lately: do not send it again yet.

        A refusal (a 4xx: a closed grading window, a student IC does not roster in the
        class) usually stands until something changes on the SIS side, so the same payload
        is re-sent only after ``RETRY_REFUSED_AFTER``, on a full passback, or once it
        changes. Transport failures are not held: they are re-sent by the next run.
        """
        return (
            not self.full
            and state is not None
            and state.status == St.REFUSED
            and state.attempted_hash == push.hash
            and state.last_attempt_at is not None
            and self.out.started_at - state.last_attempt_at < RETRY_REFUSED_AFTER
        )

    def _state(
        self,
        known: _Known | None,
        *,
        status: str | None,
        pushed: str | None,
        error: str,
        attempted: str | None = None,
    ) -> dict[str, Any]:
        now = self.now()
        if known is None:
            known = _Known(St.FAILED, "", None, None)
        tried = pushed if pushed is not None else attempted
        return {
            "status": status or known.status,
            "accepted_hash": pushed if pushed is not None else known.accepted_hash,
            "attempted_hash": tried if tried is not None else known.attempted_hash,
            "last_pushed_at": now if pushed is not None else known.last_pushed_at,
            "last_attempt_at": now,
            "last_error": error,
        }

    def _lineitem_state(
        self,
        sid: str,
        meta: dict[str, Any],
        known: _Known | None,
        *,
        status: str | None = None,
        pushed: str | None = None,
        error: str = "",
        attempted: str | None = None,
    ) -> None:
        fields = self._state(known, status=status, pushed=pushed, error=error, attempted=attempted)
        fields.update(
            kind=meta["kind"],
            canvas_assignment_id=meta.get("assignment_id"),
            class_sourced_id=meta.get("class", ""),
            period_sourced_id=meta.get("period", ""),
            title=str(meta.get("title", ""))[:255],
        )
        self.out.lineitem_states[sid] = fields

    def _result_state(
        self,
        sid: str,
        meta: dict[str, Any],
        known: _Known | None,
        *,
        status: str | None = None,
        pushed: str | None = None,
        error: str = "",
        attempted: str | None = None,
    ) -> None:
        fields = self._state(known, status=status, pushed=pushed, error=error, attempted=attempted)
        fields.update(
            lineitem_sourced_id=meta["lineitem"],
            student_sourced_id=meta["student"],
            canvas_assignment_id=meta.get("assignment_id"),
        )
        self.out.result_states[sid] = fields


def _unchanged(state: _Known | None, push: Push) -> bool:
    """The SIS already holds exactly this payload."""
    return (
        state is not None
        and state.status != St.DELETED
        and bool(state.accepted_hash)
        and state.accepted_hash == push.hash
    )


def _orphan_reason(
    assignment: CanvasAssignment | None,
    wanted: set[int],
    class_sid: str,
    class_periods: dict[str, Any],
) -> str:
    if assignment is None or assignment.workflow_state == "deleted":
        return "deleted"
    if not assignment.published:
        return "unpublished"
    if assignment.id not in wanted:
        return "unflagged"
    if not assignment.graded or not assignment.points_possible:
        return "ungraded"
    return "class"
