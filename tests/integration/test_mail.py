"""Development mail goes to stderr: the stdout of a command (``--json``) stays its own."""

from __future__ import annotations

import subprocess
import sys

from tests.subprocess_env import subprocess_env
from tests.workers import ROOT


def test_development_mail_is_printed_to_stderr_not_stdout():
    result = subprocess.run(
        [sys.executable, "manage.py", "sendtestemail", "it@example.org"],
        cwd=ROOT,
        # Development settings as the demo has them, with no mail configured.
        env=subprocess_env(
            "integration.settings.base", DEBUG="true", EMAIL_BACKEND=None, EMAIL_URL=None
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "To: it@example.org" in result.stderr
