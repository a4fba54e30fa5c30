"""What an evaluation report downloads as: the detail table and the proposed
``change_sis_id.csv`` (canvas.md §2.11), as row iterators the console streams out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from evaluation.models import EvaluationRow

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from evaluation.models import EvaluationReport

DETAIL_HEADER = (
    "object_type",
    "match",
    "oneroster_sourced_id",
    "canvas_sis_id_after_import",
    "oneroster_login_or_code",
    "oneroster_email",
    "oneroster_name",
    "school",
    "canvas_id",
    "canvas_sis_id",
    "canvas_login_or_code",
    "canvas_email",
    "canvas_name",
    "note",
)
CHANGE_SIS_ID_HEADER = ("old_id", "new_id", "type")
#: change_sis_id.csv types, in the order the rows are written.
CHANGE_TYPES = (
    (EvaluationRow.ObjectType.USER, "user"),
    (EvaluationRow.ObjectType.COURSE, "course"),
    (EvaluationRow.ObjectType.SECTION, "section"),
)
_CHUNK = 2000


def evaluation_detail_rows(
    *, report: EvaluationReport, rows: QuerySet[EvaluationRow] | None = None
) -> Iterator[tuple[object, ...]]:
    """The header, then one tuple per detail row (all of them unless ``rows`` is given)."""
    yield DETAIL_HEADER
    selected = rows if rows is not None else report.rows.all()
    for row in selected.order_by("id").iterator(chunk_size=_CHUNK):
        yield (
            row.object_type,
            row.match,
            row.source_id,
            row.target_sis_id,
            row.source_login,
            row.source_email,
            row.source_name,
            row.school,
            row.canvas_id if row.canvas_id is not None else "",
            row.canvas_sis_id,
            row.canvas_login,
            row.canvas_email,
            row.canvas_name,
            row.note,
        )


def evaluation_change_sis_id_rows(*, report: EvaluationReport) -> Iterator[tuple[str, ...]]:
    """The header, then ``old_id, new_id, type`` for every Canvas object matched under
    another SIS id: a user by login or e-mail, a course by code or name, a section by its
    course or name. Ambiguous matches and Canvas objects without an SIS id are left out."""
    yield CHANGE_SIS_ID_HEADER
    for object_type, canvas_type in CHANGE_TYPES:
        rows = (
            report.rows.filter(
                object_type=object_type,
                match__in=(EvaluationRow.Match.MATCHED_LOGIN, EvaluationRow.Match.MATCHED_EMAIL),
            )
            .exclude(canvas_sis_id="")
            .exclude(target_sis_id="")
            .order_by("id")
            .values_list("canvas_sis_id", "target_sis_id")
        )
        for old_id, new_id in rows.iterator(chunk_size=_CHUNK):
            yield (old_id, new_id, canvas_type)
