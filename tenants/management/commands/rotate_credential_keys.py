"""``manage.py rotate_credential_keys``: re-encrypt every stored secret with the newest key.

Put the new key first in ``FERNET_KEYS`` (keep the old ones after it), run this, then remove
the keys it reports as unused. Prints a one-line summary, or one JSON object with ``--json``;
exit 1 when some stored value opens with no configured key (a key was removed too early).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tenants.services.keys import credential_key_usage, credential_keys_rotate, key_fingerprint


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the newest FERNET_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args: Any, as_json: bool = False, **options: Any) -> None:
        newest = key_fingerprint(settings.FERNET_KEYS[0])
        before = credential_key_usage()
        if before["unreadable"]:
            message = (
                f"{before['unreadable']} stored value(s) open with no configured key: put the "
                "missing key back in FERNET_KEYS before rotating"
            )
            self._finish(as_json, ok=False, summary=message, payload={"error": message})
            return
        report = credential_keys_rotate()
        after = credential_key_usage()
        retired = [
            fp for fp, count in after.items() if fp not in (newest, "unreadable") and not count
        ]
        summary = (
            f"re-encrypted {report.values} value(s) in {sum(report.rows.values())} row(s) with key "
            f"{newest}; keys now unused (safe to remove): {', '.join(retired) or 'none'}"
        )
        payload = {
            "newest_key": newest,
            "rows": report.rows,
            "values": report.values,
            "usage_before": before,
            "usage_after": after,
            "unused_keys": retired,
        }
        self._finish(as_json, ok=True, summary=summary, payload=payload)

    def _finish(self, as_json: bool, *, ok: bool, summary: str, payload: dict) -> None:
        if as_json:
            self.stdout.write(json.dumps({"ok": ok, **payload}, sort_keys=True))
        elif ok:
            self.stdout.write(summary)
        else:
            self.stderr.write(f"error: {summary}")
        if not ok:
            sys.exit(1)
