"""Sort every user, course and section into exactly one match class, in set-based SQL.

For each object type the same steps run over the run's working schema:

1. *Same SIS id*: the Canvas object already carries the SIS id the first import would give
   the OneRoster object. Such a Canvas object is *claimed*: no other OneRoster object may
   take it.
2. *Candidates*: for the rest, unclaimed Canvas objects that match by a weaker key — a
   user's login, then e-mail; a course's code, then name; a section's course, then name.
3. One candidate: matched by the first key that found it (``matched_login`` if any login
   match, else ``matched_email``). Several: ``ambiguous``. None: ``new``.
4. A Canvas object that is the match of more than one OneRoster object makes each of them
   ``ambiguous`` (one account cannot become two people).
5. Canvas objects with an SIS id that nothing links to are ``orphan`` rows.

For courses and sections the class names are the same as for users; what "login" and
"e-mail" stand for is in ``MATCH_LABELS``. The result lands in ``tenants_evaluationrow``
for the report, with notes on login changes and collisions.
"""

# Table names are built from the run id and constants only (``Workspace``); every value
# from data or settings is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from evaluation.models import EvaluationRow
from provisioning.mapping import provisioned_roles

if TYPE_CHECKING:
    from evaluation.models import EvaluationReport
    from provisioning.services.workspace import Workspace
    from tenants.models import District

M = EvaluationRow.Match
#: The match classes, in report order; every summary has each of them for each type.
MATCHES = (
    M.MATCHED_SIS_ID,
    M.MATCHED_LOGIN,
    M.MATCHED_EMAIL,
    M.AMBIGUOUS,
    M.NEW,
    M.ORPHAN,
)
#: Summary keys of the object types (``users``, ``courses``, ``sections``).
TYPE_KEYS = {
    EvaluationRow.ObjectType.USER: "users",
    EvaluationRow.ObjectType.COURSE: "courses",
    EvaluationRow.ObjectType.SECTION: "sections",
}
#: What each class means per type, in words for the report and the JSON output.
MATCH_LABELS: dict[str, dict[str, str]] = {
    "users": {
        M.MATCHED_SIS_ID: "Same SIS id",
        M.MATCHED_LOGIN: "Same login under another SIS id",
        M.MATCHED_EMAIL: "Same e-mail only",
        M.AMBIGUOUS: "Several candidates",
        M.NEW: "New: created by the first import",
        M.ORPHAN: "Only in Canvas: would be suspended",
    },
    "courses": {
        M.MATCHED_SIS_ID: "Same SIS id",
        M.MATCHED_LOGIN: "Same course code under another SIS id",
        M.MATCHED_EMAIL: "Same name only",
        M.AMBIGUOUS: "Several candidates",
        M.NEW: "New: created by the first import",
        M.ORPHAN: "Only in Canvas: would be concluded",
    },
    "sections": {
        M.MATCHED_SIS_ID: "Same SIS id",
        M.MATCHED_LOGIN: "In the matched course under another SIS id",
        M.MATCHED_EMAIL: "Same name only",
        M.AMBIGUOUS: "Several candidates",
        M.NEW: "New: created by the first import",
        M.ORPHAN: "Only in Canvas: would be deleted",
    },
}

_USER_ID = {"sourcedId": "u.sourced_id", "identifier": "u.identifier"}
_LOGIN = {"username": "u.username", "email": "u.email", "identifier": "u.identifier"}


@dataclass(frozen=True)
class _Candidate:
    how: str  # "login" or "email": which class a single match of this kind gets
    label: str  # how a note names it
    condition: str  # join condition between source ``s`` and Canvas ``c``


@dataclass
class Classification:
    """Counts per type and class, plus the checks behind the risk notes."""

    counts: dict[str, dict[str, int]]
    checks: dict[str, dict[str, int]]


def _run(cursor: Any, statement: str, params: dict[str, Any] | None = None) -> None:
    cursor.execute(statement, params or {})


def _source_tables(cursor: Any, ws: Workspace, district: District) -> None:
    """``ev_users`` and ``ev_classes``: what the first import would send, one row per key."""
    t = ws.table
    _run(
        cursor,
        f"CREATE TABLE {t('ev_schools')} AS SELECT DISTINCT ON (sourced_id) sourced_id, name "
        f"FROM {ws.src('orgs')} ORDER BY sourced_id",
    )
    _run(
        cursor,
        f"CREATE TABLE {t('ev_users')} AS SELECT DISTINCT ON (u.sourced_id) "
        "u.sourced_id AS key, "
        f"nullif({_USER_ID[district.user_id_source]}, '') AS sis_key, "
        f"coalesce({_LOGIN[district.login_source]}, '') AS login, "
        "coalesce(u.email, '') AS email, "
        "trim(coalesce(u.given_name, '') || ' ' || coalesce(u.family_name, '')) AS name, "
        "coalesce(o.name, u.orgs[1], '') AS school "
        f"FROM {ws.src('users')} u LEFT JOIN {t('ev_schools')} o ON o.sourced_id = u.orgs[1] "
        "WHERE u.status = 'active' AND u.role = ANY(%(roles)s) ORDER BY u.sourced_id",
        {"roles": list(provisioned_roles(district))},
    )
    _run(
        cursor,
        f"CREATE TABLE {t('ev_classes')} AS SELECT DISTINCT ON (k.sourced_id) "
        "k.sourced_id AS key, k.sourced_id AS sis_key, "
        "coalesce(nullif(k.class_code, ''), nullif(co.course_code, ''), k.title) AS login, "
        "'' AS email, k.title AS name, coalesce(o.name, k.school) AS school "
        f"FROM {ws.src('classes')} k "
        f"LEFT JOIN (SELECT DISTINCT ON (sourced_id) sourced_id, course_code "
        f"FROM {ws.src('courses')} ORDER BY sourced_id) co ON co.sourced_id = k.course "
        f"LEFT JOIN {t('ev_schools')} o ON o.sourced_id = k.school "
        "WHERE k.status = 'active' ORDER BY k.sourced_id",
    )
    # Sections in Canvas have no code: their "login" is the Canvas course they sit in.
    _run(
        cursor,
        f"CREATE TABLE {t('ev_cv_sections')} AS SELECT canvas_id, sis_id, "
        "course_canvas_id::text AS login, NULL::text AS email, name "
        f"FROM {t('cv_sections')}",
    )
    for name in ("ev_users", "ev_classes", "ev_cv_sections", "cv_users", "cv_courses"):
        _run(cursor, f"ANALYZE {t(name)}")


def _section_source(cursor: Any, ws: Workspace) -> None:
    """``ev_sections``: the classes again, with the Canvas course each one matched (if it
    matched exactly one), in which a section under another SIS id is a candidate."""
    t = ws.table
    _run(
        cursor,
        f"CREATE TABLE {t('ev_sections')} AS SELECT s.*, m.canvas_id::text AS course_canvas "
        f"FROM {t('ev_classes')} s LEFT JOIN {t('course_class')} m ON m.key = s.key "
        "AND m.match <> %(ambiguous)s",
        {"ambiguous": M.AMBIGUOUS},
    )
    _run(cursor, f"ANALYZE {t('ev_sections')}")


def _classify(
    cursor: Any,
    ws: Workspace,
    *,
    kind: str,
    noun: str,
    src: str,
    cv: str,
    candidates: list[_Candidate],
) -> None:
    """Fill ``<kind>_class`` (key, match, canvas_id, note) and ``<kind>_cand``."""
    t = ws.table
    cls, cand = t(f"{kind}_class"), t(f"{kind}_cand")
    _run(cursor, f"ALTER TABLE {cv} ADD COLUMN claimed boolean NOT NULL DEFAULT false")
    _run(
        cursor,
        f"UPDATE {cv} c SET claimed = true WHERE c.sis_id IS NOT NULL AND EXISTS "
        f"(SELECT 1 FROM {src} s WHERE s.sis_key = c.sis_id)",
    )
    _run(
        cursor,
        f"CREATE TABLE {cls} (key text PRIMARY KEY, match text NOT NULL, canvas_id bigint, "
        "note text NOT NULL DEFAULT '')",
    )
    _run(
        cursor,
        f"INSERT INTO {cls} SELECT DISTINCT ON (s.key) s.key, %(match)s, c.canvas_id, '' "
        f"FROM {src} s JOIN {cv} c ON c.sis_id = s.sis_key ORDER BY s.key, c.canvas_id",
        {"match": M.MATCHED_SIS_ID},
    )
    _run(cursor, f"CREATE TABLE {cand} (key text NOT NULL, canvas_id bigint, how text, label text)")
    for candidate in candidates:
        _run(
            cursor,
            f"INSERT INTO {cand} SELECT s.key, c.canvas_id, %(how)s, %(label)s "
            f"FROM {src} s JOIN {cv} c ON {candidate.condition} "
            f"WHERE NOT c.claimed AND NOT EXISTS (SELECT 1 FROM {cls} k WHERE k.key = s.key)",
            {"how": candidate.how, "label": candidate.label},
        )
    _run(
        cursor,
        f"INSERT INTO {cls} SELECT x.key, CASE WHEN count(DISTINCT x.canvas_id) > 1 "
        "THEN %(ambiguous)s WHEN bool_or(x.how = 'login') THEN %(login)s ELSE %(email)s END, "
        "CASE WHEN count(DISTINCT x.canvas_id) = 1 THEN min(x.canvas_id) END, "
        "CASE WHEN count(DISTINCT x.canvas_id) > 1 THEN left('Candidates: ' || "
        "string_agg(DISTINCT %(noun)s || ' ' || x.canvas_id || coalesce(' (SIS id ' || "
        "c.sis_id || ')', '') || ' by ' || x.label, '; '), 2000) ELSE '' END "
        f"FROM {cand} x JOIN {cv} c ON c.canvas_id = x.canvas_id GROUP BY x.key",
        {
            "ambiguous": M.AMBIGUOUS,
            "login": M.MATCHED_LOGIN,
            "email": M.MATCHED_EMAIL,
            "noun": f"Canvas {noun}",
        },
    )
    _run(
        cursor,
        f"UPDATE {cls} k SET match = %(ambiguous)s, note = 'Canvas ' || %(noun)s || ' ' || "
        "k.canvas_id || ' is also the match of ' || (d.n - 1) || ' other OneRoster ' || "
        "%(noun)s || '(s)' FROM (SELECT canvas_id, count(*) AS n "
        f"FROM {cls} WHERE canvas_id IS NOT NULL GROUP BY canvas_id HAVING count(*) > 1) d "
        "WHERE k.canvas_id = d.canvas_id",
        {"ambiguous": M.AMBIGUOUS, "noun": noun},
    )
    _run(
        cursor,
        f"INSERT INTO {cls} SELECT s.key, %(new)s, NULL, '' FROM {src} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {cls} k WHERE k.key = s.key)",
        {"new": M.NEW},
    )


def _note(cursor: Any, ws: Workspace, kind: str, keys_sql: str, text_sql: str) -> int:
    """Append a note (``text_sql`` over ``x``) to the class rows of ``keys_sql``'s keys."""
    cls = ws.table(f"{kind}_class")
    cursor.execute(
        f"UPDATE {cls} k SET note = concat_ws(' ', nullif(k.note, ''), x.text) "
        f"FROM (SELECT DISTINCT ON (key) key, {text_sql} AS text FROM ({keys_sql}) y "
        "ORDER BY key) x WHERE k.key = x.key"
    )
    return cursor.rowcount


def _user_checks(cursor: Any, ws: Workspace) -> dict[str, int]:
    t = ws.table
    src, cv, cls = t("ev_users"), t("cv_users"), t("user_class")
    checks: dict[str, int] = {}
    checks["login_changes"] = _note(
        cursor,
        ws,
        "user",
        f"SELECT k.key, c.login AS old, s.login AS new FROM {cls} k "
        f"JOIN {src} s ON s.key = k.key JOIN {cv} c ON c.canvas_id = k.canvas_id "
        f"WHERE k.match = '{M.MATCHED_SIS_ID}' AND s.login <> '' "
        "AND lower(coalesce(c.login, '')) <> lower(s.login)",
        "'Login changes from ' || y.old || ' to ' || y.new || '.'",
    )
    # A login already held by the Canvas account another OneRoster user keeps: the import
    # would refuse this user ("login already in use").
    checks["login_collisions"] = _note(
        cursor,
        ws,
        "user",
        f"SELECT s.key, c.canvas_id, c.sis_id FROM {src} s "
        f"JOIN {cv} c ON lower(c.login) = lower(s.login) "
        f"JOIN {src} v ON v.sis_key = c.sis_id AND v.key <> s.key WHERE s.login <> ''",
        "'The login is taken in Canvas by the account of SIS user ' || y.sis_id || "
        "' (Canvas user ' || y.canvas_id || '), which another OneRoster user keeps.'",
    )
    checks["matched_without_sis_id"] = _note(
        cursor,
        ws,
        "user",
        f"SELECT k.key FROM {cls} k JOIN {cv} c ON c.canvas_id = k.canvas_id "
        f"WHERE k.match IN ('{M.MATCHED_LOGIN}', '{M.MATCHED_EMAIL}') AND c.sis_id IS NULL",
        "'The Canvas account has no SIS id: change_sis_id cannot re-key it.'",
    )
    for name, column in (("duplicate_logins", "login"), ("duplicate_emails", "email")):
        cursor.execute(
            f"SELECT count(*) FROM (SELECT lower({column}) FROM {src} WHERE {column} <> '' "
            "GROUP BY 1 HAVING count(*) > 1) d"
        )
        checks[name] = cursor.fetchone()[0]
    cursor.execute(f"SELECT count(*) FROM {src} WHERE sis_key IS NULL")
    checks["without_user_id"] = cursor.fetchone()[0]
    return checks


def _course_checks(cursor: Any, ws: Workspace, kind: str, cv: str) -> dict[str, int]:
    cls = ws.table(f"{kind}_class")
    return {
        "matched_without_sis_id": _note(
            cursor,
            ws,
            kind,
            f"SELECT k.key FROM {cls} k JOIN {cv} c ON c.canvas_id = k.canvas_id "
            f"WHERE k.match IN ('{M.MATCHED_LOGIN}', '{M.MATCHED_EMAIL}') AND c.sis_id IS NULL",
            f"'The Canvas {kind} has no SIS id: change_sis_id cannot re-key it.'",
        )
    }


_INSERT_ROWS = """
INSERT INTO tenants_evaluationrow (report_id, object_type, match, source_id, target_sis_id,
    source_login, source_email, source_name, school, canvas_id, canvas_sis_id, canvas_login,
    canvas_email, canvas_name, note)
SELECT %(report)s, %(type)s, k.match, s.key, coalesce(s.sis_key, ''), s.login, s.email,
    s.name, s.school, c.canvas_id, coalesce(c.sis_id, ''), coalesce(c.login, ''),
    coalesce(c.email, ''), coalesce(c.name, ''), k.note
FROM {cls} k JOIN {src} s ON s.key = k.key LEFT JOIN {cv} c ON c.canvas_id = k.canvas_id
ORDER BY array_position(%(order)s, k.match), s.key
"""
_INSERT_ORPHANS = """
INSERT INTO tenants_evaluationrow (report_id, object_type, match, source_id, target_sis_id,
    source_login, source_email, source_name, school, canvas_id, canvas_sis_id, canvas_login,
    canvas_email, canvas_name, note)
SELECT %(report)s, %(type)s, %(orphan)s, '', '', '', '', '', '', c.canvas_id, c.sis_id,
    coalesce(c.login, ''), coalesce(c.email, ''), coalesce(c.name, ''), ''
FROM {cv} c WHERE c.sis_id IS NOT NULL AND NOT c.claimed
AND NOT EXISTS (SELECT 1 FROM {cand} x WHERE x.canvas_id = c.canvas_id)
ORDER BY c.sis_id
"""


def evaluation_classify(
    *, ws: Workspace, district: District, report: EvaluationReport
) -> Classification:
    """Classify the staged source and Canvas tables and write the report's rows.

    One transaction: either every row of the report is there, or none.
    """
    t = ws.table
    types = (
        (
            EvaluationRow.ObjectType.USER,
            "user",
            t("ev_users"),
            t("cv_users"),
            [
                _Candidate("login", "login", "lower(c.login) = lower(s.login) AND s.login <> ''"),
                _Candidate("email", "e-mail", "lower(c.email) = lower(s.email) AND s.email <> ''"),
            ],
        ),
        (
            EvaluationRow.ObjectType.COURSE,
            "course",
            t("ev_classes"),
            t("cv_courses"),
            [
                _Candidate("login", "code", "lower(c.login) = lower(s.login) AND s.login <> ''"),
                _Candidate("email", "name", "lower(c.name) = lower(s.name) AND s.name <> ''"),
            ],
        ),
        (
            EvaluationRow.ObjectType.SECTION,
            "section",
            t("ev_sections"),
            t("ev_cv_sections"),
            [
                _Candidate("login", "course", "c.sis_id IS NOT NULL AND c.login = s.course_canvas"),
                _Candidate(
                    "email",
                    "name",
                    "c.sis_id IS NOT NULL AND lower(c.name) = lower(s.name) AND s.name <> ''",
                ),
            ],
        ),
    )
    counts: dict[str, dict[str, int]] = {}
    checks: dict[str, dict[str, int]] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        _source_tables(cursor, ws, district)
        for object_type, kind, src, cv, candidates in types:
            if kind == "section":
                _section_source(cursor, ws)
            _classify(cursor, ws, kind=kind, noun=kind, src=src, cv=cv, candidates=candidates)
            if kind == "user":
                checks[TYPE_KEYS[object_type]] = _user_checks(cursor, ws)
            else:
                checks[TYPE_KEYS[object_type]] = _course_checks(cursor, ws, kind, cv)
            params = {
                "report": report.pk,
                "type": object_type,
                "orphan": M.ORPHAN,
                "order": list(MATCHES),
            }
            cursor.execute(_INSERT_ROWS.format(cls=t(f"{kind}_class"), src=src, cv=cv), params)
            cursor.execute(_INSERT_ORPHANS.format(cv=cv, cand=t(f"{kind}_cand")), params)
        cursor.execute(
            "SELECT object_type, match, count(*) FROM tenants_evaluationrow "
            "WHERE report_id = %s GROUP BY 1, 2",
            [report.pk],
        )
        for type_key in TYPE_KEYS.values():
            counts[type_key] = dict.fromkeys((m.value for m in MATCHES), 0)
        for object_type, match, n in cursor.fetchall():
            counts[TYPE_KEYS[object_type]][match] = n
    return Classification(counts=counts, checks=checks)
