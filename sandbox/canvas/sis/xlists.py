"""``xlists.csv`` (``XlistImporter``): cross-listing a section into another course and back."""

from __future__ import annotations

from sandbox.canvas.sis.context import ImportContext, picker, status_is
from sandbox.canvas.sis.sections import move_section
from sandbox.canvas.sis.upload import CsvSource


def apply(ctx: ImportContext, source: CsvSource) -> int:
    state = ctx.state
    pick = picker(source.header, ("xlist_course_id", "section_id", "status"))
    done = 0
    for lineno, raw in ctx.locked_rows(source):
        xlist_course_id, section_id, status = pick(raw)
        if not any((xlist_course_id, section_id, status)):
            continue
        state_name = status_is(status, "active", "deleted")
        problem = None
        if not xlist_course_id:
            problem = "No xlist_course_id given for a cross-listing"
        elif not section_id:
            problem = "No section_id given for a cross-listing"
        elif state_name is None:
            problem = f'Improper status "{status or ""}" for a cross-listing'
        if problem:
            ctx.warn(source.name, problem, lineno, raw)
            continue
        assert section_id is not None
        assert xlist_course_id is not None
        section = state.sections_by_sis.get(section_id)
        if section is None:
            ctx.warn(
                source.name,
                f"A cross-listing referenced a non-existent section {section_id}",
                lineno,
                raw,
            )
            continue
        if state_name == "active":
            target = state.courses_by_sis.get(xlist_course_id)
            if target is None:
                origin = state.courses[section.nonxlist_course_id or section.course_id]
                target = state.add_course(
                    xlist_course_id,
                    origin.course_code,
                    origin.name,
                    origin.account_id,
                    origin.term_id,
                )
            if section.course_id != target.id:
                home = section.nonxlist_course_id or section.course_id
                move_section(ctx, section, target)
                section.nonxlist_course_id = home if home != target.id else None
        elif section.nonxlist_course_id is not None:
            home_course = state.courses[section.nonxlist_course_id]
            move_section(ctx, section, home_course)
            section.nonxlist_course_id = None
        done += 1
    return done
