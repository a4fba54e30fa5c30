"""Measure OneRoster reads: the honest floor, the sandbox's raw serving, and the client.

One floor definition (DESIGN §8), used by this command and by ``manage.py benchmark``:

- ``measure_floors(config, runs=N)``: after one discarded warm-up read (it fills the
  sandbox's render caches, as the runs before a measured one do), ``N`` interleaved samples
  of each of
  - the **floor**: a bare loop that pages through every rostering collection and parses
    each page with ``response.json()``, nothing else — with the client's own process
    settings (the relaxed GC threshold of ``paging.RelaxedGC``) and the client's
    concurrency (``config.concurrency`` requests in flight, pages parsed in the fetching
    threads as the client does);
  - **raw** serving: the same pages at the same concurrency, bytes off the socket, not
    parsed: the absolute limit any reader of this sandbox has.
  ``floor_s`` and ``raw_s`` are the minima (the machine is shared; a neighbour's burst
  should not decide a ratio); the samples are kept as ``floor_runs`` and ``raw_runs``.
- ``measure_client_read(config)``: ``OneRosterClient.stream_many`` over the same
  collections (validation, typed records, paging checks): (seconds, records, peak RSS MB).

Command line (starts its own sandbox in a subprocess; ``manage.py`` only loads settings):

    .venv/bin/python -m integration.oneroster.benchmark --students 300000 --schools 370
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil
import requests

from integration.oneroster.client import OneRosterClient, OneRosterConfig
from integration.oneroster.paging import RelaxedGC
from integration.oneroster.parse import COLLECTION_KEYS
from integration.oneroster.records import PagingAnomaly

#: What provisioning reads (DESIGN §4): every rostering collection but demographics.
ROSTER_READ = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")
READ_TIMEOUT = (10.0, 300.0)
#: Samples of each figure; DESIGN §8 asks for at least 3.
FLOOR_RUNS = 3

#: What a bare loop does with a page: (records on it, bytes of it).
PageHandler = Callable[[requests.Response, str], tuple[int, int]]


def _bearer(config: OneRosterConfig) -> dict[str, str]:
    with requests.Session() as session:
        response = session.post(
            config.token_url,
            data={"grant_type": "client_credentials"},
            auth=(config.client_id, config.client_secret),
            timeout=READ_TIMEOUT,
        )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _parse_json(response: requests.Response, collection: str) -> tuple[int, int]:
    return len(response.json()[COLLECTION_KEYS[collection]]), len(response.content)


def _parse_orjson(response: requests.Response, collection: str) -> tuple[int, int]:
    return len(orjson.loads(response.content)[COLLECTION_KEYS[collection]]), len(response.content)


def _raw(response: requests.Response, collection: str) -> tuple[int, int]:
    body = response.content
    # Counting record starts is enough here: every record has exactly one sourcedId at its
    # top level, and nested references hold theirs after an href.
    return body.count(b'{"sourcedId"'), len(body)


PARSERS: dict[str, PageHandler] = {"json": _parse_json, "orjson": _parse_orjson}


@dataclass(frozen=True, slots=True)
class BareRead:
    seconds: float
    records: int
    bytes: int


def bare_read(
    config: OneRosterConfig, handle: PageHandler, collections: Sequence[str] = ROSTER_READ
) -> BareRead:
    """Every page of ``collections`` through ``handle``, ``config.concurrency`` requests in
    flight, under the client's GC setting. The first page of a collection tells its total
    (``X-Total-Count``); its other pages are then requested by offset, as the client does."""
    headers = _bearer(config)
    base = config.base_url.rstrip("/")
    sessions: queue.SimpleQueue[requests.Session] = queue.SimpleQueue()
    for _ in range(config.concurrency):
        sessions.put(requests.Session())

    def fetch(collection: str, offset: int) -> tuple[str, int, int, int, int]:
        session = sessions.get()
        try:
            response = session.get(
                f"{base}/{collection}",
                params={"limit": config.page_size, "offset": offset},
                headers=headers,
                timeout=READ_TIMEOUT,
            )
        finally:
            sessions.put(session)
        response.raise_for_status()
        records, size = handle(response, collection)
        total = int(response.headers.get("X-Total-Count", "0"))
        return collection, offset, records, size, total

    records = size = 0
    with RelaxedGC(), ThreadPoolExecutor(max_workers=config.concurrency) as pool:
        started = time.perf_counter()
        pending: set[Future] = {pool.submit(fetch, c, 0) for c in collections}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                collection, offset, count, page_bytes, total = future.result()
                records += count
                size += page_bytes
                if offset == 0 and count:
                    # The first page's length is the server's effective page size.
                    pending |= {
                        pool.submit(fetch, collection, at) for at in range(count, total, count)
                    }
        elapsed = time.perf_counter() - started
    while not sessions.empty():
        sessions.get().close()
    return BareRead(elapsed, records, size)


@dataclass(frozen=True, slots=True)
class Floors:
    """The warm samples of the decode floor and of raw serving (seconds each)."""

    floor_runs: list[float]
    raw_runs: list[float]
    records: int
    bytes: int
    warmup_s: float

    @property
    def floor_s(self) -> float:
        return min(self.floor_runs)

    @property
    def raw_s(self) -> float:
        return min(self.raw_runs)

    def figures(self) -> dict[str, Any]:
        """The keys both benchmark commands write (DESIGN §6)."""
        return {
            "floor_s": round(self.floor_s, 2),
            "raw_s": round(self.raw_s, 2),
            "floor_runs": [round(s, 2) for s in self.floor_runs],
            "raw_runs": [round(s, 2) for s in self.raw_runs],
            "floor_warmup_s": round(self.warmup_s, 2),
            "floor_records": self.records,
            "floor_mb": round(self.bytes / 1_048_576, 1),
        }


def measure_floors(
    config: OneRosterConfig, collections: Sequence[str] = ROSTER_READ, *, runs: int = FLOOR_RUNS
) -> Floors:
    """DESIGN §8's floor and raw serving (module docstring), ``runs`` samples of each."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    warmup = bare_read(config, _raw, collections)
    floor_runs, raw_runs = [], []
    parsed = raw = warmup
    for _ in range(runs):
        parsed = bare_read(config, _parse_json, collections)
        raw = bare_read(config, _raw, collections)
        if parsed.records != raw.records:
            raise RuntimeError(
                f"the floor parsed {parsed.records} records, raw serving counted {raw.records}"
            )
        floor_runs.append(parsed.seconds)
        raw_runs.append(raw.seconds)
    return Floors(floor_runs, raw_runs, parsed.records, raw.bytes, warmup.seconds)


def ratios(seconds: float, floors: Floors) -> dict[str, float]:
    """``seconds`` against the decode floor and against raw serving."""
    return {
        "vs_floor": round(seconds / floors.floor_s, 3),
        "vs_raw": round(seconds / floors.raw_s, 3),
    }


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

ROOT = Path(__file__).resolve().parents[2]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _commit() -> str:
    """The checked-out commit, ``+dirty`` when tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


class RunConditions:
    """Where and how a benchmark ran: machine, commit, command, date, and the load average
    around it (``busy`` when the 1-minute load exceeded the cores at either end: other work
    shared the machine, so absolute times are high and ratios noisy)."""

    def __init__(self, command: Sequence[str]) -> None:
        self.command = " ".join(command)
        self.started = dt.datetime.now(dt.UTC)
        self.load_start = os.getloadavg()[0]

    def record(self, note: str = "") -> dict[str, Any]:
        cores = os.cpu_count() or 1
        load_end = os.getloadavg()[0]
        return {
            "date": self.started.isoformat(timespec="seconds"),
            "commit": _commit(),
            "command": self.command,
            "machine": {
                "cores": cores,
                "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
                "cpu_model": _cpu_model(),
                "python": platform.python_version(),
            },
            "load_avg": [round(self.load_start, 2), round(load_end, 2)],
            "busy": max(self.load_start, load_end) > cores,
            "note": note,
        }


def sandbox_start(
    *, students: int, schools: int, seed: int, canvas: bool = True, latency_ms: float = 0.0
) -> tuple[subprocess.Popen, dict]:
    """``manage.py sandbox serve`` in its own process (``canvas=False``: the OneRoster half
    alone; ``latency_ms``: every API answer held back that long); returns the process and
    its JSON line."""
    manage = ROOT / "manage.py"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "integration.settings.test"}
    command = [sys.executable, str(manage), "sandbox", "serve"]
    command += [] if canvas else ["--no-canvas"]
    command += ["--students", str(students), "--schools", str(schools), "--seed", str(seed)]
    command += ["--latency-ms", str(latency_ms)] if latency_ms else []
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
    # The client's default (ONEROSTER_CONCURRENCY); the floor runs at the same.
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=FLOOR_RUNS, help="samples of each")
    parser.add_argument("--json", dest="json_file", default=None)
    parser.add_argument("--note", default="", help="Stored with the figures (conditions)")
    args = parser.parse_args(argv)
    conditions = RunConditions(
        [
            "python",
            "-m",
            __spec__.name if __spec__ else __name__,
            *(sys.argv[1:] if argv is None else argv),
        ]
    )
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
        floors = measure_floors(config, runs=args.repeat)
        reads = []
        for _ in range(args.repeat):
            ours, theirs = time.process_time(), sum(server.cpu_times()[:2])
            seconds, records, peak_mb = measure_client_read(config)
            cpu = (time.process_time() - ours, sum(server.cpu_times()[:2]) - theirs)
            reads.append((seconds, records, peak_mb, cpu))
        client_s, records, _, (client_cpu, client_server_cpu) = min(reads)
        sandbox_mb = server.memory_info().rss / 1_048_576
    finally:
        process.terminate()
        process.wait(timeout=30)
    client = ratios(client_s, floors)
    result = {
        "students": args.students,
        "schools": args.schools,
        "page_size": args.page_size,
        "concurrency": args.concurrency,
        "repeat": args.repeat,
        "sandbox_start_s": round(startup, 2),
        "sandbox_rss_mb": round(sandbox_mb, 1),
        **floors.figures(),
        "client_read_s": round(client_s, 2),
        "client_runs": [round(r[0], 2) for r in reads],
        "client_records": records,
        "client_vs_floor": client["vs_floor"],
        "client_vs_raw": client["vs_raw"],
        "client_peak_rss_mb": round(max(r[2] for r in reads), 1),
        # CPU seconds of the best client read, for this process and for the sandbox.
        "client_cpu_s": round(client_cpu, 2),
        "client_sandbox_cpu_s": round(client_server_cpu, 2),
        **conditions.record(args.note),
    }
    text = json.dumps(result, indent=2)
    if args.json_file:
        Path(args.json_file).write_text(text + "\n")
    sys.stdout.write(text + "\n")
    sys.stderr.write(
        f"floor {floors.floor_s:.2f} s, raw serving {floors.raw_s:.2f} s; client read "
        f"{client_s:.2f} s = {client['vs_floor']} x floor, {client['vs_raw']} x raw\n"
    )


if __name__ == "__main__":
    main()
