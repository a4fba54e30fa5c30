#!/usr/bin/env python
import os
import sys
from pathlib import Path

import environ

#: Commands that only read the models: they need no secrets, so without an explicit settings
#: module they use the test settings instead of production ones (which refuse to start
#: without SECRET_KEY and FERNET_KEYS).
_MODEL_ONLY_COMMANDS = {"makemigrations"}
#: Written by ``make demo`` while it runs: its settings, so the README's commands reach it.
DEMO_ENV_FILE = Path(__file__).resolve().parent / ".local" / "demo.env"


def _read_env_file() -> None:
    """Read ``ENV_FILE`` (default: the demo's ``.local/demo.env``) when it exists.

    Variables already set win. A shell that names its own ``DATABASE_URL`` is not talking to
    the demo, so it never picks up the demo's development settings; ``ENV_FILE=`` (empty)
    turns the file off.
    """
    path = os.environ.get("ENV_FILE", str(DEMO_ENV_FILE))
    if not path or "DATABASE_URL" in os.environ or not Path(path).is_file():
        return
    environ.Env.read_env(path)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command != "demo":  # the demo writes the file; one left by a killed demo is stale
        _read_env_file()
    default = (
        "integration.settings.test"
        if command in _MODEL_ONLY_COMMANDS
        else "integration.settings.base"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings, which may refuse
    except ImproperlyConfigured as exc:
        # A refusal is for an operator to act on: one line, not a traceback.
        sys.exit(f"error: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
