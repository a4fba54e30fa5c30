"""Test helpers: run passbacks in process, record what reached the simulated IC, and read
the simulated Canvas's coursework back."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

import orjson

from gradepassback.services.runs import passback_run_create, passback_run_execute
from runs.models import SyncRun
from tenants.models import District

GRADEBOOK_HEADS = ("lineItems", "results", "categories")


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # after the OneRoster base, e.g. "lineItems/<id>"
    vendor: str | None
    body: Any

    @property
    def gradebook(self) -> bool:
        parts = self.path.split("/")
        return parts[0] in GRADEBOOK_HEADS or (
            parts[0] == "classes" and len(parts) >= 3 and parts[2] in ("lineItems", "results")
        )

    @property
    def sourced_id(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class Recorder:
    """Wraps the sandbox server's WSGI app and keeps every OneRoster API request."""

    def __init__(self, sandbox) -> None:
        self.app = sandbox.server.app
        self.marker = "/ims/oneroster/v1p1/"
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        sandbox.server.app = self

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if self.marker in path:
            body = environ["wsgi.input"].read()
            environ["wsgi.input"] = io.BytesIO(body)
            call = Call(
                method=environ["REQUEST_METHOD"],
                path=path.split(self.marker, 1)[1],
                vendor=environ.get("HTTP_X_VENDOR_AUTHORIZATION"),
                body=orjson.loads(body) if body else None,
            )
            with self._lock:
                self.calls.append(call)
        return self.app(environ, start_response)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.method in ("PUT", "DELETE")]

    def puts(self, head: str) -> dict[str, Any]:
        """sourcedId → body of every PUT to ``lineItems`` or ``results`` (the last wins)."""
        return {
            c.sourced_id: c.body[head[:-1]]
            for c in self.calls
            if c.method == "PUT" and c.path.startswith(head + "/")
        }


def passback(district: District, **kwargs: Any) -> SyncRun:
    run = passback_run_create(
        district=district, trigger=SyncRun.Trigger.CLI, actor_label="test", **kwargs
    )
    return passback_run_execute(run=run)


def canvas_course(sandbox, sis_course_id: str):
    return sandbox.canvas.courses_by_sis[sis_course_id]


def course_assignments(sandbox, sis_course_id: str) -> dict[str, Any]:
    """Assignment name → the simulated Canvas's assignment of that course."""
    state = sandbox.canvas
    course = canvas_course(sandbox, sis_course_id)
    return {
        state.assignments[a].name: state.assignments[a]
        for a in state.course_assignments.get(course.id, [])
    }


def class_with_quarters(sandbox, quarters: set[int]) -> str:
    """The sourcedId of a generated class taught in exactly these quarters (0-based)."""
    d = sandbox.generated
    mask = sum(1 << q for q in quarters)
    for index, class_id in enumerate(d.class_id):
        if d.class_mask[index] == mask and d.class_alive[index]:
            return str(class_id)
    raise AssertionError(f"no class in quarters {sorted(quarters)}")


def quarter(sandbox, class_sid: str, number: int):
    d = sandbox.generated
    index = [str(c) for c in d.class_id].index(class_sid)
    return d.schools[d.class_school[index]].quarters[number]
