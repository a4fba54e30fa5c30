"""Content-Security-Policy: only our own static scripts and styles, and no inline code in any
template (the policy would block it, so a page would silently break)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import engines

ROOT = Path(__file__).resolve().parents[1]

#: Inline code the policy blocks: a <script> without src, <style>, style="…", on…= handlers,
#: javascript: links.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:",
    re.IGNORECASE,
)


def _our_templates() -> list[Path]:
    dirs = [Path(d) for d in engines["django"].engine.dirs]
    dirs += [p for p in ROOT.glob("*/templates") if ".venv" not in p.parts]
    return sorted({path for d in dirs for path in d.rglob("*.html")})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "signed_in"),
    [("/admin/login/", False), ("/intake/form/", False), ("/console/", True), ("/admin/", True)],
)
def test_pages_carry_a_strict_policy(client, admin_user, path, signed_in):
    if signed_in:
        client.force_login(admin_user)
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy


def test_no_template_has_inline_script_or_style():
    templates = _our_templates()
    assert len(templates) > 20
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for path in templates
        for match in INLINE.finditer(path.read_text())
    ]
    assert offenders == []
