"""``manage.py benchmark --scaleout``: K districts' nightly work on 1, 2, … Celery workers.

What a deployment does every night, measured on the engine it runs (Celery on Redis, the
same PostgreSQL): ``K`` districts, each its own simulated district (one sandbox process per
district, its own Infinite Campus and Canvas), provisioned once and given coursework. Then,
for each worker count ``W``, with ``W`` real ``celery worker`` processes started for it:

1. the sandboxes change 1 % of their students ("next night"), and a delta of every district
   is started at once through the launcher (``start_run(..., enqueue=True)``), as beat does;
   ``delta_s`` is the wall time until the last of them ended;
2. a passback of every district is started at once, each over a set of courses not passed
   back before (so every round sends the same amount of new results);
   ``passback_results_per_s`` = results the SIS accepted over all districts / wall time
   until the last run ended.

With ``latency_ms``, every answer of the simulated Infinite Campus and Canvas comes that much
later, as a real service's network and work make it: the workers then wait on upstreams as
they do in a deployment, and the figures show how that waiting scales across workers.
Without it, the sandboxes answer at once and the figures show CPU: on a machine whose cores
also run the sandboxes, PostgreSQL and Redis, a second worker has no core of its own.

Fairness is measured from the stored timestamps: for deltas, how long each district's run
waited before a worker took it; for passbacks, how long until each district's first course
started and whether any district waited for another district's whole run to end first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection
from django.utils import timezone

from integration.oneroster.benchmark import sandbox_start
from provisioning.benchmark import (
    BenchmarkContext,
    app_benchmark_modules,
    district_for,
    forget,
    timed_sync,
)
from runs.models import SyncRun
from runs.services.launch import start_run

ROOT = Path(__file__).resolve().parents[1]
#: A worker is ready in seconds; a minute means something is wrong.
WORKER_READY_SECONDS = 120.0
#: The longest a round's runs may take before the benchmark gives up on them.
ROUND_TIMEOUT_SECONDS = 3600.0
POLL_SECONDS = 0.25


def _scaleout_hooks() -> dict[str, Callable[..., Any]]:
    """Grade passback's ``prepare`` and ``pushed`` (its ``benchmarks.SCALEOUT``)."""
    for module in app_benchmark_modules():
        hooks = getattr(module, "SCALEOUT", None)
        if hooks:
            return hooks
    raise RuntimeError("No installed app provides benchmarks.SCALEOUT (grade passback).")


def worker_env() -> dict[str, str]:
    """This process's environment, pointed at the database it uses now (a test run's
    ``test_<name>`` database included), its Redis and its queue."""
    parts = urlsplit(settings.DATABASE_URL)
    database_url = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    return {
        **os.environ,
        # Overridden settings (tests) do not know their module; the environment does.
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE")
        or settings.SETTINGS_MODULE,
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "ENV_FILE": "",
    }


class Workers:
    """``count`` ``celery worker`` processes (one task at a time each), as separate
    deployments' machines would run them; started ready, stopped on exit."""

    def __init__(self, count: int, log_dir: Path) -> None:
        self.count = count
        self.log_dir = log_dir
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def __enter__(self) -> Workers:
        celery = str(Path(sys.executable).with_name("celery"))
        env = worker_env()
        for index in range(self.count):
            log = self.log_dir / f"worker-{self.count}-{index}.log"
            command = [
                celery, "-A", "integration", "worker", "--pool=prefork", "--concurrency=1",
                "--queues", settings.CELERY_TASK_DEFAULT_QUEUE, "--loglevel=INFO",
                "--hostname", f"scaleout{index}-{os.getpid()}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ]  # fmt: skip
            with log.open("w") as out:
                process = subprocess.Popen(  # noqa: S603
                    command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                )
            self.processes.append((process, log))
        deadline = time.monotonic() + WORKER_READY_SECONDS
        for process, log in self.processes:
            while "ready." not in log.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"A Celery worker did not start:\n{log.read_text()}")
                time.sleep(0.1)
        return self

    def check(self) -> None:
        for process, log in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"A Celery worker exited:\n{log.read_text()[-4000:]}")

    def __exit__(self, *exc_info: object) -> None:
        for process, _ in self.processes:
            process.terminate()
        for process, _ in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_all(run_ids: list[int], workers: Workers) -> list[Any]:
    """The runs once every one of them has ended."""
    deadline = time.monotonic() + ROUND_TIMEOUT_SECONDS
    while True:
        runs = list(SyncRun.objects.filter(pk__in=run_ids).order_by("pk"))
        if all(run.status in SyncRun.FINAL_STATUSES for run in runs):
            failed = [r for r in runs if r.status != SyncRun.Status.SUCCEEDED]
            if failed:
                raise RuntimeError(
                    "; ".join(f"run {r.pk} ({r.kind}) ended {r.status}: {r.error}" for r in failed)
                )
            return runs
        workers.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"runs {run_ids} did not end within {ROUND_TIMEOUT_SECONDS} s")
        time.sleep(POLL_SECONDS)


def _start_all(
    districts: list[Any], kind: str, options: dict[int, dict[str, Any]] | None = None
) -> tuple[Any, list[int]]:
    """Start a run of ``kind`` for every district at once, queued for the workers
    (``options``: the launcher's options per district id)."""
    started = timezone.now()
    ids = [
        start_run(
            district=district,
            kind=kind,
            trigger=SyncRun.Trigger.CLI,
            actor_label="benchmark",
            enqueue=True,
            **(options or {}).get(district.pk, {}),
        ).pk
        for district in districts
    ]
    return started, ids


def _seconds(later: Any, earlier: Any) -> float:
    return round((later - earlier).total_seconds(), 2)


def _delta_round(districts: list[Any], contexts: list[BenchmarkContext], workers: Workers) -> dict:
    for context in contexts:
        context.oneroster_control("mutate", {"fraction": 0.01})
    started, ids = _start_all(districts, SyncRun.Kind.DELTA)
    runs = _wait_all(ids, workers)
    waits = [_seconds(run.started_at, started) for run in runs]
    return {
        "delta_s": _seconds(max(run.finished_at for run in runs), started),
        "delta_start_wait_s_max": max(waits),
        "delta_start_wait_s": waits,
        "delta_run_s": [_seconds(run.finished_at, run.started_at) for run in runs],
    }


def _passback_round(
    districts: list[Any],
    courses: dict[int, list[str]],
    workers: Workers,
    hooks: dict[str, Callable[..., Any]],
) -> dict:
    options = {pk: {"course_sis_ids": chosen, "full": True} for pk, chosen in courses.items()}
    started, ids = _start_all(districts, SyncRun.Kind.PASSBACK, options)
    runs = _wait_all(ids, workers)
    ended = max(run.finished_at for run in runs)
    results = sum(hooks["pushed"](run) for run in runs)
    first_course = {run.pk: hooks["first_course_started"](run) or run.finished_at for run in runs}
    # A district waited for another's whole run when its first course started only after
    # that other run had ended.
    behind = sum(
        1
        for run in runs
        if any(other.pk != run.pk and other.finished_at <= first_course[run.pk] for other in runs)
    )
    seconds = (ended - started).total_seconds()
    return {
        "passback_results_per_s": round(results / seconds, 1) if seconds else None,
        "passback_results": results,
        "passback_s": round(seconds, 2),
        "passback_first_course_s_max": max(_seconds(t, started) for t in first_course.values()),
        "passback_first_course_s": [_seconds(first_course[r.pk], started) for r in runs],
        "passback_run_s": [_seconds(run.finished_at, started) for run in runs],
        "passback_districts_behind_a_whole_run": behind,
    }


def scaleout_run(
    *,
    workers: Sequence[int],
    districts: int,
    students: int,
    schools: int,
    courses: int,
    seed: int,
    log: Callable[[str], None],
    log_dir: Path,
    latency_ms: float = 0.0,
) -> dict[str, Any]:
    """Measure every worker count in ``workers`` over ``districts`` districts (module doc)."""
    hooks = _scaleout_hooks()
    log_dir.mkdir(parents=True, exist_ok=True)
    rounds = len(workers)
    processes: list[subprocess.Popen] = []
    made: list[Any] = []
    contexts: list[BenchmarkContext] = []
    result: dict[str, Any] = {
        "districts": districts,
        "students_per_district": students,
        "schools_per_district": schools,
        "courses_per_district": courses,
        "latency_ms": latency_ms,
        "scaleout": [],
    }
    try:
        log(f"Starting {districts} sandboxes of {students:,} students …")
        for index in range(districts):
            process, info = sandbox_start(
                students=students, schools=schools, seed=seed + index, latency_ms=latency_ms
            )
            processes.append(process)
            district = district_for(info, students=students, suffix=f"-{index}")
            made.append(district)
            timed_sync(district, "full", log)
            contexts.append(
                BenchmarkContext(
                    students=students,
                    schools=schools,
                    district=district,
                    sandbox=info,
                    results={},
                    log=log,
                )
            )
        # Each round passes back courses no round sent before.
        taught = {c.district.pk: hooks["prepare"](c, courses * rounds) for c in contexts}
        for number, count in enumerate(workers):
            with Workers(count, log_dir) as running:
                log(f"{count} worker(s): deltas of {districts} districts …")
                figures: dict[str, Any] = {"workers": count, "districts": districts}
                figures.update(_delta_round(made, contexts, running))
                log(f"{count} worker(s): passbacks of {districts} districts …")
                chosen = {pk: ids[number::rounds] for pk, ids in taught.items()}
                figures.update(_passback_round(made, chosen, running, hooks))
            log(
                f"{count} worker(s): passback {figures['passback_results_per_s']} results/s, "
                f"deltas {figures['delta_s']} s"
            )
            result["scaleout"].append(figures)
        base = result["scaleout"][0]
        for figures in result["scaleout"]:
            figures["passback_speedup"] = round(
                figures["passback_results_per_s"] / base["passback_results_per_s"], 2
            )
            figures["delta_speedup"] = round(base["delta_s"] / figures["delta_s"], 2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        for district in made:
            forget(district)
    return result
