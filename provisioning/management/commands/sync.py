"""``manage.py sync <subcommand> …``: runs of a district from the command line.

Subcommands come from the installed apps (see ``provisioning.management.sync_plugins``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from provisioning.management.sync_plugins import sync_subcommands


class Command(BaseCommand):
    help = "Provision, pass grades back or evaluate a district (exit 0 ok, 1 failed, 3 held)."

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True)
        for subcommand in sync_subcommands():
            subparser = subparsers.add_parser(subcommand.name, help=subcommand.help)
            subcommand.add_arguments(subparser)

    def handle(self, *args: object, **options: object) -> None:
        by_name = {s.name: s for s in sync_subcommands()}
        code = by_name[str(options["subcommand"])].run(options, self.stdout)
        if code:
            raise SystemExit(code)
