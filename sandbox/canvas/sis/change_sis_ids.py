"""``change_sis_id.csv`` (``ChangeSisIdImporter``): new SIS or integration ids for
existing objects."""

from __future__ import annotations

from sandbox.canvas.sis.context import ImportContext, picker
from sandbox.canvas.sis.upload import MSG_NOT_SIMULATED, CsvSource


def apply(ctx: ImportContext, source: CsvSource) -> int:
    state = ctx.state
    pick = picker(
        source.header, ("old_id", "new_id", "old_integration_id", "new_integration_id", "type")
    )
    tables: dict[str, tuple[dict, dict | None]] = {
        "user": (state.users_by_sis, state.users_by_integration),
        "course": (state.courses_by_sis, None),
        "section": (state.sections_by_sis, None),
        "term": (state.terms_by_sis, None),
        "account": (state.accounts_by_sis, None),
    }
    done = 0
    for lineno, raw in ctx.locked_rows(source):
        old_id, new_id, old_int, new_int, kind = pick(raw)
        if not any((old_id, new_id, old_int, new_int, kind)):
            continue
        problem = None
        if not kind:
            problem = "No type given for change_sis_id"
        elif not (old_id or old_int):
            problem = "No old_id or old_integration_id given for change_sis_id"
        elif not (new_id or new_int):
            problem = "No new_id or new_integration_id given for change_sis_id"
        kind = (kind or "").strip().lower()
        if problem is None and kind not in tables:
            problem = f"Invalid type '{kind}' for change_sis_id"
            if kind in ("group", "group_category"):
                problem = MSG_NOT_SIMULATED.format(kind=kind, rows=1)
        if problem:
            ctx.warn(source.name, problem, lineno, raw)
            continue
        by_sis, by_integration = tables[kind]
        column = "sis_user_id" if kind == "user" else "sis_source_id"
        if new_id and new_id in by_sis:
            ctx.warn(
                source.name,
                f"A new_id, '{new_id}', referenced an existing {kind} and the {kind} with "
                f"{column} '{old_id or ''}' was not updated",
                lineno,
                raw,
            )
            continue
        item = by_sis.get(old_id) if old_id else None
        if old_id and old_int:
            other = by_integration.get(old_int) if by_integration is not None else None
            if other is not item:
                ctx.warn(
                    source.name,
                    f"An old_id, '{old_id}', referenced a different {kind} than the "
                    f"old_integration_id, '{old_int}'",
                    lineno,
                    raw,
                )
                continue
        elif old_int and not old_id:
            item = by_integration.get(old_int) if by_integration is not None else None
            if item is None:
                ctx.warn(
                    source.name,
                    f"An old_integration_id, '{old_int}', referenced a non-existent {kind} "
                    "and was not changed.",
                    lineno,
                    raw,
                )
                continue
        if item is None:
            ctx.warn(
                source.name,
                f"An old_id, '{old_id}', referenced a non-existent {kind} and was not changed.",
                lineno,
                raw,
            )
            continue
        if new_id:
            del by_sis[item.sis_id]
            item.sis_id = new_id
            by_sis[new_id] = item
        if new_int:
            if by_integration is not None and item.integration_id:
                by_integration.pop(item.integration_id, None)
            item.integration_id = None if new_int == "<delete>" else new_int
            if by_integration is not None and item.integration_id:
                by_integration[item.integration_id] = item
        done += 1
    return done
