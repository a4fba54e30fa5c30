"""docs/dependencies.md says why each package in pyproject.toml is there: every declared
dependency, runtime and extras, is named in it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: The first cell of every table row: the packages the row explains.
EXPLAINED = " ".join(
    line.split("|")[1].lower()
    for line in (ROOT / "docs" / "dependencies.md").read_text().splitlines()
    if line.startswith("| ")
)


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower()


def test_every_declared_dependency_is_explained():
    declared = list(PROJECT["dependencies"])
    for extra in PROJECT["optional-dependencies"].values():
        declared += extra
    names = {_name(requirement) for requirement in declared}
    assert len(names) > 30
    unexplained = sorted(
        name for name in names if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", EXPLAINED)
    )
    assert unexplained == []
