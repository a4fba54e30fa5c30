"""``sections.csv`` (``SectionImporter``): sections, moved between courses when their
course changes."""

from __future__ import annotations

from sandbox.canvas.records import E_DELETED, Course, Section
from sandbox.canvas.sis.context import ImportContext, parse_sis_date, picker, status_is
from sandbox.canvas.sis.upload import CsvSource


def apply(ctx: ImportContext, source: CsvSource) -> int:
    state = ctx.state
    pick = picker(
        source.header,
        (
            "section_id",
            "course_id",
            "name",
            "status",
            "start_date",
            "end_date",
            "integration_id",
        ),
    )
    done = 0
    deleted_sections: list[Section] = []
    for lineno, raw in ctx.locked_rows(source):
        section_id, course_id, name, status, start, end, integration_id = pick(raw)
        if not any((section_id, course_id, name, status, start, end, integration_id)):
            continue
        try:
            start_at = parse_sis_date(start) if start else None
            end_at = parse_sis_date(end) if end else None
        except ValueError:
            ctx.warn(source.name, f"Bad date format for section {section_id}", lineno, raw)
            start_at = end_at = None
        state_name = status_is(status, "active", "deleted")
        problem = None
        if not section_id:
            problem = f"No section_id given for a section in course {course_id or ''}"
        elif not course_id:
            problem = f"No course_id given for a section {section_id}"
        elif not name and state_name == "active":
            problem = f"No name given for section {section_id} in course {course_id}"
        elif state_name is None:
            problem = (
                f'Improper status "{status or ""}" for section {section_id} in course {course_id}'
            )
        if problem:
            ctx.warn(source.name, problem, lineno, raw)
            continue
        assert section_id is not None
        assert course_id is not None
        if state_name == "deleted" and ctx.options.skip_deletes:
            continue
        course = state.courses_by_sis.get(course_id)
        if course is None:
            ctx.warn(
                source.name,
                f"Section {section_id} references course {course_id} which doesn't exist",
                lineno,
                raw,
            )
            continue
        section = state.sections_by_sis.get(section_id)
        if section is None:
            if not name:
                ctx.warn(
                    source.name,
                    f"No name given for section {section_id} in course {course_id}",
                    lineno,
                    raw,
                )
                continue
            section = state.add_section(section_id, course, name)
            ctx.stat("CourseSection", "created")
        elif name:
            section.name = name
        home = section.nonxlist_course_id or section.course_id
        if home != course.id:
            move_section(ctx, section, course)
            section.nonxlist_course_id = None
        if integration_id:
            section.integration_id = integration_id
        if state_name == "deleted" and section.workflow_state != "deleted":
            deleted_sections.append(section)
            ctx.stat("CourseSection", "deleted")
        section.workflow_state = state_name
        section.start_at, section.end_at = start_at, end_at
        section.sis_import_id = ctx.import_id
        done += 1
    with state.lock:
        for section in deleted_sections:
            for members in section.enrollments.values():
                for key in members:
                    members[key] = E_DELETED
    return done


def move_section(ctx: ImportContext, section: Section, course: Course) -> None:
    old = ctx.state.courses.get(section.course_id)
    if old is not None and section.id in old.section_ids:
        old.section_ids.remove(section.id)
    section.course_id = course.id
    course.section_ids.append(section.id)
