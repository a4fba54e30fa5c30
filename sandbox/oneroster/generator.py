"""Generate an Infinite Campus-shaped district, deterministically from (schools, students, seed).

Shape (``infinite-campus.md`` §6-8): one active school year; per school a calendar with a
schoolYear session, two semesters and four quarters (IC's terms, which serve as grading
periods); sections (classes) with several terms; staff ≈ students/15; ~7 classes per
student; role-prefixed 1.1 user sourcedIds (``s``/``t``/``a``/``g`` + personID);
enrollment ids ``s`` + rosterID and ``t`` + historyID; guardians linked with ``agents``.

Storage is columnar (``array`` per field, names as indexes into small pools) so the large
district of DESIGN §8 (300,000 students, ~2.1 M enrollments) fits in a few hundred MB and
generates in seconds; JSON is rendered per page (``render.py``). Rows are never removed:
``alive`` marks records that still exist, so indexes stay stable under mutations.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import unicodedata
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from sandbox.oneroster.names import (
    CATALOG,
    COURSE_VARIANTS,
    DISTRICT_NAMES,
    FAMILY_NAMES,
    GIVEN_NAMES,
    SCHOOL_NAMES,
)

STUDENT, TEACHER, ADMINISTRATOR, GUARDIAN = 0, 1, 2, 3
ROLE_NAMES = ("student", "teacher", "administrator", "guardian")
ROLE_PREFIXES = ("s", "t", "a", "g")
ACTIVE, TOBEDELETED = 0, 1
STATUS_NAMES = ("active", "tobedeleted")

#: Quarter bit masks of a class's terms: year-long, first semester, second semester.
YEAR_MASK, S1_MASK, S2_MASK = 0b1111, 0b0011, 0b1100
LEVEL_GRADES = {
    "elementary": ("KG", "01", "02", "03", "04", "05"),
    "middle": ("06", "07", "08"),
    "high": ("09", "10", "11", "12"),
}
LEVEL_WEIGHTS = {"elementary": 1.0, "middle": 1.6, "high": 2.6}
LEVEL_PATTERN = ("high", "middle", "elementary", "elementary", "elementary")
CLASSES_PER_STUDENT = 7
CLASS_SIZE = 28
SECTIONS_PER_TEACHER = 5

# personID / rosterID ranges: distinct per kind so role prefixes never hide a clash.
STUDENT_PID, STAFF_PID, GUARDIAN_PID, NEW_PID = 1_000_000, 500_000, 2_000_000, 3_000_000
STUDENT_ROSTER, TEACHER_HISTORY, NEW_ROSTER = 10_000_000, 20_000_000, 30_000_000
SECTION_ID, COURSE_ID, TERM_ID, SCHOOL_ID = 300_000, 50_000, 7_000, 100


def ascii_fold(text: str) -> str:
    """Letters only, accents removed, lower case: the part of a login id built from a name."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalpha())


def epoch(when: dt.datetime) -> int:
    return int(when.timestamp())


@dataclass(frozen=True)
class Shape:
    """Where the district's shape is an assumption about Infinite Campus, the other plausible
    shapes (docs/sandbox.md). The default is what the sandbox models as IC's own."""

    #: Semesters are the terms and the quarters their ``gradingPeriod`` children (default:
    #: the quarters are the terms, typed ``term``, and there are no grading periods).
    grading_periods: bool = False
    #: Optional fields without a value sent as ``""`` (default: a field is left out).
    empty_strings: bool = False
    #: Vendor extensions under ``metadata`` on every record (default: schools only).
    metadata: bool = False
    #: Users with several ``userIds`` (default: the personID alone).
    several_user_ids: bool = False


#: The named shapes ``sandbox serve --shape`` and the end-to-end tests use.
SHAPES = {
    "ic": Shape(),
    "grading_periods": Shape(grading_periods=True),
    "empty_strings": Shape(empty_strings=True),
    "metadata": Shape(metadata=True),
    "several_user_ids": Shape(several_user_ids=True),
}


@dataclass
class Session:
    """An academic session of one school's calendar (schoolYear, semester or quarter)."""

    sourced_id: str
    title: str
    type: str  # schoolYear | semester | term | gradingPeriod
    start_date: dt.date
    end_date: dt.date
    school_year: str
    parent: str | None
    children: tuple[str, ...]
    modified: int


@dataclass
class School:
    index: int
    sourced_id: str
    name: str
    identifier: str
    level: str
    grades: tuple[str, ...]
    year: Session
    semesters: tuple[Session, Session]
    quarters: tuple[Session, Session, Session, Session]
    modified: int

    @property
    def sessions(self) -> tuple[Session, ...]:
        return (self.year, *self.semesters, *self.quarters)

    @staticmethod
    def session_mask(k: int) -> int:
        """Quarter bits covered by the school's ``k``-th session (order of ``sessions``)."""
        if k == 0:
            return YEAR_MASK
        if k < 3:
            return S1_MASK if k == 1 else S2_MASK
        return 1 << (k - 3)

    def terms_for_mask(self, mask: int) -> tuple[Session, ...]:
        """The ``term`` sessions a class with these quarter bits is scheduled in."""
        return tuple(
            session
            for k, session in enumerate(self.sessions)
            if session.type == "term" and mask & self.session_mask(k)
        )

    def quarters_for_mask(self, mask: int) -> tuple[Session, ...]:
        return tuple(q for bit, q in enumerate(self.quarters) if mask >> bit & 1)

    def quarter_for(self, day: dt.date) -> Session | None:
        return next((q for q in self.quarters if q.start_date <= day <= q.end_date), None)


@dataclass(frozen=True)
class UserView:
    sourced_id: str
    role: str
    username: str
    email: str
    given_name: str
    family_name: str
    middle_name: str
    school_ids: tuple[str, ...]
    status: str
    grade: str


@dataclass(frozen=True)
class ClassView:
    sourced_id: str
    title: str
    course_id: str
    school_id: str
    term_ids: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class EnrollmentView:
    sourced_id: str
    user_id: str
    class_id: str
    school_id: str
    role: str
    status: str


@dataclass
class District:
    """The generated district: small objects for orgs and sessions, columns for the rest."""

    seed: int
    name: str
    slug: str
    sourced_id: str
    identifier: str
    as_of: dt.datetime
    school_year: int  # the calendar year the school year starts in
    schools: list[School]
    given_pool: list[str]
    family_pool: list[str]
    shape: Shape = field(default_factory=Shape)
    # courses
    course_id: array = field(default_factory=lambda: array("q"))
    course_school: array = field(default_factory=lambda: array("i"))
    course_catalog: array = field(default_factory=lambda: array("i"))
    course_modified: array = field(default_factory=lambda: array("q"))
    course_status: array = field(default_factory=lambda: array("b"))
    course_alive: array = field(default_factory=lambda: array("b"))
    # classes (IC sections)
    class_id: array = field(default_factory=lambda: array("q"))
    class_course: array = field(default_factory=lambda: array("i"))
    class_school: array = field(default_factory=lambda: array("i"))
    class_mask: array = field(default_factory=lambda: array("b"))
    class_period: array = field(default_factory=lambda: array("b"))
    class_room: array = field(default_factory=lambda: array("i"))
    class_number: array = field(default_factory=lambda: array("i"))
    class_modified: array = field(default_factory=lambda: array("q"))
    class_status: array = field(default_factory=lambda: array("b"))
    class_alive: array = field(default_factory=lambda: array("b"))
    class_titles: dict[int, str] = field(default_factory=dict)  # renamed classes only
    # users
    user_pid: array = field(default_factory=lambda: array("q"))
    user_role: array = field(default_factory=lambda: array("b"))
    user_given: array = field(default_factory=lambda: array("i"))
    user_family: array = field(default_factory=lambda: array("i"))
    user_middle: array = field(default_factory=lambda: array("i"))  # -1 = none
    user_login_given: array = field(default_factory=lambda: array("i"))
    user_login_family: array = field(default_factory=lambda: array("i"))
    user_school: array = field(default_factory=lambda: array("i"))  # -1 = district
    user_school2: array = field(default_factory=lambda: array("i"))  # -1 = none
    user_grade: array = field(default_factory=lambda: array("b"))  # -1 = none
    user_household: array = field(default_factory=lambda: array("i"))  # -1 = none
    user_modified: array = field(default_factory=lambda: array("q"))
    user_status: array = field(default_factory=lambda: array("b"))
    user_alive: array = field(default_factory=lambda: array("b"))
    household_guardian: array = field(default_factory=lambda: array("i"))
    household_children: list[list[int]] = field(default_factory=list)
    # enrollments
    enr_id: array = field(default_factory=lambda: array("q"))
    enr_user: array = field(default_factory=lambda: array("i"))
    enr_class: array = field(default_factory=lambda: array("i"))
    enr_role: array = field(default_factory=lambda: array("b"))
    enr_primary: array = field(default_factory=lambda: array("b"))
    enr_modified: array = field(default_factory=lambda: array("q"))
    enr_status: array = field(default_factory=lambda: array("b"))
    enr_alive: array = field(default_factory=lambda: array("b"))
    # id counters for records added later (mutations)
    next_pid: int = NEW_PID
    next_roster: int = NEW_ROSTER
    next_section: int = 0
    version: int = 0
    #: kind → [(first id, first index, count)]: ids of generated rows are arithmetic.
    id_ranges: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)

    # --- identity helpers ----------------------------------------------------------------

    @property
    def school_year_title(self) -> str:
        return f"{self.school_year}-{(self.school_year + 1) % 100:02d}"

    @property
    def email_domain(self) -> str:
        return f"{self.slug}.example.org"

    def user_sourced_id(self, i: int) -> str:
        return f"{ROLE_PREFIXES[self.user_role[i]]}{self.user_pid[i]}"

    def username(self, i: int) -> str:
        given = ascii_fold(self.given_pool[self.user_login_given[i]]) or "x"
        family = ascii_fold(self.family_pool[self.user_login_family[i]]) or "user"
        return f"{given[0]}{family}{self.user_pid[i]}"

    def email(self, i: int) -> str:
        role = self.user_role[i]
        if role == GUARDIAN:
            return f"{self.username(i)}@mail.example.com"
        if role == STUDENT:
            return f"{self.username(i)}@students.{self.email_domain}"
        return f"{self.username(i)}@{self.email_domain}"

    def enrollment_sourced_id(self, i: int) -> str:
        return f"{'s' if self.enr_role[i] == STUDENT else 't'}{self.enr_id[i]}"

    def class_title(self, i: int) -> str:
        title = self.class_titles.get(i)
        if title is not None:
            return title
        _, course_title, _ = self.catalog_entry(self.class_course[i])
        return f"{course_title} - P{self.class_period[i]} ({self.class_number[i]})"

    def catalog_entry(self, course: int) -> tuple[str, str, str]:
        school = self.schools[self.course_school[course]]
        entries = CATALOG[school.level]
        j = self.course_catalog[course]
        code, title, subject = entries[j % len(entries)]
        variant = COURSE_VARIANTS[(j // len(entries)) % len(COURSE_VARIANTS)]
        suffix = "" if j < len(entries) else str(j // len(entries) + 1)
        return f"{code}{suffix}", f"{title}{variant}", subject

    def class_terms(self, i: int) -> tuple[Session, ...]:
        return self.schools[self.class_school[i]].terms_for_mask(self.class_mask[i])

    # --- read-back views (current state, mutations included) -----------------------------

    def iter_users(self, *, include_deleted: bool = False) -> Iterator[UserView]:
        for i in range(len(self.user_pid)):
            if include_deleted or self.user_alive[i]:
                yield self.user_view(i)

    def user_orgs(self, i: int) -> list[int]:
        """School indexes of a user's orgs (-1 = the district). A guardian belongs to the
        schools of the children in the household."""
        if self.user_role[i] == GUARDIAN:
            children = self.household_children[self.user_household[i]]
            return sorted({self.user_school[c] for c in children})
        second = self.user_school2[i]
        return [self.user_school[i]] if second < 0 else [self.user_school[i], second]

    def org_sourced_id(self, school: int) -> str:
        return self.sourced_id if school < 0 else self.schools[school].sourced_id

    def user_view(self, i: int) -> UserView:
        school_ids = tuple(self.org_sourced_id(s) for s in self.user_orgs(i))
        middle = self.user_middle[i]
        grade = self.user_grade[i]
        return UserView(
            sourced_id=self.user_sourced_id(i),
            role=ROLE_NAMES[self.user_role[i]],
            username=self.username(i),
            email=self.email(i),
            given_name=self.given_pool[self.user_given[i]],
            family_name=self.family_pool[self.user_family[i]],
            middle_name=self.given_pool[middle] if middle >= 0 else "",
            school_ids=school_ids,
            status=STATUS_NAMES[self.user_status[i]],
            grade=grade_name(grade),
        )

    def iter_classes(self, *, include_deleted: bool = False) -> Iterator[ClassView]:
        for i in range(len(self.class_id)):
            if include_deleted or self.class_alive[i]:
                yield self.class_view(i)

    def class_view(self, i: int) -> ClassView:
        return ClassView(
            sourced_id=str(self.class_id[i]),
            title=self.class_title(i),
            course_id=str(self.course_id[self.class_course[i]]),
            school_id=self.schools[self.class_school[i]].sourced_id,
            term_ids=tuple(t.sourced_id for t in self.class_terms(i)),
            status=STATUS_NAMES[self.class_status[i]],
        )

    def iter_enrollments(self, *, include_deleted: bool = False) -> Iterator[EnrollmentView]:
        for i in range(len(self.enr_id)):
            if include_deleted or self.enr_alive[i]:
                yield self.enrollment_view(i)

    def enrollment_view(self, i: int) -> EnrollmentView:
        c = self.enr_class[i]
        return EnrollmentView(
            sourced_id=self.enrollment_sourced_id(i),
            user_id=self.user_sourced_id(self.enr_user[i]),
            class_id=str(self.class_id[c]),
            school_id=self.schools[self.class_school[c]].sourced_id,
            role=ROLE_NAMES[self.enr_role[i]],
            status=STATUS_NAMES[self.enr_status[i]],
        )

    def counts(self) -> dict[str, int]:
        users = [0, 0, 0, 0]
        for i in range(len(self.user_pid)):
            if self.user_alive[i]:
                users[self.user_role[i]] += 1
        return {
            "schools": len(self.schools),
            "academicSessions": 7 * len(self.schools),
            "courses": sum(self.course_alive),
            "classes": sum(self.class_alive),
            "users": sum(users),
            "students": users[STUDENT],
            "teachers": users[TEACHER],
            "administrators": users[ADMINISTRATOR],
            "guardians": users[GUARDIAN],
            "enrollments": sum(self.enr_alive),
        }

    def summary(self) -> dict:
        """What other processes need (JSON-ready): schools with their calendars, counts."""
        return {
            "district": {"sourcedId": self.sourced_id, "name": self.name},
            "school_year": self.school_year_title,
            "schools": [
                {
                    "sourcedId": s.sourced_id,
                    "name": s.name,
                    "year": _session_json(s.year),
                    "semesters": [_session_json(x) for x in s.semesters],
                    "quarters": [_session_json(x) for x in s.quarters],
                }
                for s in self.schools
            ],
            "counts": self.counts(),
            "version": self.version,
        }


def _session_json(session: Session) -> dict:
    return {
        "sourcedId": session.sourced_id,
        "title": session.title,
        "start_date": session.start_date.isoformat(),
        "end_date": session.end_date.isoformat(),
    }


def grade_name(grade: int) -> str:
    if grade < 0:
        return ""
    return "KG" if grade == 0 else f"{grade:02d}"


def _grade_number(name: str) -> int:
    return 0 if name == "KG" else int(name)


def default_as_of() -> dt.datetime:
    """Midnight UTC today: records look last modified before today's runs."""
    now = dt.datetime.now(tz=dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def school_year_of(day: dt.date) -> int:
    return day.year if day.month >= 7 else day.year - 1


def _calendar(
    index: int, year: int, year_title: str, modified: int, shape: Shape
) -> tuple[Session, ...]:
    """One school's term schedule. Start dates vary a little between schools, as in IC."""
    shift = dt.timedelta(days=index % 3)
    start = dt.date(year, 8, 17) + shift
    quarters_dates = [
        (start, start + dt.timedelta(days=60)),
        (start + dt.timedelta(days=63), dt.date(year, 12, 18) + shift),
        (dt.date(year + 1, 1, 5) + shift, dt.date(year + 1, 3, 13) + shift),
        (dt.date(year + 1, 3, 16) + shift, dt.date(year + 1, 5, 29) + shift),
    ]
    base = TERM_ID + index * 10
    semester_type, quarter_type = (
        ("term", "gradingPeriod") if shape.grading_periods else ("semester", "term")
    )
    school_year = str(year + 1)
    ids = [str(base + k) for k in range(7)]
    year_session = Session(
        ids[0], year_title, "schoolYear", quarters_dates[0][0], quarters_dates[3][1],
        school_year, None, (ids[1], ids[2]), modified,
    )  # fmt: skip
    semesters = (
        Session(
            ids[1], "S1", semester_type, quarters_dates[0][0], quarters_dates[1][1],
            school_year, ids[0], (ids[3], ids[4]), modified,
        ),
        Session(
            ids[2], "S2", semester_type, quarters_dates[2][0], quarters_dates[3][1],
            school_year, ids[0], (ids[5], ids[6]), modified,
        ),
    )  # fmt: skip
    quarters = tuple(
        Session(
            ids[3 + q], f"Q{q + 1}", quarter_type, quarters_dates[q][0], quarters_dates[q][1],
            school_year, ids[1 + q // 2], (), modified,
        )
        for q in range(4)
    )  # fmt: skip
    return (year_session, *semesters, *quarters)


def _split(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of ``total`` by ``weights``."""
    whole = sum(weights) or 1.0
    raw = [total * w / whole for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda k: raw[k] - out[k], reverse=True)
    for k in order[: total - sum(out)]:
        out[k] += 1
    return out


def generate_district(
    *,
    schools: int,
    students: int,
    seed: int,
    as_of: dt.datetime | None = None,
    guardians: bool = True,
    shape: Shape | None = None,
) -> District:
    """Build a district. Same arguments (``as_of`` included) → the same district."""
    shape = shape or Shape()
    if schools < 1 or students < 0:
        raise ValueError("A district needs at least one school and no negative students")
    as_of = as_of or default_as_of()
    rng = random.Random(seed)
    name, slug = DISTRICT_NAMES[seed % len(DISTRICT_NAMES)]
    year = school_year_of(as_of.date())
    base_modified = epoch(as_of) - 120 * 86400
    given_pool = list(GIVEN_NAMES)
    family_pool = list(FAMILY_NAMES)

    def stamp() -> int:
        # Minute granularity keeps the set of distinct timestamps (and render cache) small.
        return base_modified + rng.randrange(0, 119 * 1440) * 60

    district = District(
        seed=seed,
        name=name,
        slug=slug,
        sourced_id="1",
        identifier=f"{seed % 90 + 10}-{seed % 9000 + 1000}",
        as_of=as_of,
        school_year=year,
        schools=[],
        given_pool=given_pool,
        family_pool=family_pool,
        shape=shape,
    )
    year_title = f"{year}-{(year + 1) % 100:02d}"
    levels = [LEVEL_PATTERN[i % len(LEVEL_PATTERN)] for i in range(schools)]
    used_names: dict[str, int] = {}
    for i in range(schools):
        level = levels[i]
        label = SCHOOL_NAMES[(seed + i) % len(SCHOOL_NAMES)]
        kind = {"elementary": "Elementary", "middle": "Middle School", "high": "High School"}
        school_name = f"{label} {kind[level]}"
        used_names[school_name] = used_names.get(school_name, 0) + 1
        if used_names[school_name] > 1:
            school_name = f"{school_name} #{used_names[school_name]}"
        modified = stamp()
        sessions = _calendar(i, year, year_title, modified, shape)
        district.schools.append(
            School(
                index=i,
                sourced_id=str(SCHOOL_ID + i + 1),
                name=school_name,
                identifier=f"{seed % 90 + 10}{i + 1:04d}",
                level=level,
                grades=LEVEL_GRADES[level],
                year=sessions[0],
                semesters=(sessions[1], sessions[2]),
                quarters=(sessions[3], sessions[4], sessions[5], sessions[6]),
                modified=modified,
            )
        )
    per_school = _split(students, [LEVEL_WEIGHTS[lv] for lv in levels])

    n_given, n_family = len(given_pool), len(family_pool)
    d = district
    # Staff first gets the person ids; admins are added after teachers are known.
    staff_pid = STAFF_PID
    teachers_by_school: list[list[int]] = []
    class_base_by_school: list[int] = []
    for i, school in enumerate(district.schools):
        n_students = per_school[i]
        n_classes = max(8, round(n_students * CLASSES_PER_STUDENT / CLASS_SIZE))
        n_courses = max(4, n_classes // 4)
        course_base = len(d.course_id)
        for k in range(n_courses):
            d.course_id.append(COURSE_ID + course_base + k)
            d.course_school.append(i)
            d.course_catalog.append(k)
            d.course_modified.append(stamp())
            d.course_status.append(ACTIVE)
            d.course_alive.append(1)
        class_base = len(d.class_id)
        class_base_by_school.append(class_base)
        for k in range(n_classes):
            course = course_base + (k % n_courses)
            if school.level == "elementary" or k % 5 < 3:
                mask = YEAR_MASK
            else:
                mask = S1_MASK if k % 5 == 3 else S2_MASK
            d.class_id.append(SECTION_ID + class_base + k)
            d.class_course.append(course)
            d.class_school.append(i)
            d.class_mask.append(mask)
            d.class_period.append(k % 7 + 1)
            d.class_room.append(100 + rng.randrange(0, 300))
            d.class_number.append(k // n_courses + 1)
            d.class_modified.append(stamp())
            d.class_status.append(ACTIVE)
            d.class_alive.append(1)
        # Teachers: about five sections each.
        n_teachers = max(1, math.ceil(n_classes / SECTIONS_PER_TEACHER))
        teachers = []
        for _ in range(n_teachers):
            teachers.append(user_add(d, rng, staff_pid, TEACHER, i, -1, n_given, n_family, stamp()))
            staff_pid += 1
        teachers_by_school.append(teachers)

    # Administrators make staff ≈ students / 15 (at least one per school, a few district-wide).
    n_teachers_total = sum(len(t) for t in teachers_by_school)
    n_admins = max(schools + 1, students // 15 - n_teachers_total)
    for k in range(n_admins):
        school = -1 if k % 10 == 0 else k % schools
        user_add(d, rng, staff_pid, ADMINISTRATOR, school, -1, n_given, n_family, stamp())
        staff_pid += 1
    # A few teachers work at two schools.
    if schools > 1:
        for teachers in teachers_by_school:
            for t in teachers[::20]:
                d.user_school2[t] = (d.user_school[t] + 1) % schools

    # Teacher enrollments: one primary teacher per section, a co-teacher for 1 in 20.
    history = TEACHER_HISTORY
    for i in range(schools):
        teachers = teachers_by_school[i]
        base = class_base_by_school[i]
        end = class_base_by_school[i + 1] if i + 1 < schools else len(d.class_id)
        for c in range(base, end):
            k = c - base
            enrollment_add(d, history, teachers[k % len(teachers)], c, TEACHER, 1, stamp())
            history += 1
            if k % 20 == 7 and len(teachers) > 1:
                co = teachers[(k + 1) % len(teachers)]
                enrollment_add(d, history, co, c, TEACHER, 0, stamp())
                history += 1

    # Students and their seven sections.
    pid = STUDENT_PID
    roster = STUDENT_ROSTER
    sample = rng.sample
    for i, school in enumerate(district.schools):
        base = class_base_by_school[i]
        end = class_base_by_school[i + 1] if i + 1 < schools else len(d.class_id)
        n_classes = end - base
        grades = [_grade_number(g) for g in school.grades]
        take = min(CLASSES_PER_STUDENT, n_classes)
        for _ in range(per_school[i]):
            u = user_add(d, rng, pid, STUDENT, i, grades[rng.randrange(len(grades))],
                          n_given, n_family, stamp())  # fmt: skip
            pid += 1
            for c in sample(range(n_classes), take):
                enrollment_add(d, roster, u, base + c, STUDENT, 0, stamp())
                roster += 1

    if guardians:
        _add_households(d, rng, stamp, n_given, n_family)
    d.next_section = SECTION_ID + len(d.class_id)
    n_staff = staff_pid - STAFF_PID
    n_students = pid - STUDENT_PID
    n_teacher_enr = history - TEACHER_HISTORY
    d.id_ranges = {
        "users": [
            (STAFF_PID, 0, n_staff),
            (STUDENT_PID, n_staff, n_students),
            (GUARDIAN_PID, n_staff + n_students, len(d.user_pid) - n_staff - n_students),
        ],
        "enrollments": [
            (TEACHER_HISTORY, 0, n_teacher_enr),
            (STUDENT_ROSTER, n_teacher_enr, roster - STUDENT_ROSTER),
        ],
        "classes": [(SECTION_ID, 0, len(d.class_id))],
        "courses": [(COURSE_ID, 0, len(d.course_id))],
    }
    return district


def user_add(
    d: District,
    rng: random.Random,
    pid: int,
    role: int,
    school: int,
    grade: int,
    n_given: int,
    n_family: int,
    modified: int,
) -> int:
    """Append an active user (``grade`` -1 for staff and guardians) with a random name drawn
    from the first ``n_given``/``n_family`` names of the pools; returns its row. The
    generator and the "next night" mutations both add users this way."""
    given = rng.randrange(n_given)
    family = rng.randrange(n_family)
    d.user_pid.append(pid)
    d.user_role.append(role)
    d.user_given.append(given)
    d.user_family.append(family)
    d.user_middle.append(rng.randrange(n_given) if rng.random() < 0.4 else -1)
    d.user_login_given.append(given)
    d.user_login_family.append(family)
    d.user_school.append(school)
    d.user_school2.append(-1)
    d.user_grade.append(grade)
    d.user_household.append(-1)
    d.user_modified.append(modified)
    d.user_status.append(ACTIVE)
    d.user_alive.append(1)
    return len(d.user_pid) - 1


def enrollment_add(
    d: District, rid: int, user: int, klass: int, role: int, primary: int, modified: int
) -> int:
    """Append an active enrollment of row ``user`` in row ``klass``; returns its row."""
    d.enr_id.append(rid)
    d.enr_user.append(user)
    d.enr_class.append(klass)
    d.enr_role.append(role)
    d.enr_primary.append(primary)
    d.enr_modified.append(modified)
    d.enr_status.append(ACTIVE)
    d.enr_alive.append(1)
    return len(d.enr_id) - 1


def _add_households(d: District, rng: random.Random, stamp, n_given: int, n_family: int) -> None:
    """Group students into households of 1-3 siblings, each with one guardian (IC returns
    guardians to gradebook connections). Siblings share the guardian's family name."""
    students = [i for i in range(len(d.user_pid)) if d.user_role[i] == STUDENT]
    rng.shuffle(students)
    pid = GUARDIAN_PID
    k = 0
    while k < len(students):
        size = rng.choice((1, 1, 1, 2, 2, 3))
        children = sorted(students[k : k + size])
        k += size
        household = len(d.household_children)
        school = d.user_school[children[0]]
        guardian = user_add(d, rng, pid, GUARDIAN, school, -1, n_given, n_family, stamp())
        pid += 1
        family = d.user_family[guardian]
        for child in children:
            d.user_family[child] = family
            d.user_login_family[child] = family
            d.user_household[child] = household
        d.user_household[guardian] = household
        d.household_guardian.append(guardian)
        d.household_children.append(children)
