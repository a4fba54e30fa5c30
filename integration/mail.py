"""Development mail: printed to stderr, so a command's stdout stays its own.

Django's console backend prints to stdout, where a ``--json`` command's one object goes; a
held-run notification sent during the command then broke the JSON.
"""

from __future__ import annotations

import sys

from django.core.mail.backends import console


class StderrEmailBackend(console.EmailBackend):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("stream", sys.stderr)
        super().__init__(*args, **kwargs)
