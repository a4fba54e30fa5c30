"""docs/security.md: every test its threat table names exists, and every row names one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "security.md").read_text()
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _threat_rows() -> list[str]:
    table = DOC.split("## 10. Threats", 1)[1].split("\n## ", 1)[0]
    return [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_every_row_of_the_threat_table_names_a_test():
    rows = _threat_rows()
    assert len(rows) > 20
    assert [row for row in rows if not REFERENCE.search(row.split(" | ")[-1])] == []


def test_every_test_the_document_names_exists():
    references = REFERENCE.findall(DOC)
    assert references
    missing = [
        f"{path}::{name}"
        for path, name in references
        if not (ROOT / path).is_file()
        or not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE)
    ]
    assert missing == []
