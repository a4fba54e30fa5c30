"""The simulated provider's state: the district, credentials and tokens, views, faults,
the gradebook, and the mutation/scenario entry points other tests and the demo call.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from array import array
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from sandbox.oneroster import mutations
from sandbox.oneroster.faults import Faults
from sandbox.oneroster.generator import (
    ROLE_PREFIXES,
    STATUS_NAMES,
    STUDENT,
    TEACHER,
    District,
    Session,
    generate_district,
)
from sandbox.oneroster.gradebook import Gradebook
from sandbox.oneroster.query import OPERATORS, Filter, Predicate, predicate_holds
from sandbox.oneroster.render import SESSIONS_PER_SCHOOL, Renderer, identity_guid

#: IC's documented maximum page size (raised from 10,000 in Campus.1645).
MAX_LIMIT = 50_000
DEFAULT_LIMIT = 100
#: Collections that list the academicSessions of one type.
SESSION_TYPE_COLLECTIONS = {"terms": "term", "gradingPeriods": "gradingPeriod"}
SCENARIOS = ("next_night", "empty_feed", "restore_feed", "mass_drop", "renumber_sections")


@dataclass(frozen=True)
class Credentials:
    """What the district (client id/secret) and the partner program (vendor key) hand out."""

    app_name: str
    client_id: str
    client_secret: str
    vendor_key: str
    vendor_secret: str

    @classmethod
    def generate(cls, *, app_name: str, seed: int | None = None) -> Credentials:
        """Random per start; derived from ``seed`` only when a demo asks for fixed ones."""

        def make(label: str) -> str:
            if seed is None:
                return secrets.token_urlsafe(24)
            return hashlib.sha256(f"rosterbridge-sandbox:{seed}:{label}".encode()).hexdigest()[:32]

        return cls(
            app_name=app_name,
            client_id=f"{app_name}_{make('client_id')[:16]}",
            client_secret=make("client_secret"),
            vendor_key=f"InfiniteCampus_{make('vendor_key')[:16]}",
            vendor_secret=make("vendor_secret"),
        )


class OneRosterState:
    """Thread-safe state of one simulated IC. Mutations bump ``district.version``; views
    (lists of row indexes per collection, filter and nesting) are cached per version."""

    def __init__(
        self,
        district: District,
        *,
        credentials: Credentials | None = None,
        secrets_seed: int | None = None,
        token_ttl: int = 3600,
    ) -> None:
        self.lock = threading.RLock()
        self.credentials = credentials or Credentials.generate(
            app_name=district.slug, seed=secrets_seed
        )
        self.token_ttl = token_ttl
        self.max_limit = MAX_LIMIT
        self.send_links = True
        self.send_total = True
        self.oauth1_enabled = True
        self.faults = Faults()
        self.requests: deque[tuple[str, str, str]] = deque(maxlen=5000)
        self.request_counts: Counter[str] = Counter()
        self._tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.in_flight = 0
        self.max_in_flight = 0  # the most API requests served at once (tests read it)
        self._nonces: dict[tuple[str, str], float] = {}
        self._install(district)

    def _install(self, district: District) -> None:
        self.district = district
        self.renderer = Renderer(district)
        self.rng = random.Random(district.seed + 7)
        self.empty_feed = False
        self._views: dict[tuple, tuple[int, Sequence[int]]] = {}
        self._maps: dict[str, tuple[int, dict]] = {}
        self.gradebook = Gradebook(
            district,
            find_class=lambda sid: self.find("classes", sid),
            find_user=lambda sid: self.find("users", sid),
            class_students=self.class_students,
        )

    def enter_request(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave_request(self) -> None:
        with self.lock:
            self.in_flight -= 1

    # --- tokens and OAuth 1.0a nonces ----------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            now = time.monotonic()
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + self.token_ttl
            self.tokens_issued += 1
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            expiry = self._tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def expire_tokens(self) -> None:
        with self.lock:
            self._tokens.clear()

    def nonce_fresh(self, client_key: str, nonce: str, timestamp: str) -> bool:
        """OAuth 1.0a replay check: a (key, nonce) pair is accepted once."""
        with self.lock:
            now = time.time()
            if len(self._nonces) > 100_000:
                self._nonces = {k: t for k, t in self._nonces.items() if t > now - 900}
            key = (client_key, nonce)
            if key in self._nonces:
                return False
            self._nonces[key] = now
            return True

    # --- lookups -------------------------------------------------------------------------

    def find(self, kind: str, sourced_id: str) -> int | None:
        """Row index of a live record by sourcedId, or ``None``."""
        d = self.district
        if kind == "orgs":
            if sourced_id == d.sourced_id:
                return 0
            return next((s.index + 1 for s in d.schools if s.sourced_id == sourced_id), None)
        if kind == "academicSessions":
            for s in d.schools:
                for k, session in enumerate(s.sessions):
                    if session.sourced_id == sourced_id:
                        return s.index * SESSIONS_PER_SCHOOL + k
            return None
        if kind == "demographics":
            index = self._map("demographics").get(sourced_id)
            return index if index is not None and d.user_alive[index] else None
        ids, alive = {
            "users": (d.user_pid, d.user_alive),
            "enrollments": (d.enr_id, d.enr_alive),
            "classes": (d.class_id, d.class_alive),
            "courses": (d.course_id, d.course_alive),
        }[kind]
        text = sourced_id
        if kind in ("users", "enrollments"):
            text = sourced_id[1:]
        if not text.isdigit() or len(text) > 12:
            return None
        number = int(text)
        index = self._index_of(kind, ids, number)
        if index is None or not alive[index]:
            return None
        if kind == "users" and ROLE_PREFIXES[d.user_role[index]] != sourced_id[0]:
            return None
        if kind == "enrollments" and d.enrollment_sourced_id(index) != sourced_id:
            return None
        return index

    def _index_of(self, kind: str, ids: array, number: int) -> int | None:
        for first_id, first_index, count in self.district.id_ranges.get(kind, []):
            if first_id <= number < first_id + count:
                index = first_index + number - first_id
                if ids[index] == number:
                    return index
        return self._map(kind).get(number)

    def _map(self, kind: str) -> dict:
        """Ids not at their generated position (added or re-numbered rows), per version."""
        d = self.district
        cached = self._maps.get(kind)
        if cached is not None and cached[0] == d.version:
            return cached[1]
        if kind == "demographics":
            mapping = {
                identity_guid(d.seed, d.user_pid[i]): i
                for i in range(len(d.user_pid))
                if d.user_role[i] == STUDENT
            }
        else:
            ids = {"users": d.user_pid, "enrollments": d.enr_id, "classes": d.class_id,
                   "courses": d.course_id}[kind]  # fmt: skip
            expected = [0] * len(ids)
            for first_id, first_index, count in d.id_ranges.get(kind, []):
                expected[first_index : first_index + count] = range(first_id, first_id + count)
            mapping = {ids[i]: i for i in range(len(ids)) if ids[i] != expected[i]}
        self._maps[kind] = (d.version, mapping)
        return mapping

    # --- views: ordered row indexes ------------------------------------------------------

    def view(self, key: tuple, build: Callable[[], Sequence[int]]) -> Sequence[int]:
        with self.lock:
            version = self.district.version
            cached = self._views.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            rows = build()
            if len(self._views) > 256:
                self._views.clear()
            self._views[key] = (version, rows)
            return rows

    def collection_rows(self, collection: str) -> Sequence[int]:
        """Rows of a top-level collection, in paging order."""
        if self.empty_feed:
            return ()
        d = self.district
        n_schools = len(d.schools)
        if collection == "orgs":
            return range(n_schools + 1)
        if collection == "schools":
            return range(1, n_schools + 1)
        if collection == "academicSessions":
            return range(n_schools * SESSIONS_PER_SCHOOL)
        if collection in SESSION_TYPE_COLLECTIONS:
            return self.view((collection,), lambda: self.sessions_of_type(collection))
        builders = {
            "courses": lambda: _alive(d.course_alive),
            "classes": lambda: _alive(d.class_alive),
            "users": lambda: _alive(d.user_alive),
            "students": lambda: _alive(d.user_alive, d.user_role, STUDENT),
            "teachers": lambda: _alive(d.user_alive, d.user_role, TEACHER),
            "enrollments": lambda: _alive(d.enr_alive),
            "demographics": lambda: _alive(d.user_alive, d.user_role, STUDENT),
        }
        return self.view((collection,), builders[collection])

    def sessions_of_type(self, collection: str, school: int | None = None) -> list[int]:
        """``academicSessions`` rows of the type a collection serves (``terms``, ...)."""
        wanted = SESSION_TYPE_COLLECTIONS[collection]
        schools = self.district.schools if school is None else [self.district.schools[school]]
        return [
            s.index * SESSIONS_PER_SCHOOL + k
            for s in schools
            for k, session in enumerate(s.sessions)
            if session.type == wanted
        ]

    def session(self, index: int) -> Session:
        school, k = divmod(index, SESSIONS_PER_SCHOOL)
        return self.district.schools[school].sessions[k]

    def records(self, kind: str, key: tuple, rows: Sequence[int], base: str) -> list[dict]:
        """The rows rendered and parsed, for queries the columns cannot answer (cached per
        version and base URL, like the views)."""

        def build() -> list[dict]:
            with self.lock:
                return [orjson.loads(text) for text in self.renderer.records(kind, rows, base)]

        return self.view((*key, "records", base), build)  # type: ignore[return-value]

    def filter_rows(self, kind: str, key: tuple, rows: Sequence[int], flt: Filter) -> Sequence[int]:
        """Rows matching a parsed filter, computed per predicate over the columns."""

        def build() -> Sequence[int]:
            matched = [set(self._match(kind, rows, p)) for p in flt.predicates]
            keep = set.intersection(*matched) if flt.join == "AND" else set.union(*matched)
            return array("i", [i for i in rows if i in keep])

        return self.view((*key, "filter", flt), build)

    def sorted_rows(
        self, kind: str, key: tuple, rows: Sequence[int], field: str, descending: bool
    ) -> Sequence[int]:
        """Rows ordered by a column field (``sourcedId``, ``dateLastModified``, ``status``)."""
        modified, status = self._columns(kind)
        sort_key: Callable[[int], object] = {
            "sourcedId": lambda i: self.sourced_id(kind, i),
            "dateLastModified": modified,
            "status": lambda i: STATUS_NAMES[status(i)],
        }[field]

        def build() -> Sequence[int]:
            return array("i", sorted(rows, key=sort_key, reverse=descending))

        return self.view((*key, "sort", field, descending), build)

    def _match(self, kind: str, rows: Sequence[int], p: Predicate) -> list[int]:
        modified, status = self._columns(kind)
        if p.field == "dateLastModified":
            op, value = OPERATORS[p.op], p.number
            return [i for i in rows if op(modified(i), value)]
        if p.field == "status":
            return [i for i in rows if predicate_holds(p, STATUS_NAMES[status(i)])]
        return [i for i in rows if predicate_holds(p, self.sourced_id(kind, i))]

    def _columns(self, kind: str) -> tuple[Callable[[int], int], Callable[[int], int]]:
        d = self.district

        def session_modified(i: int) -> int:
            return d.schools[i // SESSIONS_PER_SCHOOL].modified

        table = {
            "orgs": (lambda i: d.schools[max(0, i - 1)].modified, lambda i: 0),
            "academicSessions": (session_modified, lambda i: 0),
            "courses": (d.course_modified.__getitem__, d.course_status.__getitem__),
            "classes": (d.class_modified.__getitem__, d.class_status.__getitem__),
            "users": (d.user_modified.__getitem__, d.user_status.__getitem__),
            "demographics": (d.user_modified.__getitem__, d.user_status.__getitem__),
            "enrollments": (d.enr_modified.__getitem__, d.enr_status.__getitem__),
        }
        return table[kind]

    def sourced_id(self, kind: str, i: int) -> str:
        d = self.district
        if kind == "orgs":
            return d.sourced_id if i == 0 else d.schools[i - 1].sourced_id
        if kind == "academicSessions":
            return d.schools[i // SESSIONS_PER_SCHOOL].sessions[i % SESSIONS_PER_SCHOOL].sourced_id
        if kind == "courses":
            return str(d.course_id[i])
        if kind == "classes":
            return str(d.class_id[i])
        if kind == "users":
            return d.user_sourced_id(i)
        if kind == "demographics":
            return identity_guid(d.seed, d.user_pid[i])
        return d.enrollment_sourced_id(i)

    # --- relationships (for nested endpoints and gradebook rules) ------------------------

    def class_enrollments(self, class_index: int) -> Sequence[int]:
        d = self.district

        def build() -> dict[int, list[int]]:
            by_class: dict[int, list[int]] = {}
            for e in range(len(d.enr_id)):
                if d.enr_alive[e]:
                    by_class.setdefault(d.enr_class[e], []).append(e)
            return by_class

        return self.view(("by_class",), build).get(class_index, [])  # type: ignore[union-attr]

    def user_enrollments(self, user_index: int) -> Sequence[int]:
        d = self.district

        def build() -> dict[int, list[int]]:
            by_user: dict[int, list[int]] = {}
            for e in range(len(d.enr_id)):
                if d.enr_alive[e]:
                    by_user.setdefault(d.enr_user[e], []).append(e)
            return by_user

        return self.view(("by_user",), build).get(user_index, [])  # type: ignore[union-attr]

    def class_students(self, class_index: int) -> set[int]:
        d = self.district
        return {
            d.enr_user[e]
            for e in self.class_enrollments(class_index)
            if d.enr_role[e] == STUDENT and d.enr_status[e] == 0
        }

    # --- mutations and scenarios ---------------------------------------------------------

    def mutate(self, **counts: int) -> dict[str, list[str]]:
        unknown = set(counts) - set(mutations.MUTATION_KINDS)
        if unknown:
            raise ValueError(f"Unknown mutation kinds: {sorted(unknown)}")
        with self.lock:
            return mutations.apply_mutations(self.district, rng=self.rng, **counts)

    def next_night(self, *, fraction: float = 0.01) -> dict[str, list[str]]:
        with self.lock:
            return mutations.next_night(self.district, rng=self.rng, fraction=fraction)

    def scenario(self, name: str, **params) -> dict:
        """Apply a named scenario (``SCENARIOS``); returns what changed."""
        with self.lock:
            if name == "next_night":
                return self.next_night(fraction=float(params.get("fraction", 0.01)))
            if name == "empty_feed":
                self.empty_feed = True
                self.district.version += 1
                return {}
            if name == "restore_feed":
                self.empty_feed = False
                self.district.version += 1
                return {}
            if name == "mass_drop":
                return mutations.mass_drop(
                    self.district,
                    school=params.get("school"),
                    share=float(params.get("share", 0.6)),
                    rng=self.rng,
                )
            if name == "renumber_sections":
                return mutations.renumber_sections(self.district, school=params.get("school"))
        raise ValueError(f"Unknown scenario {name!r}; one of {SCENARIOS}")

    def reset(self) -> None:
        """Back to the district as generated (same seed and as_of); gradebook emptied."""
        d = self.district
        fresh = generate_district(
            schools=len(d.schools),
            students=d.id_ranges["users"][1][2],
            seed=d.seed,
            as_of=d.as_of,
            guardians=d.id_ranges["users"][2][2] > 0,
            shape=d.shape,
        )
        with self.lock:
            self._install(fresh)
            self.faults.clear()

    def settings(self) -> dict:
        return {
            "max_limit": self.max_limit,
            "send_links": self.send_links,
            "send_total": self.send_total,
            "token_ttl": self.token_ttl,
            "oauth1_enabled": self.oauth1_enabled,
            "empty_feed": self.empty_feed,
        }


def _alive(alive: array, role: array | None = None, wanted: int = 0) -> array:
    if role is None:
        return array("i", [i for i, a in enumerate(alive) if a])
    return array("i", [i for i, a in enumerate(alive) if a and role[i] == wanted])
