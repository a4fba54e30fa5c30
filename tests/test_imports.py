"""No project module imports another one inside a function (docs/architecture.md): imports
sit at the top, where `lint-imports` and a reader see them. The one place allowed is an
``AppConfig.ready``, which runs once models may load. `lint-imports` checks the direction of
every import; this checks where they sit."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("integration", "tenants", "runs", "provisioning", "gradepassback", "evaluation",
           "console", "lti", "sandbox")  # fmt: skip


def local_imports(path: Path) -> list[str]:
    """``path:line: module`` for each import of a project module inside a function, except
    in an ``AppConfig.ready``."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            defines = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            inner = child.name if defines else None
            if isinstance(child, ast.ImportFrom) and function and child.level == 0:
                module = child.module or ""
                allowed = path.name == "apps.py" and function == "ready"
                if module.split(".")[0] in PROJECT and not allowed:
                    found.append(f"{path.relative_to(ROOT)}:{child.lineno}: {module}")
            visit(child, inner or function)

    visit(ast.parse(path.read_text()), None)
    return found


def test_no_project_import_sits_inside_a_function():
    found = [
        line
        for package in PROJECT
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
        for line in local_imports(path)
    ]
    assert found == []
