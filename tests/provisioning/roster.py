"""A small, generated OneRoster roster as typed records, for planning tests.

Deterministic: two schools, a year with two semesters, classes with one teacher and a few
students each. Tests change it with ``msgspec.structs.replace`` and pass records to a run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from msgspec.structs import replace

from integration.oneroster.records import (
    AcademicSession,
    Class,
    Course,
    Enrollment,
    Org,
    User,
)

MODIFIED = dt.datetime(2025, 8, 1, 12, 0, tzinfo=dt.UTC)


@dataclass
class Roster:
    orgs: list[Org] = field(default_factory=list)
    sessions: list[AcademicSession] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    classes: list[Class] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)

    def records(self) -> list[object]:
        return [
            *self.orgs,
            *self.sessions,
            *self.courses,
            *self.classes,
            *self.users,
            *self.enrollments,
        ]

    def replace_user(self, sourced_id: str, **changes: object) -> None:
        self.users = [
            replace(u, **changes) if u.sourced_id == sourced_id else u for u in self.users
        ]


def roster_build(
    *, schools: int = 2, classes_per_school: int = 3, students_per_class: int = 4
) -> Roster:
    roster = Roster()
    roster.orgs.append(Org("dist", "active", MODIFIED, "Test District", "district"))
    roster.sessions.append(
        AcademicSession(
            "sy2026",
            "active",
            MODIFIED,
            "2025-2026",
            "schoolYear",
            dt.date(2025, 8, 15),
            dt.date(2026, 6, 5),
            "2026",
        )
    )
    for s in range(1, schools + 1):
        school = f"sch{s}"
        roster.orgs.append(Org(school, "active", MODIFIED, f"School {s}", "school", parent="dist"))
        fall, spring = f"{school}-fall", f"{school}-spring"
        roster.sessions += [
            AcademicSession(
                fall,
                "active",
                MODIFIED,
                "Fall",
                "semester",
                dt.date(2025, 8, 15),
                dt.date(2025, 12, 19),
                "2026",
                parent="sy2026",
            ),
            AcademicSession(
                spring,
                "active",
                MODIFIED,
                "Spring",
                "semester",
                dt.date(2026, 1, 5),
                dt.date(2026, 6, 5),
                "2026",
                parent="sy2026",
            ),
        ]
        roster.courses.append(
            Course(f"{school}-math", "active", MODIFIED, "Math", "MATH", school, "2026")
        )
        teacher = f"t{s}"
        roster.users.append(
            User(
                teacher,
                "active",
                MODIFIED,
                True,
                f"teacher{s}",
                "Tea",
                f"Cher{s}",
                "teacher",
                (school,),
                identifier=f"T{s:04d}",
                email=f"teacher{s}@example.org",
            )
        )
        for c in range(1, classes_per_school + 1):
            cls = f"{school}-c{c}"
            terms = (fall, spring) if c == 1 else (fall,)
            roster.classes.append(
                Class(
                    cls,
                    "active",
                    MODIFIED,
                    f"Math {c}",
                    f"M{c}",
                    "scheduled",
                    f"{school}-math",
                    school,
                    terms,
                )
            )
            roster.enrollments.append(
                Enrollment(f"t-{cls}", "active", MODIFIED, teacher, cls, school, "teacher")
            )
            for n in range(1, students_per_class + 1):
                student = f"s{s}-{c}-{n}"
                roster.users.append(
                    User(
                        student,
                        "active",
                        MODIFIED,
                        True,
                        f"student{s}{c}{n}",
                        "Stu",
                        f"Dent{n}",
                        "student",
                        (school,),
                        identifier=f"S{s}{c}{n}",
                        email=f"student{s}{c}{n}@example.org",
                    )
                )
                roster.enrollments.append(
                    Enrollment(f"e-{cls}-{n}", "active", MODIFIED, student, cls, school, "student")
                )
    return roster
