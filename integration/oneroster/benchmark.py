"""Measure OneRoster reads: the sandbox's serving rate, the floor, and the client.

- ``measure_serving(config)``: pages of every rostering collection fetched as raw bytes
  (no JSON parsing): how fast the provider serves. It must beat the floor by a margin, or
  the benchmark measures the sandbox.
- ``measure_floor(config)``: DESIGN §8's floor, a bare serial loop — ``requests`` + JSON
  parsing of every page of every rostering collection, nothing else.
- ``measure_client_read(config)``: ``OneRosterClient.stream_many`` over the same
  collections (validation, typed records, paging checks, ``config.concurrency`` in
  flight): (seconds, records, peak RSS in MB sampled during the read).

Command line (starts its own sandbox in a subprocess; needs DATABASE_URL and REDIS_URL in
the environment only because ``manage.py`` loads the settings):

    .venv/bin/python -m integration.oneroster.benchmark --students 300000 --schools 370
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import psutil
import requests

from integration.oneroster.client import OneRosterClient, OneRosterConfig
from integration.oneroster.parse import COLLECTION_KEYS
from integration.oneroster.records import PagingAnomaly

#: What provisioning reads (DESIGN §4): every rostering collection but demographics.
ROSTER_READ = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")
READ_TIMEOUT = (10.0, 300.0)


def _bearer(config: OneRosterConfig, session: requests.Session) -> dict[str, str]:
    response = session.post(
        config.token_url,
        data={"grant_type": "client_credentials"},
        auth=(config.client_id, config.client_secret),
        timeout=READ_TIMEOUT,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _bare_loop(
    config: OneRosterConfig,
    collections: Sequence[str],
    handle: Callable[[requests.Response, str], int],
) -> tuple[float, int]:
    session = requests.Session()
    headers = _bearer(config, session)
    base = config.base_url.rstrip("/")
    records = 0
    started = time.perf_counter()
    for collection in collections:
        offset = 0
        while True:
            response = session.get(
                f"{base}/{collection}",
                params={"limit": config.page_size, "offset": offset},
                headers=headers,
                timeout=READ_TIMEOUT,
            )
            response.raise_for_status()
            count = handle(response, collection)
            records += count
            offset += count
            total = int(response.headers.get("X-Total-Count", "0"))
            if count == 0 or offset >= total:
                break
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed, records


def measure_floor(
    config: OneRosterConfig, collections: Sequence[str] = ROSTER_READ, *, parser: str = "json"
) -> float:
    """Seconds for the bare loop. ``parser``: ``json`` (what ``response.json()`` does, the
    loop anyone would write first) or ``orjson`` (the fastest parser installed)."""

    def parse(response: requests.Response, collection: str) -> int:
        body = response.json() if parser == "json" else orjson.loads(response.content)
        return len(body[COLLECTION_KEYS[collection]])

    return _bare_loop(config, collections, parse)[0]


def measure_serving(
    config: OneRosterConfig, collections: Sequence[str] = ROSTER_READ
) -> tuple[float, int, int]:
    """(seconds, records, bytes) to fetch every page without parsing it."""
    sizes = [0]

    def count(response: requests.Response, collection: str) -> int:
        body = response.content
        sizes[0] += len(body)
        # Counting record starts is enough here: every record has exactly one sourcedId
        # at its top level, and nested references hold theirs after an href.
        return body.count(b'{"sourcedId"')

    seconds, records = _bare_loop(config, collections, count)
    return seconds, records, sizes[0]


class PeakRss:
    """Samples this process's RSS in a thread; ``peak_mb`` is the highest seen."""

    def __init__(self, interval: float = 0.02) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return self.peak / 1_048_576


def measure_client_read(
    config: OneRosterConfig, collections: Sequence[str] = ROSTER_READ
) -> tuple[float, int, float]:
    """(seconds, records, peak RSS MB) for the client's full read of ``collections``."""
    records = 0
    with OneRosterClient(config) as client:
        client.fetch_token()
        with PeakRss() as rss:
            started = time.perf_counter()
            for _, item in client.stream_many([(c, None) for c in collections]):
                if not isinstance(item, PagingAnomaly):
                    records += 1
            elapsed = time.perf_counter() - started
    return elapsed, records, rss.peak_mb


# --- command line ---------------------------------------------------------------------------


def sandbox_start(
    *, students: int, schools: int, seed: int, canvas: bool = True
) -> tuple[subprocess.Popen, dict]:
    """``manage.py sandbox serve`` in its own process (``canvas=False``: the OneRoster half
    alone); returns the process and its JSON line."""
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "integration.settings.test"}
    command = [sys.executable, str(manage), "sandbox", "serve"]
    command += [] if canvas else ["--no-canvas"]
    command += ["--students", str(students), "--schools", str(schools), "--seed", str(seed)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)  # noqa: S603
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("The sandbox did not start (see its output above).")
    return process, json.loads(line)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=300_000)
    parser.add_argument("--schools", type=int, default=370)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; best is kept")
    parser.add_argument("--json", dest="json_file", default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    process, info = sandbox_start(
        students=args.students, schools=args.schools, seed=args.seed, canvas=False
    )
    startup = time.perf_counter() - started
    try:
        config = OneRosterConfig(
            base_url=info["oneroster_url"],
            token_url=info["token_url"],
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            page_size=args.page_size,
            concurrency=args.concurrency,
            allow_private=True,
            connect_timeout=10.0,
            read_timeout=300.0,
        )
        server = psutil.Process(process.pid)

        def cpu(measure: Callable[[], Any]) -> tuple[Any, float, float]:
            """(result, CPU seconds of this process, CPU seconds of the sandbox)."""
            ours, theirs = time.process_time(), sum(server.cpu_times()[:2])
            result = measure()
            return result, time.process_time() - ours, sum(server.cpu_times()[:2]) - theirs

        serving_s, served, size = measure_serving(config)
        # Interleaved repeats, best of each: the development machine is shared, and a
        # neighbour's burst should not decide a ratio.
        floors, orjson_floors, reads = [], [], []
        for _ in range(args.repeat):
            floors.append(cpu(lambda: measure_floor(config)))
            orjson_floors.append(cpu(lambda: measure_floor(config, parser="orjson")))
            reads.append(cpu(lambda: measure_client_read(config)))
        floor_s, floor_cpu, floor_server_cpu = min(floors)
        floor_orjson_s = min(orjson_floors)[0]
        (client_s, records, _), client_cpu, client_server_cpu = min(reads)
        peak_mb = max(r[0][2] for r in reads)
        sandbox_mb = server.memory_info().rss / 1_048_576
    finally:
        process.terminate()
        process.wait(timeout=30)
    result = {
        "students": args.students,
        "schools": args.schools,
        "page_size": args.page_size,
        "concurrency": args.concurrency,
        "repeat": args.repeat,
        "sandbox_start_s": round(startup, 2),
        "sandbox_rss_mb": round(sandbox_mb, 1),
        "serving_s": round(serving_s, 2),
        "served_records": served,
        "served_mb": round(size / 1_048_576, 1),
        "serving_records_per_s": round(served / serving_s),
        "floor_s": round(floor_s, 2),
        "floor_orjson_s": round(floor_orjson_s, 2),
        "client_read_s": round(client_s, 2),
        "client_records": records,
        "client_vs_floor": round(client_s / floor_s, 3),
        "client_vs_orjson_floor": round(client_s / floor_orjson_s, 3),
        "client_peak_rss_mb": round(peak_mb, 1),
        # CPU seconds, independent of what else runs on the machine. The floor is serial
        # (client and sandbox take turns); the client overlaps its work with the sandbox's.
        "floor_cpu_s": round(floor_cpu, 2),
        "floor_sandbox_cpu_s": round(floor_server_cpu, 2),
        "client_cpu_s": round(client_cpu, 2),
        "client_sandbox_cpu_s": round(client_server_cpu, 2),
    }
    text = json.dumps(result, indent=2)
    if args.json_file:
        Path(args.json_file).write_text(text + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
