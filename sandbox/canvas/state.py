"""``CanvasState``: the simulated Canvas as served: its data (``store.CanvasData``) plus
the access tokens, the per-token throttle and the SIS import worker."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.canvas.imports import ImportRunner
from sandbox.canvas.store import CanvasData
from sandbox.canvas.throttle import LeakyBucket

#: What the main token may do; ``issue_token`` hands out narrower ones for tests.
ALL_PERMISSIONS = frozenset(
    {"import_sis", "manage_sis", "read_sis", "read_roster", "view_all_grades", "manage_grades"}
)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    user_id: int
    permissions: frozenset[str]


class CanvasState(CanvasData):
    """Everything the simulated Canvas knows and serves, for one root account.

    ``token`` is the admin token the API and the controls accept; ``issue_token`` adds
    narrower ones. ``now`` (timestamps) and ``monotonic`` (throttling) are injectable.
    """

    def __init__(
        self,
        account_id: str = "1",
        token: str | None = None,
        *,
        account_name: str = "Sandbox District",
        now: Callable[[], dt.datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        throttle: dict[str, float] | None = None,
    ) -> None:
        super().__init__(account_id, account_name=account_name, now=now)
        self.token = token or secrets.token_urlsafe(32)
        self.monotonic = monotonic
        self.throttle_settings = dict(throttle or {})
        self._buckets: dict[str, LeakyBucket] = {}
        self._forced_throttles: list[str | None] = []
        self.sis_imports_enabled = True
        self.tokens: dict[str, TokenInfo] = {self.token: TokenInfo(self.admin.id, ALL_PERMISSIONS)}
        #: Runs SIS imports one at a time; its thread starts with the first import.
        self.runner = ImportRunner(self)

    # --- tokens and throttling ---------------------------------------------------------

    def issue_token(self, permissions: frozenset[str] | set[str] = frozenset()) -> str:
        """A new token for the admin user with only the given permissions."""
        token = secrets.token_urlsafe(24)
        self.tokens[token] = TokenInfo(self.admin.id, frozenset(permissions))
        return token

    def bucket(self, token: str) -> LeakyBucket:
        with self.lock:
            bucket = self._buckets.get(token)
            if bucket is None:
                bucket = LeakyBucket(clock=self.monotonic, **self.throttle_settings)
                self._buckets[token] = bucket
            return bucket

    def throttle_next(self, count: int, *, method: str | None = None) -> None:
        """Answer the next ``count`` API requests (of ``method`` only, when given) with
        403 Rate Limit Exceeded, whatever the bucket says."""
        with self.lock:
            self._forced_throttles.extend([method.upper() if method else None] * count)

    def take_forced_throttle(self, method: str) -> bool:
        with self.lock:
            for index, wanted in enumerate(self._forced_throttles):
                if wanted is None or wanted == method:
                    del self._forced_throttles[index]
                    return True
            return False

    def close(self) -> None:
        """Stop the import worker, if one was started."""
        self.runner.stop()
