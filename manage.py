#!/usr/bin/env python
import os
import sys

#: Commands that only read the models: they need no secrets, so without an explicit settings
#: module they use the test settings instead of production ones (which refuse to start
#: without SECRET_KEY and FERNET_KEYS).
_MODEL_ONLY_COMMANDS = {"makemigrations"}


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    default = (
        "integration.settings.test"
        if command in _MODEL_ONLY_COMMANDS
        else "integration.settings.base"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
