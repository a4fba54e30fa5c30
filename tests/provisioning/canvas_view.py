"""Read what the simulated Canvas holds, by SIS id."""

from __future__ import annotations

from sandbox.canvas.records import ENROLLMENT_STATES, ROLE_BY_TYPE


def enrollment_state(sandbox, *, section: str, user: str, role: str) -> str | None:
    canvas = sandbox.canvas
    with canvas.lock:
        found = canvas.sections_by_sis.get(section)
        person = canvas.users_by_sis.get(user)
        if found is None or person is None:
            return None
        code = found.enrollments.get(ROLE_BY_TYPE.index(role), {}).get(person.id)
        return None if code is None else ENROLLMENT_STATES[code]


def course_term(sandbox, course: str) -> str | None:
    canvas = sandbox.canvas
    with canvas.lock:
        found = canvas.courses_by_sis.get(course)
        return canvas.terms[found.term_id].sis_id if found else None


def term_state(sandbox, term: str) -> str | None:
    term_ = sandbox.canvas.terms_by_sis.get(term)
    return term_.workflow_state if term_ else None
