"""``manage.py district create|set|check|list`` (DESIGN §6).

Secrets are never arguments: they come from the environment (ONEROSTER_CLIENT_ID,
ONEROSTER_CLIENT_SECRET, CANVAS_TOKEN, optional ONEROSTER_VENDOR_KEY and
ONEROSTER_VENDOR_SECRET). Exit 0 on success, 1 on failure; the last line is a one-line
summary, or with ``--json`` the only output is one JSON object. No secret is ever printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.db import models

from tenants.models import District
from tenants.selectors import DistrictNotFound, district_get, district_list, district_summary
from tenants.services.audit import cli_actor_label
from tenants.services.connection_check import district_check
from tenants.services.districts import (
    URL_FIELDS,
    district_create,
    district_credentials_set,
    district_option_fields,
    district_update,
)

#: Environment variable → district field, for create and ``set --credentials-from-env``.
SECRET_ENV = {
    "ONEROSTER_CLIENT_ID": "oneroster_client_id",
    "ONEROSTER_CLIENT_SECRET": "oneroster_client_secret",
    "CANVAS_TOKEN": "canvas_token",
    "ONEROSTER_VENDOR_KEY": "oneroster_vendor_key",
    "ONEROSTER_VENDOR_SECRET": "oneroster_vendor_secret",
}
#: The short flags of DESIGN §6 for fields whose full names are long.
FLAG_ALIASES = {
    "oneroster_base_url": "--oneroster-url",
    "oneroster_token_url": "--token-url",
    "canvas_base_url": "--canvas-url",
}


class CommandFailed(Exception):
    """A failure to report as the summary, exit status 1."""


@dataclass
class Result:
    ok: bool
    summary: str
    payload: dict[str, Any]
    details: list[str] = field(default_factory=list)


def _flag(name: str) -> str:
    return FLAG_ALIASES.get(name, "--" + name.replace("_", "-"))


def _weekday(value: str) -> int:
    names = {label.lower(): day for day, label in District.Weekday.choices}
    if value.lower() in names:
        return names[value.lower()]
    try:
        day = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a weekday: {value!r}") from None
    if day not in names.values():
        raise argparse.ArgumentTypeError(f"not a weekday: {value!r}")
    return day


def _add_option_flag(parser: CommandParser, name: str) -> None:
    field = District._meta.get_field(name)
    kwargs: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": field.help_text}
    if isinstance(field, models.BooleanField):
        kwargs["action"] = argparse.BooleanOptionalAction
    elif name == "full_sync_weekday":
        kwargs["type"] = _weekday
        kwargs["metavar"] = "DAY"
    elif field.choices:
        kwargs["choices"] = [value for value, _label in field.choices]
    elif isinstance(field, models.IntegerField):
        kwargs["type"] = int
    elif name in URL_FIELDS:
        kwargs["metavar"] = "URL"
    parser.add_argument(_flag(name), **kwargs)


def _secrets_from_env() -> dict[str, str]:
    return {field: os.environ[var] for var, field in SECRET_ENV.items() if os.environ.get(var)}


def _validation_summary(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(
            f"{_flag(name) if name != '__all__' else 'error'}: {' '.join(messages)}"
            for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create, change, check and list districts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)

        create = sub.add_parser("create", help="Create a district (secrets from the environment).")
        create.add_argument("slug")
        create.add_argument("--name", required=True)
        create.add_argument("--oneroster-url", dest="oneroster_base_url", required=True)
        create.add_argument("--token-url", dest="oneroster_token_url", required=True)
        create.add_argument("--canvas-url", dest="canvas_base_url", required=True)
        create.add_argument("--canvas-account-id", dest="canvas_account_id", required=True)
        create.add_argument(
            "--term-mode", dest="term_mode", choices=District.TermMode.values, default=None
        )
        create.add_argument("--timezone", default=None)
        create.add_argument("--json", action="store_true", dest="as_json")

        change = sub.add_parser("set", help="Change settings, one flag per option.")
        change.add_argument("slug")
        for name in district_option_fields():
            _add_option_flag(change, name)
        change.add_argument(
            "--credentials-from-env",
            action="store_true",
            help="Replace the secrets present in the environment (see the module docs).",
        )
        change.add_argument("--json", action="store_true", dest="as_json")

        check = sub.add_parser("check", help="Run the connection check.")
        check.add_argument("slug")
        check.add_argument("--json", action="store_true", dest="as_json")

        listing = sub.add_parser("list", help="List districts.")
        listing.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, "handle_" + options["subcommand"])
        try:
            result = handler(options)
        except CommandFailed as exc:
            result = Result(ok=False, summary=str(exc), payload={"error": str(exc)})
        except DistrictNotFound as exc:
            result = Result(ok=False, summary=str(exc), payload={"error": str(exc)})
        except ValidationError as exc:
            message = _validation_summary(exc)
            result = Result(ok=False, summary=message, payload={"error": message})
        if options["as_json"]:
            self.stdout.write(json.dumps({"ok": result.ok, **result.payload}, sort_keys=True))
        else:
            for line in result.details:
                self.stdout.write(line)
            if result.ok:
                self.stdout.write(result.summary)
            else:
                self.stderr.write(f"error: {result.summary}")
        if not result.ok:
            sys.exit(1)

    # --- subcommands ---------------------------------------------------------------------

    def handle_create(self, options: dict[str, Any]) -> Result:
        fields = {
            name: options[name]
            for name in (
                "name",
                "oneroster_base_url",
                "oneroster_token_url",
                "canvas_base_url",
                "canvas_account_id",
                "term_mode",
                "timezone",
            )
            if options.get(name) is not None
        }
        secrets = _secrets_from_env()
        district = district_create(
            actor=None, actor_label=cli_actor_label(), slug=options["slug"], **fields, **secrets
        )
        missing = [var for var, field in SECRET_ENV.items() if field not in secrets]
        note = f"; not in the environment: {', '.join(missing)}" if missing else ""
        return Result(
            ok=True,
            summary=f"created district {district.slug} (id {district.pk}, {district.status}){note}",
            payload={"action": "created", "district": district_summary(district=district)},
        )

    def handle_set(self, options: dict[str, Any]) -> Result:
        district = district_get(slug=options["slug"])
        changes = {name: options[name] for name in district_option_fields() if name in options}
        secrets = _secrets_from_env() if options["credentials_from_env"] else {}
        if options["credentials_from_env"] and not secrets:
            raise CommandFailed("--credentials-from-env given, but none of the variables is set")
        if not changes and not secrets:
            raise CommandFailed("nothing to change: give at least one setting flag")
        before = {name: getattr(district, name) for name in [*changes, *secrets]}
        label = cli_actor_label()
        if changes:
            district = district_update(
                district=district, actor=None, actor_label=label, changes=changes
            )
        if secrets:
            district = district_credentials_set(
                district=district, actor=None, actor_label=label, **secrets
            )
        # Names only: for secrets, that they changed is all anyone may learn.
        changed = sorted(name for name in before if getattr(district, name) != before[name])
        what = ", ".join(changed) if changed else "nothing changed"
        return Result(
            ok=True,
            summary=f"updated district {district.slug}: {what}",
            payload={
                "action": "updated",
                "changed": changed,
                "district": district_summary(district=district),
            },
        )

    def handle_check(self, options: dict[str, Any]) -> Result:
        district = district_get(slug=options["slug"])
        report = district_check(district=district, actor=None, actor_label=cli_actor_label())
        marks = {True: "ok  ", False: "FAIL", None: "skip"}
        details = [f"{marks[step.ok]} {step.title}: {step.reason}" for step in report.steps]
        failure = report.first_failure
        if failure is None:
            passed = sum(1 for step in report.steps if step.ok)
            summary = f"district {district.slug}: connection check passed ({passed} steps ok)"
        else:
            summary = f"district {district.slug}: connection check FAILED at {failure.title}"
        payload = {"district": district.slug, **report.as_dict()}
        payload.pop("ok")
        return Result(ok=report.ok, summary=summary, payload=payload, details=details)

    def handle_list(self, options: dict[str, Any]) -> Result:
        districts = list(district_list())
        details = []
        for district in districts:
            check = {True: "check ok", False: "check FAILED", None: "never checked"}[
                district.last_check_ok
            ]
            details.append(f"{district.slug}\t{district.status}\t{check}\t{district.name}")
        return Result(
            ok=True,
            summary=f"{len(districts)} district(s)",
            payload={"districts": [district_summary(district=d) for d in districts]},
            details=details,
        )
