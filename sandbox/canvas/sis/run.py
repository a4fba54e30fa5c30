"""Applying a read (and perhaps diffed) upload: each CSV type by its own importer module, in
Canvas's processing order, whatever the order of the files in the zip."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sandbox.canvas.sis import (
    accounts,
    change_sis_ids,
    courses,
    enrollments,
    sections,
    terms,
    user_observers,
    users,
    xlists,
)
from sandbox.canvas.sis.context import ApplyResult, ImportContext, ImportOptions, Stopped
from sandbox.canvas.sis.upload import (
    COUNT_KEYS,
    IMPORTERS,
    MSG_NOT_SIMULATED,
    CsvSource,
    ImportMessage,
    read_sis_upload,
)
from sandbox.canvas.store import CanvasData

#: The importer of each CSV type the sandbox simulates; other types are reported and skipped.
APPLIERS: dict[str, Callable[[ImportContext, CsvSource], int]] = {
    "change_sis_id": change_sis_ids.apply,
    "account": accounts.apply,
    "term": terms.apply,
    "course": courses.apply,
    "section": sections.apply,
    "xlist": xlists.apply,
    "user": users.apply,
    "enrollment": enrollments.apply,
    "user_observer": user_observers.apply,
}


def apply_sources(
    state: CanvasData,
    sources: list[CsvSource],
    *,
    options: ImportOptions | None = None,
    import_id: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ApplyResult:
    """Apply the sources to the data type by type, in Canvas's processing order."""
    ctx = ImportContext(
        state,
        options or ImportOptions(),
        import_id=import_id,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    supplied: list[str] = []
    ctx.total_rows = max(1, sum(source.row_count for source in sources))
    stopped = False
    try:
        for kind in IMPORTERS:
            of_kind = [source for source in sources if source.kind == kind]
            if not of_kind:
                continue
            supplied.append(kind)
            applier = APPLIERS.get(kind)
            for source in of_kind:
                if applier is None:
                    ctx.warn(
                        source.name, MSG_NOT_SIMULATED.format(kind=kind, rows=source.row_count)
                    )
                    ctx.tick(source.row_count)
                    continue
                ctx.counts[COUNT_KEYS[kind]] += applier(ctx, source)
    except Stopped:
        stopped = True
    state.touch()
    return ApplyResult(ctx.counts, ctx.messages, supplied, ctx.statistics, stopped)


def sis_zip_apply(
    state: CanvasData,
    data: bytes,
    *,
    options: ImportOptions | None = None,
    extension: str = "zip",
    file_name: str = "upload",
) -> tuple[list[ImportMessage], ApplyResult]:
    """Read and apply an upload in the calling thread (no import record, no diffing).

    Returns the read-stage messages (file-level failures and warnings) and the result.
    """
    read = read_sis_upload(data, extension=extension, file_name=file_name)
    return read.messages, apply_sources(state, read.sources, options=options)


def messages_by_row(messages: Iterable[ImportMessage]) -> list[tuple[str | None, str, int | None]]:
    """(file, message, row) triples, handy in tests and the read-back control."""
    return [(m.file, m.message, m.row) for m in messages]
