"""``manage.py benchmark [--students N] [--schools K] [--seed S] [--floor-runs N] [--json FILE]``
and ``manage.py benchmark --scaleout --workers 1,2 --districts K [--students N] [--courses C]
[--latency-ms L] [--json FILE]`` (``provisioning.scaleout``: K districts on 1, 2, … Celery
workers; ``--latency-ms``: each simulated service answers that much later, as real ones do).

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

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from integration.oneroster.benchmark import RunConditions
from provisioning.benchmark import benchmark_run
from provisioning.scaleout import scaleout_run

#: Per district in a scale-out: small districts, the nightly work of many.
SCALEOUT_STUDENTS, SCALEOUT_SCHOOLS, SCALEOUT_COURSES = 3000, 4, 30


class Command(BaseCommand):
    help = "Measure read floor, full provisioning, no-change rerun, 1 % delta and peak memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--students", type=int, default=None, help="Default 300,000 (scale-out: 3,000 each)"
        )
        parser.add_argument("--schools", type=int, default=None, help="Default 370 (4 each)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--floor-runs", type=int, default=3, help="Warm floor samples (>= 3)")
        parser.add_argument("--json", dest="json_file", default=None, help="Write figures here.")
        parser.add_argument("--note", default="", help="Stored with the figures (conditions).")
        parser.add_argument("--scaleout", action="store_true", help="Districts on N workers.")
        parser.add_argument("--workers", default="1,2", help="Scale-out: worker counts.")
        parser.add_argument("--districts", type=int, default=3, help="Scale-out: districts.")
        parser.add_argument(
            "--courses", type=int, default=SCALEOUT_COURSES, help="Scale-out: passback courses"
        )
        parser.add_argument(
            "--latency-ms",
            type=float,
            default=0.0,
            help="Scale-out: hold every answer of the simulated services back this long",
        )

    def handle(self, *args: object, **options: object) -> None:
        # A terminated benchmark still stops its sandbox (``finally`` blocks run on exit).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        conditions = RunConditions(self._command_line(options))
        log = self.stderr.write
        if options["scaleout"]:
            results = scaleout_run(
                workers=[int(w) for w in str(options["workers"]).split(",")],
                districts=int(options["districts"]),
                students=int(options["students"] or SCALEOUT_STUDENTS),
                schools=int(options["schools"] or SCALEOUT_SCHOOLS),
                courses=int(options["courses"]),
                seed=int(options["seed"]),
                latency_ms=float(options["latency_ms"]),
                log=log,
                log_dir=Path(settings.BASE_DIR) / ".local" / "scaleout",
            )
        else:
            results = benchmark_run(
                students=int(options["students"] or 300_000),
                schools=int(options["schools"] or 370),
                seed=int(options["seed"]),
                floor_runs=int(options["floor_runs"]),
                log=log,
            )
        results.update(conditions.record(str(options["note"])))
        self._write(results, options["json_file"])

    @staticmethod
    def _command_line(options: dict) -> list[str]:
        """The command as it could be typed again (``call_command`` has no argv)."""
        line = ["manage.py", "benchmark"]
        names = ("students", "schools", "seed", "floor_runs", "json_file")
        if options.get("scaleout"):
            line.append("--scaleout")
            names = (
                "workers",
                "districts",
                "students",
                "schools",
                "courses",
                "seed",
                "latency_ms",
                "json_file",
            )
        for name in names:
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
