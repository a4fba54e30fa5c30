"""CSV downloads for people: streamed, and safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is read
as a formula by Excel and LibreOffice (OWASP "CSV injection"); such cells get a leading
apostrophe, which spreadsheets show as text and never evaluate.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _lines(rows: Iterable[Iterable[Any]], *, neutralise: bool) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row] if neutralise else list(row))


def csv_response(
    rows: Iterable[Iterable[Any]], *, filename: str, neutralise: bool = True
) -> StreamingHttpResponse:
    """Stream ``rows`` (header first) as a CSV attachment.

    ``neutralise=False`` only for files made to be imported as they are (Canvas SIS CSVs):
    an apostrophe would change the ids they carry.
    """
    response = StreamingHttpResponse(
        _lines(rows, neutralise=neutralise), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
