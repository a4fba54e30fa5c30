"""Fault injection for the simulated provider: each rule hits the next N matching requests.

Kinds (``FaultRule.kind``):

- ``status``: answer ``status`` (429 with ``Retry-After: retry_after``, 500, 502, 503, 504,
  400...) with an imsx body.
- ``slow``: wait ``delay`` seconds, then answer normally.
- ``truncate``: announce the full ``Content-Length`` but close the connection halfway
  (a transport error the client retries).
- ``truncate_unframed``: no ``Content-Length``, close halfway: the body *looks* complete
  to HTTP and is cut-off JSON (a protocol error).
- ``malformed``: 200 with a body that is not JSON.
- ``wrong_envelope``: 200 with valid JSON under the wrong key.
- ``total_drift``: report ``X-Total-Count`` off by ``delta`` (after ``skip`` requests: the
  total changes in the middle of a read).
- ``short_page``: return only the first half of the requested page (a short page that is
  not the last one).
- ``duplicate``: start the page one record early (the previous page's last record
  repeats, as when records shift during offset paging).
- ``expire_tokens``: revoke every bearer token just before answering (a token expiring
  in the middle of a long read).
- ``field_value``: set ``field`` to ``value`` in every record of the page (a provider that
  sends a field in a shape of its own, e.g. ``beginDate`` as ``"17/08/2026"``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = frozenset(
    {
        "status",
        "slow",
        "truncate",
        "truncate_unframed",
        "malformed",
        "wrong_envelope",
        "total_drift",
        "short_page",
        "duplicate",
        "expire_tokens",
        "field_value",
    }
)


@dataclass
class FaultRule:
    kind: str
    count: int = 1  # how many matching requests it hits; -1 = every one
    skip: int = 0  # matching requests to let through first
    match: str = ""  # substring of the path after the base (e.g. "enrollments")
    method: str = ""  # "" = any
    status: int = 503
    retry_after: float | None = None
    delay: float = 0.0
    delta: int = 5
    field: str = ""  # field_value: the record field to set, and its value
    value: object = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")

    @classmethod
    def from_json(cls, data: dict) -> FaultRule:
        allowed = set(cls.__dataclass_fields__)
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"Unknown fault fields: {sorted(unknown)}")
        return cls(**data)


class Faults:
    """The active rules; thread-safe; the first rule that matches a request takes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self.fired: list[str] = []

    def set(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def take(self, method: str, path: str, *, explicit_only: bool = False) -> FaultRule | None:
        """The rule that hits this request, if any. ``explicit_only``: only rules whose
        ``match`` names the path (the token endpoint is hit only when asked for)."""
        with self._lock:
            for rule in self._rules:
                if rule.count == 0:
                    continue
                if explicit_only and not rule.match:
                    continue
                if rule.match and rule.match not in path:
                    continue
                if rule.method and rule.method.upper() != method:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.count > 0:
                    rule.count -= 1
                self.fired.append(rule.kind)
                return rule
            return None

    def describe(self) -> list[dict]:
        with self._lock:
            return [dict(vars(r)) for r in self._rules]
