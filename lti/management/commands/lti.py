"""``manage.py lti``: the LTI tool's registration, configuration JSON and keys.

manage.py lti config SLUG              # the developer-key JSON to paste into Canvas
manage.py lti register SLUG --issuer URL --client-id ID --deployment-id ID
          [--canvas-url URL | --auth-login-url URL --auth-token-url URL --key-set-url URL]
manage.py lti rotate-keys [SLUG ...]   # a new current key (every district when none named)
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lti.models import LtiPlatform
from lti.services.keys import lti_key_rotate
from lti.services.platforms import canvas_platform_urls, canvas_tool_config, lti_platform_save
from tenants.models import District


class Command(BaseCommand):
    help = "LTI grade sync tool: configuration JSON, registration, key rotation."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        config = sub.add_parser("config", help="Print the Canvas developer-key JSON.")
        config.add_argument("slug")
        register = sub.add_parser("register", help="Register the district's Canvas.")
        register.add_argument("slug")
        register.add_argument("--issuer", required=True)
        register.add_argument("--client-id", required=True)
        register.add_argument("--deployment-id", required=True)
        register.add_argument(
            "--canvas-url", help="Derive the three platform URLs from this Canvas base URL."
        )
        register.add_argument("--auth-login-url")
        register.add_argument("--auth-token-url")
        register.add_argument("--key-set-url")
        rotate = sub.add_parser("rotate-keys", help="Make a new current key; retire the old.")
        rotate.add_argument("slugs", nargs="*")

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "config":
            district = self._district(options["slug"])
            self.stdout.write(json.dumps(canvas_tool_config(district), indent=2))
        elif action == "register":
            self._register(options)
        else:
            self._rotate(options["slugs"])

    def _district(self, slug: str) -> District:
        district = District.objects.filter(slug=slug).first()
        if district is None:
            raise CommandError(f"No district {slug!r}.")
        return district

    def _register(self, options: dict) -> None:
        district = self._district(options["slug"])
        values = {
            "issuer": options["issuer"],
            "client_id": options["client_id"],
            "deployment_id": options["deployment_id"],
        }
        if options["canvas_url"]:
            values.update(canvas_platform_urls(options["canvas_url"]))
        for name in ("auth_login_url", "auth_token_url", "key_set_url"):
            if options[name]:
                values[name] = options[name]
        try:
            platform = lti_platform_save(
                district=district, actor=None, actor_label="cli", values=values
            )
        except ValidationError as exc:
            raise CommandError(f"Registration refused: {exc}") from exc
        self.stdout.write(
            f"LTI registration of {district.slug}: {platform.issuer} {platform.client_id}"
        )

    def _rotate(self, slugs: list[str]) -> None:
        platforms = LtiPlatform.objects.select_related("district").order_by("district__slug")
        if slugs:
            platforms = platforms.filter(district__slug__in=slugs)
            missing = set(slugs) - {p.district.slug for p in platforms}
            if missing:
                raise CommandError(f"No LTI registration for: {', '.join(sorted(missing))}")
        for platform in platforms:
            key = lti_key_rotate(platform=platform)
            self.stdout.write(f"{platform.district.slug}: new current key {key.kid}")
