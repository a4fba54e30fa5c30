"""``enrollments.csv`` (``EnrollmentImporter``): enrollments by course and/or section,
role and status."""

from __future__ import annotations

from typing import Any

from sandbox.canvas.records import (
    DESIGNER,
    E_ACTIVE,
    E_COMPLETED,
    E_DELETED,
    E_INACTIVE,
    OBSERVER,
    STUDENT,
    TA,
    TEACHER,
    Course,
    Section,
)
from sandbox.canvas.sis.context import ImportContext, parse_sis_date, picker, status_is
from sandbox.canvas.sis.upload import CsvSource
from sandbox.canvas.store import CanvasData

#: The enrollment statuses as written by well-behaved feeds, looked up before the
#: general prefix match (this runs for every enrollment row).
_ENROLLMENT_STATUS = {
    name: name for name in ("active", "deleted", "completed", "inactive", "deleted_last_completed")
}


def apply(ctx: ImportContext, source: CsvSource) -> int:
    state = ctx.state
    skip_deletes = ctx.options.skip_deletes
    users_by_sis = state.users_by_sis
    users_by_integration = state.users_by_integration
    warn = ctx.warn
    name = source.name
    pick = picker(
        source.header,
        (
            "course_id",
            "section_id",
            "user_id",
            "user_integration_id",
            "role",
            "role_id",
            "status",
            "associated_user_id",
            "start_date",
            "end_date",
            "root_account",
        ),
    )
    created = deleted = 0
    done = 0
    # Feeds list enrollments section by section: resolve a place once per run of rows.
    last_course_id: str | None = ""
    last_section_id: str | None = ""
    course: Course | None = None
    section: Section | None = None
    problem: str | None = None
    role_types = _ROLE_TYPES
    for lineno, raw in ctx.locked_rows(source):
        (
            course_id,
            section_id,
            user_id,
            user_int,
            role,
            _role_id,
            status,
            associated,
            start,
            end,
            root_account,
        ) = pick(raw)
        if not (course_id or section_id or user_id) and not any(v.strip() for v in raw):
            continue
        if start or end:
            try:
                if start:
                    parse_sis_date(start)
                if end:
                    parse_sis_date(end)
            except ValueError:
                where = f"course {course_id}" if course_id else f"section {section_id}"
                warn(name, f"Bad date format for user {user_id or ''} in {where}", lineno, raw)
        if not course_id and not section_id:
            warn(name, "No course_id or section_id given for an enrollment", lineno, raw)
            continue
        if not user_id and not user_int:
            warn(name, "No user_id given for an enrollment", lineno, raw)
            continue
        status_name = _ENROLLMENT_STATUS.get(status or "") or status_is(
            status, "active", "deleted_last_completed", "deleted", "completed", "inactive"
        )
        if status_name is None:
            warn(name, f'Improper status "{status or ""}" for an enrollment', lineno, raw)
            continue
        if skip_deletes and status_name.startswith("deleted"):
            continue
        if root_account:
            # Canvas only resolves trusted root accounts; the sandbox trusts none.
            continue
        user = users_by_integration.get(user_int) if user_int else users_by_sis.get(user_id)
        if user is None:
            warn(
                name,
                f"User not found for enrollment (User ID: {user_id or ''}, "
                f"Course ID: {course_id or ''}, Section ID: {section_id or ''})",
                lineno,
                raw,
            )
            continue
        if course_id != last_course_id or section_id != last_section_id:
            last_course_id, last_section_id = course_id, section_id
            course, section, problem = _enrollment_place(ctx, course_id, section_id)
        if problem is not None:
            warn(name, _place_message(problem, course_id, section_id, user_id), lineno, raw)
            continue
        assert course is not None
        assert section is not None
        type_code = role_types.get(role or "")
        if type_code is None:
            type_code = _enrollment_type(role)
        if type_code is None:
            warn(name, f'Improper role "{role or ""}" for an enrollment', lineno, raw)
            continue
        key: Any = user.id
        if type_code == OBSERVER and associated:
            observed = users_by_sis.get(associated)
            if observed is None:
                warn(
                    name,
                    f"An enrollment referenced a non-existent associated user {associated}",
                    lineno,
                    raw,
                )
                continue
            key = (user.id, observed.id)
        members = section.enrollments.get(type_code)
        if members is None:
            members = section.enrollments[type_code] = {}
        before = members.get(key)
        if status_name == "active":
            if user.login_state != "deleted" and user.workflow_state != "deleted":
                after = E_ACTIVE
            else:
                after = E_DELETED
                warn(
                    name,
                    f"Attempted enrolling of deleted user {user_id or ''} in course "
                    f"{course_id or ''}",
                    lineno,
                    raw,
                )
        elif status_name == "completed":
            after = E_COMPLETED
        elif status_name == "inactive":
            after = E_INACTIVE
        elif status_name == "deleted_last_completed":
            after = (
                E_DELETED if _other_active(state, course, section, type_code, key) else E_COMPLETED
            )
        else:
            after = E_DELETED
        if before is None:
            created += 1
        elif after == E_DELETED and before != E_DELETED:
            deleted += 1
        members[key] = after
        done += 1
    if created:
        ctx.statistics.setdefault("Enrollment", {})["created"] = (
            ctx.statistics.get("Enrollment", {}).get("created", 0) + created
        )
    if deleted:
        ctx.statistics.setdefault("Enrollment", {})["deleted"] = (
            ctx.statistics.get("Enrollment", {}).get("deleted", 0) + deleted
        )
    return done


def _enrollment_place(
    ctx: ImportContext, course_id: str | None, section_id: str | None
) -> tuple[Course | None, Section | None, str | None]:
    """(course, section, problem) of an enrollment row, by Canvas's rules: a missing
    section means the course's default section, a section cross-listed away from the
    named course still counts as that course's."""
    state = ctx.state
    course = state.courses_by_sis.get(course_id) if course_id else None
    section = state.sections_by_sis.get(section_id) if section_id else None
    if course is None and section is None:
        return None, None, "neither"
    if section_id and section is None:
        return None, None, "no_section"
    if course_id and course is None:
        return None, None, "no_course"
    if section is None:
        assert course is not None
        section = state.default_section(course)
    if course is None or (
        course.id != section.course_id and section.nonxlist_course_id == course.id
    ):
        course = state.courses[section.course_id]
    if course.id != section.course_id:
        return None, None, "unrelated"
    return course, section, None


def _place_message(
    problem: str, course_id: str | None, section_id: str | None, user_id: str | None
) -> str:
    course, section, user = course_id or "", section_id or "", user_id or ""
    if problem == "neither":
        return (
            "Neither course nor section existed for user enrollment "
            f"(Course ID: {course}, Section ID: {section}, User ID: {user})"
        )
    if problem == "no_section":
        return f"An enrollment referenced a non-existent section {section}"
    if problem == "no_course":
        return f"An enrollment referenced a non-existent course {course}"
    return (
        f"An enrollment listed a section ({section}) and a course ({course}) "
        f"that are unrelated for user ({user})"
    )


_ROLE_TYPES = {"student": STUDENT, "teacher": TEACHER, "ta": TA, "observer": OBSERVER}


def _enrollment_type(role: str | None) -> int | None:
    """Canvas's built-in role matching: ``teacher``/``ta``/``observer``/``designer`` exactly
    (any case), anything starting with ``student``."""
    if not role:
        return None
    known = _ROLE_TYPES.get(role)
    if known is not None:
        return known
    lowered = role.lower()
    if lowered == "teacher":
        return TEACHER
    if lowered.startswith("student"):
        return STUDENT
    if lowered == "ta":
        return TA
    if lowered == "observer":
        return OBSERVER
    if lowered == "designer":
        return DESIGNER
    return None


def _other_active(
    state: CanvasData, course: Course, section: Section, type_code: int, key: Any
) -> bool:
    for section_id in course.section_ids:
        other = state.sections[section_id]
        if other is section:
            continue
        if other.enrollments.get(type_code, {}).get(key) == E_ACTIVE:
            return True
    return False
