"""``courses.csv`` (``CourseImporter``): courses, their state events and SIS stickiness."""

from __future__ import annotations

from sandbox.canvas.records import Course
from sandbox.canvas.sis.context import ImportContext, parse_sis_date, picker, status_is
from sandbox.canvas.sis.upload import CsvSource


def apply(ctx: ImportContext, source: CsvSource) -> int:
    state = ctx.state
    options = ctx.options
    pick = picker(
        source.header,
        (
            "course_id",
            "short_name",
            "long_name",
            "account_id",
            "term_id",
            "status",
            "start_date",
            "end_date",
            "integration_id",
            "course_format",
            "grade_passback_setting",
        ),
    )
    done = 0
    for lineno, raw in ctx.locked_rows(source):
        values = pick(raw)
        (course_id, short, long, account_id, term_id, status, start, end) = values[:8]
        integration_id, course_format, passback = values[8:]
        if not any(values) and not any(v.strip() for v in raw):
            continue
        # "<delete>" clears a date; an empty one keeps what the course has.
        dates: dict[str, str | None] = {}
        try:
            for column, value in (("start_at", start), ("end_at", end)):
                if value == "<delete>":
                    dates[column] = None
                elif value:
                    dates[column] = parse_sis_date(value)
        except ValueError:
            ctx.warn(source.name, f"Bad date format for course {course_id}", lineno, raw)
            dates = {}
        problem = None
        if not course_id:
            problem = "No course_id given for a course"
        elif not short:
            problem = f"No short_name given for course {course_id}"
        elif not long:
            problem = f"No long_name given for course {course_id}"
        elif not status_is(status, "active", "deleted", "completed", "unpublished", "published"):
            problem = f'Improper status "{status or ""}" for course {course_id}'
        elif course_format and not status_is(
            course_format, "online", "on_campus", "blended", "not_set"
        ):
            problem = f'Invalid course_format "{course_format}" for course {course_id}'
        elif passback and passback.lower() not in ("nightly_sync", "disabled", "not_set"):
            problem = f'Invalid grade_passback_setting "{passback}" for course {course_id}'
        if problem:
            ctx.warn(source.name, problem, lineno, raw)
            continue
        assert status is not None
        assert course_id is not None
        lowered = status.lower()
        if lowered.startswith("deleted") and options.skip_deletes:
            continue
        account = state.accounts_by_sis.get(account_id) if account_id else None
        if account_id and account is None:
            ctx.warn(
                source.name,
                f'Account not found "{account_id}" for course {course_id}',
                lineno,
                raw,
            )
            continue
        term = state.terms_by_sis.get(term_id) if term_id else None
        if term is not None and term.workflow_state != "active":
            term = None
        course = state.courses_by_sis.get(course_id)
        created = course is None
        if course is None:
            course = state.add_course(
                course_id,
                short or "",
                long or "",
                (account or state.root).id,
                (term or state.default_term).id,
            )
            course.workflow_state = "created"
        stuck = course.stuck if not options.override_sis_stickiness else None
        if term is not None and not (stuck and "term" in stuck):
            course.term_id = term.id
        if (
            account is not None
            and account.workflow_state == "active"
            and not (stuck and "account" in stuck)
        ):
            course.account_id = account.id
        owner = state.accounts.get(course.account_id)
        if owner is not None and owner.workflow_state == "deleted":
            ctx.warn(
                source.name,
                f"Cannot restore course {course_id} because the associated account "
                f"{owner.sis_id} is deleted",
                lineno,
                raw,
            )
            continue
        if integration_id:
            course.integration_id = integration_id
        if not (stuck and "workflow_state" in stuck):
            _course_state(ctx, course, lowered, created)
        if not (stuck and "course_code" in stuck) or not course.course_code:
            course.course_code = short or course.course_code
        if not (stuck and "name" in stuck) or not course.name:
            course.name = long or course.name
        if dates and not (stuck and "dates" in stuck):
            if "start_at" in dates:
                course.start_at = dates["start_at"]
            if "end_at" in dates:
                course.end_at = dates["end_at"]
            course.restrict_dates = bool(course.start_at or course.end_at)
        _course_stickiness(ctx, course)
        course.sis_import_id = ctx.import_id
        if created:
            ctx.stat("Course", "created")
        done += 1
    return done


def _course_state(ctx: ImportContext, course: Course, status: str, created: bool) -> None:
    active_state = "available" if status.startswith("published") else "claimed"
    before = course.workflow_state
    if status.startswith(("active", "unpublished", "published")):
        if before == "completed":
            course.workflow_state = "available"
        elif before == "deleted":
            course.workflow_state = active_state
            ctx.stat("Course", "restored")
        elif before in ("created", "claimed"):
            course.workflow_state = active_state
    elif status.startswith("deleted"):
        if before != "deleted" and not created:
            ctx.stat("Course", "deleted")
        course.workflow_state = "deleted"
    elif status.startswith("completed"):
        if before != "completed":
            ctx.stat("Course", "concluded")
        course.workflow_state = "completed"


def _course_stickiness(ctx: ImportContext, course: Course) -> None:
    options = ctx.options
    if not options.override_sis_stickiness:
        return
    if options.clear_sis_stickiness:
        course.stuck = None
    elif options.add_sis_stickiness:
        course.stuck = {"name", "course_code", "account", "term", "workflow_state", "dates"}
