"""Validate, project and diff: from a run's staged records to its stored plan.

Everything here is set-based SQL over the run's workspace and the two mirrors, so the cost
grows with rows in PostgreSQL, not with Python objects:

1. *Effective roster* per collection: for a complete full read, what was read (plus the last
   good version of records that failed validation this time); otherwise the roster mirror
   overlaid with what was read. ``tobedeleted`` records leave it.
2. *Validation*: problems become ``issues`` (kind, severity, object, detail). An error holds
   its object back (not sent, not dropped); a warning is recorded and the object is sent.
3. *Projection*: the effective roster mapped onto Canvas CSV rows (DESIGN §5) with a hash.
4. *Plan*: the projection against the Canvas mirror: create, update, keep (full runs send
   every current row) and drop (a row Canvas holds that the projection no longer has and
   that is not held back). Stored in ``plan`` so an approved held run applies exactly it.
"""

# SQL here is composed from constants only: table names derived from an integer run id,
# column lists and enumerations defined in code. Every value that comes from data or from a
# district's settings is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from provisioning.mapping import (
    ENROLLMENT_ROLES,
    FILES,
    OBSERVER_ROLES,
    consolidated_term_prefix,
    provisioned_roles,
)
from provisioning.services.workspace import (
    COLLECTIONS,
    MIRROR_TABLES,
    SOURCE_COLUMNS,
    Workspace,
    field_names,
    row_hash_sql,
)

if TYPE_CHECKING:
    from provisioning.services.stage import StageResult
    from tenants.models import District

ACTIONS = ("create", "update", "keep", "drop")
#: Issue object types whose errors hold back rows of these files.
HELD_FILES = {"user": ("users",), "class": ("courses", "sections"), "enrollment": ("enrollments",)}
#: Conflict kinds every planning recomputes over the whole effective roster.
PLAN_KINDS = (
    "duplicate_login",
    "duplicate_user_id",
    "duplicate_email",
    "missing_login",
    "missing_user_id",
    "user_without_school",
    "observer_unknown_student",
    "enrollment_unknown_user",
    "enrollment_unknown_class",
    "class_unknown_school",
    "class_unknown_term",
    "class_without_teacher",
    "dates_inverted",
)
OBJECT_TYPES = {
    "orgs": "org",
    "academicSessions": "session",
    "courses": "course",
    "classes": "class",
    "users": "user",
    "enrollments": "enrollment",
}
# Large sorts and hashes (millions of enrollments) stay in memory instead of spilling.
_WORK_MEM = "256MB"


@dataclass
class PlanResult:
    """Counts of a stored plan, the guard denominators, and what validation found."""

    by_file: dict[str, dict[str, int]]
    by_school: dict[str, dict[str, dict[str, int]]]
    base_by_file: dict[str, int]
    base_by_school: dict[str, dict[str, int]]
    school_names: dict[str, str]
    conflicts: dict[str, int]
    source_counts: dict[str, int]
    mirror_counts: dict[str, int]
    high_water: dt.datetime | None
    replaced: frozenset[str] = field(default_factory=frozenset)
    # Records of each collection that failed OneRoster validation, and the first reasons.
    invalid_counts: dict[str, int] = field(default_factory=dict)
    invalid_reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def rows_to_send(self, *, send_all: bool) -> int:
        """Plan rows an import would carry: changes, plus unchanged rows when ``send_all``."""
        actions = ("create", "update", "drop", "keep") if send_all else ("create", "update", "drop")
        return sum(counts.get(action, 0) for counts in self.by_file.values() for action in actions)


def read_modes(*, full_read: bool, stage: StageResult) -> frozenset[str]:
    """Collections whose read replaces the mirror: a full read that added up."""
    if not full_read:
        return frozenset()
    return frozenset(COLLECTIONS) - stage.incomplete


def effective(ws: Workspace, collection: str, *, district_id: int, replaced: bool) -> str:
    """SQL subquery: the roster as this run sees it, for one collection.

    Columns: ``sourced_id``, ``date_last_modified`` and the collection's fields.
    """
    cols = ", ".join(("sourced_id", "date_last_modified", *field_names(collection)))
    # The mirror's columns cast to the read's types (varchar to text): a UNION ALL whose
    # branches differ in type stays a subquery, and PostgreSQL then keeps every join above
    # it out of parallel workers.
    mirror_cols = ", ".join(
        (
            "m.sourced_id::text",
            "m.date_last_modified",
            *(f"m.{name}::{kind}" for name, kind in SOURCE_COLUMNS[collection]),
        )
    )
    src = ws.src(collection)
    keep_condition = (
        # A replacing read drops whatever it did not return, except records that failed
        # validation this time: their last good version stays until they are fixed.
        f"m.sourced_id IN (SELECT sourced_id FROM {ws.table('src_invalid')} "
        f"WHERE collection = '{collection}')"
        if replaced
        else "TRUE"
    )
    return (
        f"(SELECT {cols} FROM {src} WHERE status = 'active' "
        f"UNION ALL SELECT {mirror_cols} FROM {MIRROR_TABLES[collection]} m "
        f"WHERE m.district_id = {int(district_id)} "
        f"AND NOT EXISTS (SELECT 1 FROM {src} s WHERE s.sourced_id = m.sourced_id) "
        f"AND {keep_condition})"
    )


def _utc(column: str, *, end: bool = False) -> str:
    """SQL: a date as the Canvas timestamp of local midnight (start) or 23:59:59 (end)."""
    if end:
        local = f"(({column}) + 1)::timestamp AT TIME ZONE %(tz)s - interval '1 second'"
    else:
        local = f"({column})::timestamp AT TIME ZONE %(tz)s"
    return f"""to_char(({local}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


class _Planner:
    """Runs the statements of one planning, in order, over one workspace."""

    def __init__(self, *, ws: Workspace, district: District, replaced: frozenset[str]) -> None:
        self.ws = ws
        self.district = district
        self.replaced = replaced
        self.eff = {
            c: effective(ws, c, district_id=district.pk, replaced=c in replaced)
            for c in COLLECTIONS
        }
        self.params: dict[str, Any] = {
            "district": district.pk,
            "tz": district.timezone,
            "parent": district.canvas_parent_account_id,
            "roles": list(provisioned_roles(district)),
            "observer_roles": list(OBSERVER_ROLES),
            "term_prefix": consolidated_term_prefix(district),
            "login_source": district.login_source,
        }

    def t(self, name: str) -> str:
        return self.ws.table(name)

    def run(self, cursor: Any, statement: str) -> None:
        cursor.execute(statement, self.params)

    # --- validation --------------------------------------------------------------------

    def validate(self, cursor: Any) -> None:
        t, eff = self.t, self.eff
        self.run(
            cursor,
            f"CREATE UNLOGGED TABLE {t('issues')} (kind text NOT NULL, severity text NOT NULL, "
            "object_type text NOT NULL, sourced_id text NOT NULL, school text NOT NULL, "
            "detail text NOT NULL)",
        )
        object_case = " ".join(f"WHEN '{c}' THEN '{o}'" for c, o in OBJECT_TYPES.items())
        self.run(
            cursor,
            f"INSERT INTO {t('issues')} SELECT 'invalid_record', 'error', "
            f"CASE collection {object_case} END, sourced_id, '', reasons FROM {t('src_invalid')}",
        )
        self._validate_sessions_and_classes(cursor, t, eff)
        self._validate_users(cursor, t, eff)
        self._validate_enrollments(cursor, t, eff)

    def _ok_table(self, cursor: Any, name: str, select: str, object_type: str) -> None:
        """Materialize the objects of ``select`` that have no error issue, indexed by id."""
        t = self.t
        self.run(
            cursor,
            f"CREATE UNLOGGED TABLE {t(name)} AS SELECT x.* FROM ({select}) x "
            f"WHERE NOT EXISTS (SELECT 1 FROM {t('issues')} i WHERE i.object_type = "
            f"'{object_type}' AND i.severity = 'error' AND i.sourced_id = x.sourced_id)",
        )
        self.run(cursor, f"CREATE UNIQUE INDEX ON {t(name)} (sourced_id)")
        # Row counts and the join key are what the joins need; statistics of every column
        # (arrays among them) cost three times as much.
        self.run(cursor, f"ANALYZE {t(name)} (sourced_id)")

    def _validate_sessions_and_classes(self, cursor: Any, t: Any, eff: dict[str, str]) -> None:
        self.run(
            cursor,
            f"CREATE UNLOGGED TABLE {t('orgs')} AS SELECT sourced_id, name, type FROM "
            f"{eff['orgs']} o",
        )
        self.run(
            cursor,
            f"CREATE UNLOGGED TABLE {t('schools')} AS SELECT sourced_id, name FROM {t('orgs')} "
            "WHERE type = 'school'",
        )
        self.run(cursor, f"CREATE UNIQUE INDEX ON {t('schools')} (sourced_id)")
        self.run(
            cursor,
            f"INSERT INTO {t('issues')} SELECT 'dates_inverted', 'error', 'session', "
            "s.sourced_id, '', 'Session \"' || s.title || '\" ends on ' || s.end_date || "
            "' before it begins on ' || s.start_date "
            f"FROM {eff['academicSessions']} s WHERE s.end_date < s.start_date",
        )
        self._ok_table(
            cursor, "ok_sessions", f"SELECT * FROM {eff['academicSessions']} s", "session"
        )
        self.run(
            cursor,
            f"INSERT INTO {t('issues')} SELECT 'class_unknown_school', 'error', 'class', "
            "c.sourced_id, c.school, 'School ' || c.school || ' is not a school in the roster' "
            f"FROM {eff['classes']} c "
            f"WHERE c.school NOT IN (SELECT sourced_id FROM {t('schools')})",
        )
        self.run(
            cursor,
            f"INSERT INTO {t('issues')} SELECT 'class_unknown_term', 'error', 'class', "
            "c.sourced_id, c.school, CASE WHEN cardinality(c.terms) = 0 "
            "THEN 'The class has no term' ELSE 'Term ' || m.missing || "
            "' is not in the roster or has errors' END "
            f"FROM {eff['classes']} c CROSS JOIN LATERAL (SELECT string_agg(x.sid, ', ') "
            "AS missing FROM unnest(c.terms) AS x(sid) "
            f"WHERE x.sid NOT IN (SELECT sourced_id FROM {t('ok_sessions')})) m "
            "WHERE cardinality(c.terms) = 0 OR m.missing IS NOT NULL",
        )
        self._ok_table(
            cursor,
            "ok_classes",
            f"SELECT sourced_id, title, class_code, course, school, terms FROM {eff['classes']} c",
            "class",
        )

    def _validate_users(self, cursor: Any, t: Any, eff: dict[str, str]) -> None:
        user_id = {"sourcedId": "u.sourced_id", "identifier": "u.identifier"}[
            self.district.user_id_source
        ]
        login = {"username": "u.username", "email": "u.email", "identifier": "u.identifier"}[
            self.district.login_source
        ]
        self.run(
            cursor,
            f"CREATE UNLOGGED TABLE {t('cand_users')} AS SELECT u.sourced_id, u.role, "
            "u.enabled_user, u.given_name, u.family_name, u.email, u.agents, "
            f"{user_id} AS user_id, {login} AS login, "
            # ``IS TRUE`` keeps the school test a hashed subplan, built once. As a semi-join
            # (and hash joins only) it re-hashed every school for every user: 10 s for the
            # large district's 500,000 users and 370 schools, against 1 s.
            "(SELECT o.sid FROM unnest(u.orgs) WITH ORDINALITY AS o(sid, n) "
            f"WHERE (o.sid IN (SELECT sourced_id FROM {t('schools')})) IS TRUE "
            "ORDER BY o.n LIMIT 1) "
            f"AS school FROM {eff['users']} u WHERE u.role = ANY(%(roles)s)",
        )
        checks = [
            "SELECT 'missing_login', 'error', 'user', sourced_id, coalesce(school, ''), "
            "'The user has no ' || %(login_source)s || ' to log in with' "
            f"FROM {t('cand_users')} WHERE login = ''",
            "SELECT 'missing_user_id', 'error', 'user', sourced_id, coalesce(school, ''), "
            "'The user has no identifier for its Canvas user id' "
            f"FROM {t('cand_users')} WHERE user_id = ''",
        ]
        for kind, severity, column, label, normalize in (
            ("duplicate_login", "error", "login", "Login", "lower"),
            ("duplicate_user_id", "error", "user_id", "Canvas user id", ""),
            ("duplicate_email", "warning", "email", "E-mail", "lower"),
        ):
            checks.append(
                f"SELECT '{kind}', '{severity}', 'user', c.sourced_id, "
                f"coalesce(c.school, ''), '{label} \"' || c.{column} || '\" is shared by ' "
                "|| d.n || ' users: ' || d.ids "
                f"FROM {t('cand_users')} c JOIN (SELECT {normalize}({column}) AS v, count(*) AS n, "
                "left(string_agg(sourced_id, ', ' ORDER BY sourced_id), 300) AS ids "
                f"FROM {t('cand_users')} WHERE {column} <> '' GROUP BY 1 HAVING count(*) > 1) d "
                f"ON {normalize}(c.{column}) = d.v"
            )
        checks.append(
            "SELECT 'user_without_school', 'warning', 'user', sourced_id, '', "
            "'The user belongs to no school in the roster' "
            f"FROM {t('cand_users')} WHERE school IS NULL AND role <> ALL(%(observer_roles)s)"
        )
        self._add_issues(cursor, checks)
        self._ok_table(cursor, "ok_users", f"SELECT * FROM {t('cand_users')} u", "user")
        if self.district.observers_enabled:
            # An agent that is no provisioned student gets no observer link: say so rather
            # than leave the link out silently.
            self.run(
                cursor,
                f"INSERT INTO {t('issues')} SELECT 'observer_unknown_student', 'warning', "
                "'user', g.sourced_id, coalesce(g.school, ''), "
                "'No observer link to ' || m.missing || ': not a student in the roster, or "
                "the student has errors' "
                f"FROM {t('ok_users')} g CROSS JOIN LATERAL (SELECT string_agg(a.sid, ', ' "
                "ORDER BY a.sid) AS missing FROM unnest(g.agents) AS a(sid) WHERE a.sid NOT IN "
                f"(SELECT sourced_id FROM {t('ok_users')} WHERE role = 'student')) m "
                "WHERE g.role = ANY(%(observer_roles)s) AND m.missing IS NOT NULL",
            )

    def _validate_enrollments(self, cursor: Any, t: Any, eff: dict[str, str]) -> None:
        self._add_issues(
            cursor,
            [
                "SELECT 'enrollment_unknown_user', 'error', 'enrollment', e.sourced_id, "
                "e.school, 'User ' || e.user_sid || CASE "
                "WHEN u.sourced_id IS NULL THEN ' is not in the roster' "
                "WHEN u.role <> ALL(%(roles)s) "
                "THEN ' has role ' || u.role || ', which is not provisioned' "
                "ELSE ' has errors' END "
                f"FROM {eff['enrollments']} e LEFT JOIN {eff['users']} u "
                "ON u.sourced_id = e.user_sid "
                f"WHERE e.user_sid NOT IN (SELECT sourced_id FROM {t('ok_users')})",
                "SELECT 'enrollment_unknown_class', 'error', 'enrollment', e.sourced_id, "
                "e.school, 'Class ' || e.class_sid || CASE "
                "WHEN c.sourced_id IS NULL THEN ' is not in the roster' ELSE ' has errors' END "
                f"FROM {eff['enrollments']} e LEFT JOIN {eff['classes']} c "
                "ON c.sourced_id = e.class_sid "
                f"WHERE e.class_sid NOT IN (SELECT sourced_id FROM {t('ok_classes')})",
                "SELECT 'dates_inverted', 'warning', 'enrollment', e.sourced_id, e.school, "
                "'The enrollment ends on ' || e.end_date || ' before it begins on ' "
                f"|| e.begin_date FROM {eff['enrollments']} e WHERE e.end_date < e.begin_date",
                "SELECT 'class_without_teacher', 'warning', 'class', c.sourced_id, c.school, "
                "'Class \"' || c.title || '\" has no teacher' "
                f"FROM {t('ok_classes')} c WHERE c.sourced_id NOT IN "
                f"(SELECT e.class_sid FROM {eff['enrollments']} e WHERE e.role = 'teacher')",
            ],
        )

    def _add_issues(self, cursor: Any, checks: list[str]) -> None:
        """Add the issues of independent checks (selects of ``issues``' columns) at once.

        The checks scan and join the whole roster for a few rows each: as one CREATE TABLE
        AS they run in parallel workers, which no INSERT ... SELECT does.
        """
        found = self.t("found_issues")
        self.run(
            cursor,
            f"CREATE UNLOGGED TABLE {found} AS SELECT * FROM ({' UNION ALL '.join(checks)}) "
            "x(kind, severity, object_type, sourced_id, school, detail)",
        )
        self.run(cursor, f"INSERT INTO {self.t('issues')} SELECT * FROM {found}")
        self.run(cursor, f"DROP TABLE {found}")

    # --- projection --------------------------------------------------------------------

    def project(self, cursor: Any, *, send_all: bool) -> None:
        """Project the roster onto Canvas rows and diff them with the Canvas mirror, into
        ``plan``: create, update, drop, and (full runs, which send every current row)
        ``keep`` for unchanged ones. A drop is what the Canvas mirror has beyond the
        projection, unless an error holds its object back.

        One ``CREATE TABLE AS`` over all files with a full join against the district's
        Canvas rows: PostgreSQL runs it with parallel workers (no ``INSERT ... SELECT`` runs
        in parallel), and both sides are hashed once for creates, updates and drops alike,
        instead of a scratch projection joined once for changes and again for drops.
        """
        t = self.t
        self._held(cursor)
        projections = [
            f"SELECT '{file}' AS file, p.key, p.school, p.row, "
            f"{row_hash_sql('p.row')} AS hash FROM ({select}) p"
            for file, select in self._projections(t, self.eff).items()
        ]
        action = (
            "CASE WHEN p.key IS NULL THEN 'drop' WHEN c.key IS NULL THEN 'create' "
            "WHEN c.row_hash = p.hash THEN 'keep' ELSE 'update' END"
        )
        # The casts and collations give the columns the types a plan always had (keys sort
        # bytewise, nothing else does by itself); NOT NULL follows once filled.
        columns = [
            "coalesce(p.file, c.file)::text AS file",
            'coalesce(p.key::text COLLATE "C", c.key::text COLLATE "C") AS key',
            'coalesce(p.school::text COLLATE "default", c.school::text COLLATE "default") '
            "AS school",
            f"({action})::text AS action",
            'coalesce(p.row::text[] COLLATE "default", c.row::text[] COLLATE "default") AS row',
            'c.row::text[] COLLATE "default" AS prev_row',
            "coalesce(p.hash, c.row_hash)::bigint AS hash",
        ]
        # An object an error holds back is neither sent nor dropped. ``NOT IN`` (the columns
        # are never null) is one hashed subplan, built once.
        wanted = [
            f"(p.key IS NOT NULL OR (c.file, c.key) NOT IN (SELECT file, key FROM {t('held')}))"
        ]
        if not send_all:
            wanted.append("(p.key IS NULL OR c.key IS NULL OR c.row_hash <> p.hash)")
        self.run(
            cursor,
            f"CREATE UNLOGGED TABLE {t('plan')} AS SELECT {', '.join(columns)} "
            f"FROM ({' UNION ALL '.join(projections)}) p "
            "FULL JOIN (SELECT file, key, school, row, row_hash FROM provisioning_canvasrow "
            "WHERE district_id = %(district)s) c ON c.file = p.file AND c.key = p.key "
            f"WHERE {' AND '.join(wanted)}",
        )
        not_null = ("file", "key", "school", "action", "row", "hash")
        self.run(
            cursor,
            f"ALTER TABLE {t('plan')} "
            + ", ".join(f"ALTER COLUMN {column} SET NOT NULL" for column in not_null),
        )
        self.run(cursor, f"ANALYZE {t('plan')} (file, key)")

    def _held(self, cursor: Any) -> None:
        """Objects held back by an error: neither sent nor dropped."""
        t, eff = self.t, self.eff
        self.run(
            cursor, f"CREATE UNLOGGED TABLE {t('held')} (file text NOT NULL, key text NOT NULL)"
        )
        for object_type, files in HELD_FILES.items():
            for file in files:
                self.run(
                    cursor,
                    f"INSERT INTO {t('held')} SELECT DISTINCT '{file}', sourced_id "
                    f"FROM {t('issues')} "
                    f"WHERE severity = 'error' AND object_type = '{object_type}'",
                )
        bad_sessions = (
            f"(SELECT sourced_id FROM {t('issues')} WHERE severity = 'error' "
            "AND object_type = 'session')"
        )
        term_key = "s.sourced_id" if self.district.term_mode == "as_is" else "s.school_year"
        self.run(
            cursor,
            f"INSERT INTO {t('held')} SELECT DISTINCT 'terms', {term_key} "
            f"FROM {eff['academicSessions']} s WHERE s.sourced_id IN {bad_sessions}",
        )
        bad_users = (
            f"(SELECT sourced_id FROM {t('issues')} WHERE severity = 'error' "
            "AND object_type = 'user')"
        )
        self.run(
            cursor,
            f"INSERT INTO {t('held')} SELECT DISTINCT 'user_observers', "
            "g.sourced_id || ':' || a.sid "
            f"FROM {eff['users']} g CROSS JOIN LATERAL unnest(g.agents) AS a(sid) "
            f"WHERE g.role = ANY(%(observer_roles)s) AND (g.sourced_id IN {bad_users} "
            f"OR a.sid IN {bad_users})",
        )

    def _projections(self, t: Any, eff: dict[str, str]) -> dict[str, str]:
        as_is = self.district.term_mode == "as_is"
        if as_is:
            terms = (
                "SELECT s.sourced_id AS key, '' AS school, ARRAY[s.sourced_id, s.title, "
                f"'active', {_utc('s.start_date')}, {_utc('s.end_date', end=True)}] AS row "
                f"FROM {t('ok_sessions')} s"
            )
            term_id = "t.first_sid"
        else:
            terms = (
                "SELECT s.school_year AS key, '' AS school, ARRAY[%(term_prefix)s || "
                "s.school_year, CASE WHEN s.school_year ~ '^[0-9]{4}$' THEN "
                "(s.school_year::int - 1) || '-' || s.school_year ELSE s.school_year END, "
                f"'active', {_utc('min(s.start_date)')}, {_utc('max(s.end_date)', end=True)}] "
                f"AS row FROM {t('ok_sessions')} s GROUP BY s.school_year"
            )
            term_id = "%(term_prefix)s || t.first_year"
        class_terms = (
            "SELECT ct.class_sid, "
            "(array_agg(s.sourced_id ORDER BY s.start_date, s.sourced_id))[1] AS first_sid, "
            "(array_agg(s.school_year ORDER BY s.start_date, s.sourced_id))[1] AS first_year, "
            "min(s.start_date) AS starts, max(s.end_date) AS ends "
            "FROM (SELECT sourced_id AS class_sid, unnest(terms) AS sid "
            f"FROM {t('ok_classes')}) ct "
            f"JOIN {t('ok_sessions')} s ON s.sourced_id = ct.sid GROUP BY ct.class_sid"
        )
        roles = " ".join(f"WHEN '{o}' THEN '{c}'" for o, c in ENROLLMENT_ROLES.items())
        projections = {
            "accounts": (
                "SELECT o.sourced_id AS key, o.sourced_id AS school, "
                f"ARRAY[o.sourced_id, %(parent)s, o.name, 'active'] AS row FROM {t('schools')} o"
            ),
            "terms": terms,
            "users": (
                "SELECT u.sourced_id AS key, coalesce(u.school, '') AS school, "
                "ARRAY[u.user_id, u.login, u.given_name, u.family_name, u.email, "
                "CASE WHEN u.enabled_user IS FALSE THEN 'suspended' ELSE 'active' END] AS row "
                f"FROM {t('ok_users')} u"
            ),
            "courses": (
                "SELECT c.sourced_id AS key, c.school, ARRAY[c.sourced_id, "
                "coalesce(nullif(c.class_code, ''), nullif(co.course_code, ''), c.title), "
                f"c.title, c.school, {term_id}, 'active', {_utc('t.starts')}, "
                f"{_utc('t.ends', end=True)}] AS row "
                f"FROM {t('ok_classes')} c JOIN ({class_terms}) t ON t.class_sid = c.sourced_id "
                f"LEFT JOIN {self.eff['courses']} co ON co.sourced_id = c.course"
            ),
            "sections": (
                "SELECT c.sourced_id AS key, c.school, "
                "ARRAY[c.sourced_id, c.sourced_id, c.title, 'active'] AS row "
                f"FROM {t('ok_classes')} c"
            ),
            "enrollments": (
                "SELECT e.sourced_id AS key, c.school, ARRAY[c.sourced_id, c.sourced_id, "
                f"u.user_id, CASE e.role {roles} ELSE 'ta' END, 'active'] AS row "
                f"FROM {eff['enrollments']} e "
                f"JOIN {t('ok_users')} u ON u.sourced_id = e.user_sid "
                f"JOIN {t('ok_classes')} c ON c.sourced_id = e.class_sid "
                f"WHERE e.sourced_id NOT IN (SELECT sourced_id FROM {t('issues')} "
                "WHERE severity = 'error' AND object_type = 'enrollment')"
            ),
        }
        if self.district.observers_enabled:
            projections["user_observers"] = (
                "SELECT g.sourced_id || ':' || s.sourced_id AS key, "
                "coalesce(s.school, '') AS school, ARRAY[g.user_id, s.user_id, 'active'] AS row "
                f"FROM {t('ok_users')} g CROSS JOIN LATERAL unnest(g.agents) AS a(sid) "
                f"JOIN {t('ok_users')} s ON s.sourced_id = a.sid "
                "WHERE g.role = ANY(%(observer_roles)s) AND s.role = 'student'"
            )
        return projections

    def drop_scratch(self, cursor: Any) -> None:
        for name in ("held", "cand_users", "ok_users", "ok_classes", "ok_sessions", "orgs"):
            cursor.execute(f"DROP TABLE IF EXISTS {self.t(name)}")


def sync_plan_build(
    *, ws: Workspace, district: District, stage: StageResult, full_read: bool, send_all: bool
) -> PlanResult:
    """Validate, project and diff the staged read into the workspace's ``plan`` table.

    ``send_all`` (full runs) keeps unchanged rows in the plan as ``keep``, so the import
    re-asserts every current row. Leaves ``issues`` and ``plan`` in the workspace for
    conflicts and apply; drops the scratch tables. Reads and writes only the workspace.
    """
    replaced = read_modes(full_read=full_read, stage=stage)
    planner = _Planner(ws=ws, district=district, replaced=replaced)
    with transaction.atomic(), connection.cursor() as cursor:
        bulk_session(cursor)
        _parallel_session(cursor)
        planner.validate(cursor)
        planner.project(cursor, send_all=send_all)
        school_names = _school_names(cursor, planner)
        planner.drop_scratch(cursor)
        result = _plan_counts(cursor, ws=ws, district=district)
        high_water = _high_water(cursor, ws)
    return PlanResult(
        by_file=result[0],
        by_school=result[1],
        base_by_file=result[2],
        base_by_school=result[3],
        school_names=school_names,
        conflicts=result[4],
        source_counts=dict(stage.counts),
        mirror_counts=_mirror_counts(district),
        high_water=high_water,
        replaced=replaced,
        invalid_counts=dict(stage.invalid),
        invalid_reasons={c: tuple(r) for c, r in stage.invalid_reasons.items()},
    )


def bulk_session(cursor: Any) -> None:
    """Settings for set-based statements over millions of rows, for this transaction.

    Their joins are hash joins. Tables written moments ago have stale statistics (a table
    that held nothing at its last ANALYZE looks empty), and a nested loop planned on such a
    guess over millions of rows never finishes. JIT compilation only adds time here.
    """
    cursor.execute(f"SET LOCAL work_mem = '{_WORK_MEM}'")
    cursor.execute("SET LOCAL enable_nestloop = off")
    cursor.execute("SET LOCAL jit = off")


def _parallel_session(cursor: Any) -> None:
    """Let the planning's CREATE TABLE AS statements use parallel workers, for this transaction.

    The default costs keep joins of a few hundred thousand rows, and the projections that
    hash every row, in one process. The leader writes the new table, alone; computing rows
    as well only competes with its two workers for the cores (slower on two cores).
    """
    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 2")
    cursor.execute("SET LOCAL parallel_setup_cost = 100")
    cursor.execute("SET LOCAL parallel_tuple_cost = 0.01")
    cursor.execute("SET LOCAL min_parallel_table_scan_size = '1MB'")
    cursor.execute("SET LOCAL parallel_leader_participation = off")


def _school_names(cursor: Any, planner: _Planner) -> dict[str, str]:
    cursor.execute(f"SELECT sourced_id, name FROM {planner.t('schools')}")
    return dict(cursor.fetchall())


def _plan_counts(cursor: Any, *, ws: Workspace, district: District) -> tuple[Any, ...]:
    by_file: dict[str, dict[str, int]] = {f: dict.fromkeys(ACTIONS, 0) for f in FILES}
    by_school: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    cursor.execute(
        f"SELECT file, school, action, count(*) FROM {ws.table('plan')} GROUP BY 1, 2, 3"
    )
    for file, school, action, count in cursor.fetchall():
        by_file.setdefault(file, dict.fromkeys(ACTIONS, 0))[action] += count
        by_school[school].setdefault(file, dict.fromkeys(ACTIONS, 0))[action] += count
    base_by_file: dict[str, int] = dict.fromkeys(FILES, 0)
    base_by_school: dict[str, dict[str, int]] = defaultdict(dict)
    cursor.execute(
        "SELECT file, school, count(*) FROM provisioning_canvasrow WHERE district_id = %s "
        "GROUP BY 1, 2",
        [district.pk],
    )
    for file, school, count in cursor.fetchall():
        base_by_file[file] = base_by_file.get(file, 0) + count
        base_by_school[school][file] = count
    cursor.execute(f"SELECT kind, count(*) FROM {ws.table('issues')} GROUP BY 1")
    conflicts = dict(cursor.fetchall())
    return by_file, dict(by_school), base_by_file, dict(base_by_school), conflicts


def _high_water(cursor: Any, ws: Workspace) -> dt.datetime | None:
    parts = " UNION ALL ".join(
        f"SELECT max(date_last_modified) AS m FROM {ws.src(c)}" for c in COLLECTIONS
    )
    cursor.execute(f"SELECT max(m) FROM ({parts}) x")
    return cursor.fetchone()[0]


def _mirror_counts(district: District) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for collection, table in MIRROR_TABLES.items():
            cursor.execute(f"SELECT count(*) FROM {table} WHERE district_id = %s", [district.pk])
            counts[collection] = cursor.fetchone()[0]
    return counts
