"""``terms.csv`` (``TermImporter``): enrollment terms and their per-role date overrides."""

from __future__ import annotations

from sandbox.canvas.records import Term
from sandbox.canvas.sis.context import ImportContext, parse_sis_date, picker, status_is
from sandbox.canvas.sis.upload import CsvSource


def apply(ctx: ImportContext, source: CsvSource) -> int:
    state = ctx.state
    pick = picker(
        source.header,
        (
            "term_id",
            "name",
            "status",
            "start_date",
            "end_date",
            "integration_id",
            "date_override_enrollment_type",
        ),
    )
    done = 0
    for lineno, raw in ctx.locked_rows(source):
        term_id, name, status, start, end, integration_id, override_type = pick(raw)
        if not any((term_id, name, status, start, end, integration_id, override_type)):
            continue
        if not term_id:
            ctx.warn(source.name, "No term_id given for a term", lineno, raw)
            continue
        state_name = status_is(status, "active", "deleted")
        if state_name is None:
            ctx.warn(
                source.name, f'Improper status "{status or ""}" for term {term_id}', lineno, raw
            )
            continue
        if not name and not override_type:
            ctx.warn(source.name, f"No name given for term {term_id}", lineno, raw)
            continue
        try:
            start_at = parse_sis_date(start) if start else None
            end_at = parse_sis_date(end) if end else None
        except ValueError:
            ctx.warn(source.name, f"Bad date format for term {term_id}", lineno, raw)
            continue
        if state_name == "deleted" and ctx.options.skip_deletes:
            continue
        term = state.terms_by_sis.get(term_id)
        if override_type:
            if term is None:
                ctx.warn(
                    source.name,
                    f"Term {term_id} does not exist for a date override",
                    lineno,
                    raw,
                )
                continue
            overrides = term.overrides or {}
            if state_name == "deleted":
                overrides.pop(override_type, None)
            else:
                overrides[override_type] = (start_at, end_at)
            term.overrides = overrides or None
            done += 1
            continue
        if term is None:
            term = Term(state.new_term_id(), term_id, name or "")
            state.terms[term.id] = term
            state.terms_by_sis[term_id] = term
            ctx.stat("EnrollmentTerm", "created")
        else:
            term.name = name or term.name
        if state_name == "deleted" and term.workflow_state != "deleted":
            ctx.stat("EnrollmentTerm", "deleted")
        term.workflow_state = state_name
        term.start_at, term.end_at = start_at, end_at
        if integration_id:
            term.integration_id = integration_id
        term.sis_import_id = ctx.import_id
        done += 1
    return done
