"""``manage.py sync <subcommand> …``: runs of a district from the command line.

Subcommands come from the installed apps (see ``provisioning.management.sync_plugins``).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from provisioning.management.sync_plugins import EXIT_FAILED, refused, sync_subcommands
from tenants.selectors import DistrictNotFound


class Command(BaseCommand):
    help = "Provision, pass grades back or evaluate a district (exit 0 ok, 1 failed, 3 held)."

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True)
        for subcommand in sync_subcommands():
            subparser = subparsers.add_parser(subcommand.name, help=subcommand.help)
            subcommand.add_arguments(subparser)

    def handle(self, *args: object, **options: object) -> None:
        by_name = {s.name: s for s in sync_subcommands()}
        try:
            code = by_name[str(options["subcommand"])].run(options, self.stdout)
        except (DistrictNotFound, CommandError) as exc:
            # What the person asked for does not exist (a slug, a run id): said the way
            # ``manage.py district`` says it, with ``--json`` as the one object on stdout.
            if options.get("json"):
                self.stdout.write(json.dumps(refused(exc)))
            else:
                self.stderr.write(f"error: {exc}")
            sys.exit(EXIT_FAILED)
        if code:
            raise SystemExit(code)
