"""``manage.py benchmark [--students N] [--schools K] [--seed S] [--floor-runs N] [--json FILE]``.

Use a database of its own (``DATABASE_URL``): the run writes a throwaway district and,
for the large district, millions of mirror rows (deleted again at the end). The JSON holds
the figures (DESIGN §6) and where they were measured (machine, commit, command, date,
load average); files kept under ``docs/benchmarks/`` feed the tables of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from integration.oneroster.benchmark import RunConditions
from provisioning.benchmark import benchmark_run


class Command(BaseCommand):
    help = "Measure read floor, full provisioning, no-change rerun, 1 % delta and peak memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=300_000)
        parser.add_argument("--schools", type=int, default=370)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--floor-runs", type=int, default=3, help="Warm floor samples (>= 3)")
        parser.add_argument("--json", dest="json_file", default=None, help="Write figures here.")
        parser.add_argument("--note", default="", help="Stored with the figures (conditions).")

    def handle(self, *args: object, **options: object) -> None:
        # A terminated benchmark still stops its sandbox (``finally`` blocks run on exit).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        conditions = RunConditions(self._command_line(options))
        results = benchmark_run(
            students=int(options["students"]),
            schools=int(options["schools"]),
            seed=int(options["seed"]),
            floor_runs=int(options["floor_runs"]),
            log=lambda line: self.stderr.write(line),
        )
        results.update(conditions.record(str(options["note"])))
        self._write(results, options["json_file"])

    @staticmethod
    def _command_line(options: dict) -> list[str]:
        """The command as it could be typed again (``call_command`` has no argv)."""
        line = ["manage.py", "benchmark"]
        for name in ("students", "schools", "seed", "floor_runs", "json_file"):
            if options.get(name) is not None:
                flag = "--json" if name == "json_file" else "--" + name.replace("_", "-")
                line += [flag, str(options[name])]
        return line

    def _write(self, results: dict, json_file: object) -> None:
        text = json.dumps(results, indent=2)
        if json_file:
            path = Path(str(json_file))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
        self.stdout.write(text)
