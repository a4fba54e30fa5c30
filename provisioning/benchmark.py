"""``manage.py benchmark``: DESIGN §8's figures, measured against the sandbox in one run.

The sandbox (simulated Infinite Campus and Canvas) runs in its own process, started with
``manage.py sandbox serve``; a throwaway district is wired to it, and this process measures:

- ``floor_s``, ``raw_s``, ``floor_runs``: ``integration.oneroster.benchmark.measure_floors``,
  the one floor definition (DESIGN §8): after a discarded warm-up read, best of
  ``floor_runs`` samples of a bare loop paging through and parsing every OneRoster record
  with the client's GC setting and the district's concurrency; ``raw_s`` the sandbox serving
  the same pages, not parsed;
- ``full_s``: a full provisioning run into the empty Canvas (read, plan, zip, import, commit);
- ``rerun_s``: the same district again with nothing changed (a nightly delta);
- ``delta_s``: a delta after the sandbox's "next night" changes to 1 % of students;
- ``peak_rss_mb``: this process's peak resident memory over all of the above.

Each run's phase timings come from its stored phase stamps (``SyncRun.progress
["phase_started"]``), never from its log.

Other apps add figures without touching this module: a module ``<app>.benchmarks`` with a
list ``MEASUREMENTS`` of callables, each taking the ``BenchmarkContext`` (the provisioned
district, the sandbox's connection info and control endpoints, the figures so far) and
returning a dict merged into the result. Grade passback fills ``passback_results_per_s``
and ``passback_rerun_puts`` that way.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from django.apps import apps
from django.db import connection
from django.utils import timezone

#: The figures DESIGN §6 names; extra measurements fill the passback ones.
RESULT_KEYS = (
    "students",
    "floor_s",
    "full_s",
    "rerun_s",
    "delta_s",
    "peak_rss_mb",
    "passback_results_per_s",
    "passback_rerun_puts",
    "raw_s",
    "floor_runs",
)
CONTROL_TIMEOUT = (10.0, 900.0)
SANDBOX_START_TIMEOUT = 1800.0


@dataclass
class BenchmarkContext:
    """What an extra measurement gets: the district (provisioned by the time it runs), the
    sandbox's connection info, its control endpoints, and the figures measured so far."""

    students: int
    schools: int
    district: Any
    sandbox: dict[str, str]
    results: dict[str, Any]
    log: Callable[[str], None]
    extra: dict[str, Any] = field(default_factory=dict)

    def oneroster_control(self, action: str, body: dict[str, Any]) -> Any:
        """POST to the simulated Infinite Campus's ``/_sandbox/oneroster/<action>``."""
        return _control(
            self.sandbox["canvas_url"], "oneroster", action, self.sandbox["client_secret"], body
        )

    def canvas_control(self, action: str, body: dict[str, Any]) -> Any:
        """POST to the simulated Canvas's ``/_sandbox/canvas/<action>``."""
        return _control(
            self.sandbox["canvas_url"], "canvas", action, self.sandbox["canvas_token"], body
        )


def _control(base_url: str, side: str, action: str, secret: str, body: dict[str, Any]) -> Any:
    response = requests.post(
        f"{base_url.rstrip('/')}/_sandbox/{side}/{action}",
        json=body,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=CONTROL_TIMEOUT,
    )
    response.raise_for_status()
    return response.json()


def app_benchmark_modules() -> list[Any]:
    """Every installed app's ``benchmarks`` module, in ``INSTALLED_APPS`` order."""
    found = []
    for config in apps.get_app_configs():
        name = f"{config.name}.benchmarks"
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name))
    return found


def extra_measurements() -> list[Callable[[BenchmarkContext], dict[str, Any]]]:
    """Every installed app's ``benchmarks.MEASUREMENTS``, in ``INSTALLED_APPS`` order."""
    return [m for module in app_benchmark_modules() for m in getattr(module, "MEASUREMENTS", ())]


def district_for(info: dict[str, str], *, students: int, suffix: str = "") -> Any:
    """A throwaway district wired to the sandbox ``info`` describes."""
    from tenants.models import District

    stamp = timezone.now().strftime("%Y%m%d%H%M%S") + suffix
    return District.objects.create(
        slug=f"bench-{stamp}",
        name=f"Benchmark {students:,} students ({stamp})",
        status=District.Status.PAUSED,  # never picked up by a schedule
        guard_first_write=False,  # the empty simulated Canvas is what the run should fill
        oneroster_base_url=info["oneroster_url"],
        oneroster_token_url=info["token_url"],
        oneroster_client_id=info["client_id"],
        oneroster_client_secret=info["client_secret"],
        canvas_base_url=info["canvas_url"],
        canvas_account_id=info["canvas_account_id"],
        canvas_token=info["canvas_token"],
    )


def timed_sync(district: Any, kind: str, log: Callable[[str], None]) -> tuple[float, Any]:
    """One provisioning run in this process, as ``manage.py sync provision`` does it, with
    clients that may reach the loopback sandbox whatever the deployment settings say."""
    from integration.oneroster.client import OneRosterClient
    from provisioning.services.pipeline import sync_run_execute
    from runs.locks import district_lock
    from runs.models import SyncRun
    from runs.services.lifecycle import Heartbeat, sync_run_create
    from tenants.services.clients import district_canvas_client

    started = time.perf_counter()
    run = sync_run_create(
        district=district, kind=kind, trigger=SyncRun.Trigger.CLI, actor_label="benchmark"
    )
    with (
        OneRosterClient(client_config(district)) as oneroster,
        district_canvas_client(district, allow_private=True) as canvas,
        district_lock(district.pk, run_id=run.pk) as lock,
    ):
        heartbeat = Heartbeat(run, extend=lock.extend)
        sync_run_execute(run=run, heartbeat=heartbeat, oneroster=oneroster, canvas=canvas)
    seconds = time.perf_counter() - started
    run.refresh_from_db()
    if run.status != SyncRun.Status.SUCCEEDED:
        raise RuntimeError(
            f"{kind} run {run.pk} ended {run.status}: {run.error or run.held_reason}"
        )
    log(f"{kind}: {seconds:.1f} s — run {run.pk}, {_changes(run.counts)}")
    return seconds, run


def _changes(counts: dict[str, dict[str, int]]) -> str:
    return ", ".join(
        f"{f} +{c['create']} ~{c['update']} -{c['drop']}"
        for f, c in counts.items()
        if any(c.values())
    )


def _phases(run: Any) -> dict[str, float]:
    """Seconds per stored phase (``SyncRun.progress["phase_started"]``), the last one up to
    the run's end."""
    started = sorted(
        (dt.datetime.fromisoformat(at), phase)
        for phase, at in (run.progress or {}).get("phase_started", {}).items()
    )
    ends = [at for at, _ in started[1:]] + [run.finished_at or started[-1][0]] if started else []
    return {
        phase: round((end - at).total_seconds(), 2)
        for (at, phase), end in zip(started, ends, strict=True)
    }


def forget(district: Any) -> None:
    """Drop the throwaway district's mirrors (millions of rows); keep its runs to inspect."""
    with connection.cursor() as cursor:
        for table in (
            "provisioning_canvasrow",
            "provisioning_rosterenrollment",
            "provisioning_rosteruser",
            "provisioning_rosterclass",
            "provisioning_rostercourse",
            "provisioning_rostersession",
            "provisioning_rosterorg",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE district_id = %s", [district.pk])  # noqa: S608


def client_config(district: Any) -> Any:
    """The one OneRoster configuration of the floor and of the runs: same page size, same
    concurrency, loopback allowed whatever the deployment settings say."""
    from integration.oneroster.client import OneRosterConfig

    return OneRosterConfig(
        base_url=district.oneroster_base_url,
        token_url=district.oneroster_token_url,
        client_id=district.oneroster_client_id,
        client_secret=district.oneroster_client_secret,
        concurrency=district.oneroster_concurrency,
        allow_private=True,
    )


def benchmark_run(
    *,
    students: int,
    schools: int,
    seed: int,
    log: Callable[[str], None],
    floor_runs: int = 3,
) -> dict[str, Any]:
    """Start a sandbox, measure everything, stop it; return the figures (DESIGN §6 keys
    first, then details)."""
    from integration.oneroster.benchmark import PeakRss, measure_floors, ratios, sandbox_start

    log(f"Starting the sandbox: {students:,} students, {schools} schools …")
    started = time.perf_counter()
    process, info = sandbox_start(students=students, schools=schools, seed=seed)
    log(f"Sandbox up in {time.perf_counter() - started:.0f} s at {info['canvas_url']}.")
    results: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    results["students"] = students
    details: dict[str, Any] = {"schools": schools, "seed": seed}
    district = None
    try:
        district = district_for(info, students=students)
        floors = measure_floors(client_config(district), runs=floor_runs)
        figures = floors.figures()
        results.update(
            floor_s=figures.pop("floor_s"),
            raw_s=figures.pop("raw_s"),
            floor_runs=figures.pop("floor_runs"),
        )
        details.update(figures, concurrency=district.oneroster_concurrency)
        log(
            f"floor: {results['floor_s']} s (samples {results['floor_runs']}), "
            f"raw serving: {results['raw_s']} s"
        )
        with PeakRss(interval=0.05) as rss:
            full_s, full = timed_sync(district, "full", log)
            rerun_s, rerun = timed_sync(district, "delta", log)
            context = BenchmarkContext(
                students=students,
                schools=schools,
                district=district,
                sandbox=info,
                results=results,
                log=log,
            )
            changed = context.oneroster_control("mutate", {"fraction": 0.01})["changed"]
            details["delta_changes"] = {k: len(v) for k, v in changed.items()}
            delta_s, delta = timed_sync(district, "delta", log)
        results.update(
            full_s=round(full_s, 2),
            rerun_s=round(rerun_s, 2),
            delta_s=round(delta_s, 2),
            peak_rss_mb=round(rss.peak_mb, 1),
        )
        full_ratios = ratios(full_s, floors)
        details.update(
            full_vs_floor=full_ratios["vs_floor"],
            full_vs_raw=full_ratios["vs_raw"],
            rerun_vs_full=round(rerun_s / full_s, 3),
            delta_vs_full=round(delta_s / full_s, 3),
            full_counts=full.counts,
            delta_counts=delta.counts,
            full_phases_s=_phases(full),
            rerun_phases_s=_phases(rerun),
            delta_phases_s=_phases(delta),
        )
        log(
            f"full {full_s:.1f} s = {full_ratios['vs_floor']} x floor, "
            f"{full_ratios['vs_raw']} x raw; rerun {details['rerun_vs_full']} x full; "
            f"1 % delta {details['delta_vs_full']} x full"
        )
        for measure in extra_measurements():
            name = f"{measure.__module__}.{measure.__name__}"
            log(f"Extra measurement: {name}")
            try:
                results.update(measure(context))
            except Exception as exc:  # noqa: BLE001 - one broken extra must not lose the rest
                log(f"{name} failed: {type(exc).__name__}: {exc}")
                details.setdefault("extra_errors", {})[name] = f"{type(exc).__name__}: {exc}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        if district is not None:
            forget(district)
    return {**results, "details": details}
