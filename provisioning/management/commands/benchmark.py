"""``manage.py benchmark [--students N] [--schools K] [--seed S] [--json FILE]``.

Use a database of its own (``DATABASE_URL``): the run writes a throwaway district and,
for the large district, millions of mirror rows (deleted again at the end).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from provisioning.benchmark import benchmark_run


class Command(BaseCommand):
    help = "Measure read floor, full provisioning, no-change rerun, 1 % delta and peak memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=300_000)
        parser.add_argument("--schools", type=int, default=370)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", dest="json_file", default=None, help="Write figures here.")

    def handle(self, *args: object, **options: object) -> None:
        # A terminated benchmark still stops its sandbox (``finally`` blocks run on exit).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        results = benchmark_run(
            students=int(options["students"]),
            schools=int(options["schools"]),
            seed=int(options["seed"]),
            log=lambda line: self.stderr.write(line),
        )
        text = json.dumps(results, indent=2)
        if options["json_file"]:
            path = Path(str(options["json_file"]))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
        self.stdout.write(text)
