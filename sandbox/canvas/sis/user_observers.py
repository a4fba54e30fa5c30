"""``user_observers.csv`` (``UserObserverImporter``): observers linked to students and
enrolled as observers in the students' sections."""

from __future__ import annotations

from sandbox.canvas.records import E_ACTIVE, E_DELETED, OBSERVER, STUDENT, Section
from sandbox.canvas.sis.context import ImportContext, picker
from sandbox.canvas.sis.upload import CsvSource


def apply(ctx: ImportContext, source: CsvSource) -> int:
    state = ctx.state
    pick = picker(source.header, ("observer_id", "student_id", "status"))
    done = 0
    for lineno, raw in ctx.locked_rows(source):
        observer_id, student_id, status = pick(raw)
        if not any((observer_id, student_id, status)):
            continue
        problem = None
        if not observer_id:
            problem = "No observer_id given for a user observer"
        elif not student_id:
            problem = "No user_id given for a user observer"
        elif student_id == observer_id:
            problem = f"Can't observe yourself user {student_id}"
        elif not status or status.lower() not in ("active", "deleted"):
            problem = f'Improper status "{status or ""}" for a user_observer'
        if problem:
            ctx.warn(source.name, problem, lineno, raw)
            continue
        assert observer_id is not None
        assert student_id is not None
        assert status is not None
        observer = state.users_by_sis.get(observer_id)
        if observer is None or observer.login_state != "active":
            ctx.warn(
                source.name,
                f"An observer referenced a non-existent user {observer_id}",
                lineno,
                raw,
            )
            continue
        student = state.users_by_sis.get(student_id)
        if student is None or student.login_state != "active":
            ctx.warn(
                source.name,
                f"A student referenced a non-existent user {student_id}",
                lineno,
                raw,
            )
            continue
        observed = state.observees.setdefault(observer.id, set())
        if status.lower() == "active":
            observed.add(student.id)
            for section in _sections_of_student(ctx, student.id):
                members = section.enrollments.setdefault(OBSERVER, {})
                members[(observer.id, student.id)] = E_ACTIVE
            ctx.stat("UserObserver", "created")
        else:
            if student.id not in observed:
                ctx.warn(
                    source.name,
                    f"Can't delete a non-existent observer for observer: {observer_id}, "
                    f"student: {student_id}",
                    lineno,
                    raw,
                )
                continue
            observed.discard(student.id)
            for section in _sections_of_student(ctx, student.id):
                members = section.enrollments.get(OBSERVER, {})
                if (observer.id, student.id) in members:
                    members[(observer.id, student.id)] = E_DELETED
            ctx.stat("UserObserver", "deleted")
        done += 1
    return done


def _sections_of_student(ctx: ImportContext, user_id: int) -> list[Section]:
    if ctx.student_sections is None:
        index: dict[int, list[Section]] = {}
        for section in ctx.state.sections.values():
            for student_id, state_code in section.enrollments.get(STUDENT, {}).items():
                if state_code == E_ACTIVE:
                    index.setdefault(student_id, []).append(section)
        ctx.student_sections = index
    return ctx.student_sections.get(user_id, [])
