""" "Next night" changes to a generated district, and the named scenarios.

Every changed record gets ``dateLastModified`` = now, so a delta read
(``dateLastModified>'last run'``) returns exactly the changed rows; records that vanish
(drops, moves, re-numbered sections) are simply gone, as IC hard-deletes them, and only a
full read notices. Each function returns the sourcedIds it touched, by kind, so tests can
assert precisely what a delta must carry.
"""

from __future__ import annotations

import random
import time

from sandbox.oneroster.generator import (
    CLASSES_PER_STUDENT,
    STUDENT,
    TOBEDELETED,
    District,
    enrollment_add,
    user_add,
)

MUTATION_KINDS = ("adds", "drops", "moves", "renames", "tobedeleted")


def _now() -> int:
    return int(time.time())


def _student_enrollment(d: District, rng: random.Random, *, active_only: bool = True) -> int:
    """A random live student enrollment (bounded retries; raises if there is none)."""
    n = len(d.enr_id)
    for _ in range(10_000):
        i = rng.randrange(n)
        if d.enr_alive[i] and d.enr_role[i] == STUDENT and (not active_only or not d.enr_status[i]):
            return i
    raise ValueError("No live student enrollment left to change")


def _classes_of_school(d: District, school: int) -> list[int]:
    return [c for c in range(len(d.class_id)) if d.class_alive[c] and d.class_school[c] == school]


def apply_mutations(
    d: District,
    *,
    rng: random.Random,
    adds: int = 0,
    drops: int = 0,
    moves: int = 0,
    renames: int = 0,
    tobedeleted: int = 0,
) -> dict[str, list[str]]:
    """Apply each kind of change ``n`` times. Returns touched sourcedIds by kind:
    ``added_users``, ``added_enrollments``, ``dropped_enrollments``, ``moved_from``,
    ``moved_to``, ``renamed_users``, ``tobedeleted_enrollments``."""
    now = _now()
    out: dict[str, list[str]] = {
        "added_users": [],
        "added_enrollments": [],
        "dropped_enrollments": [],
        "moved_from": [],
        "moved_to": [],
        "renamed_users": [],
        "tobedeleted_enrollments": [],
    }
    school_classes: dict[int, list[int]] = {}

    def classes(school: int) -> list[int]:
        if school not in school_classes:
            school_classes[school] = _classes_of_school(d, school)
        return school_classes[school]

    for _ in range(adds):
        school = rng.randrange(len(d.schools))
        grades = d.schools[school].grades
        grade = rng.choice(grades)
        u = user_add(
            d, rng, d.next_pid, STUDENT, school, 0 if grade == "KG" else int(grade),
            len(d.given_pool), len(d.family_pool), now,
        )  # fmt: skip
        d.next_pid += 1
        out["added_users"].append(d.user_sourced_id(u))
        pool = classes(school)
        for c in rng.sample(pool, min(CLASSES_PER_STUDENT, len(pool))):
            e = enrollment_add(d, d.next_roster, u, c, STUDENT, 0, now)
            d.next_roster += 1
            out["added_enrollments"].append(d.enrollment_sourced_id(e))
    for _ in range(drops):
        e = _student_enrollment(d, rng)
        d.enr_alive[e] = 0
        out["dropped_enrollments"].append(d.enrollment_sourced_id(e))
    for _ in range(moves):
        e = _student_enrollment(d, rng)
        old_class = d.enr_class[e]
        pool = classes(d.class_school[old_class])
        # Prefer another section of the same course (a schedule change).
        same_course = [c for c in pool if d.class_course[c] == d.class_course[old_class]]
        candidates = [c for c in same_course if c != old_class] or [
            c for c in pool if c != old_class
        ]
        if not candidates:
            continue
        d.enr_alive[e] = 0
        out["moved_from"].append(d.enrollment_sourced_id(e))
        new = enrollment_add(d, d.next_roster, d.enr_user[e], rng.choice(candidates),
                              STUDENT, 0, now)  # fmt: skip
        d.next_roster += 1
        out["moved_to"].append(d.enrollment_sourced_id(new))
    for _ in range(renames):
        for _attempt in range(1000):
            u = rng.randrange(len(d.user_pid))
            if d.user_alive[u]:
                break
        d.user_family[u] = rng.randrange(len(d.family_pool))
        d.user_modified[u] = now
        out["renamed_users"].append(d.user_sourced_id(u))
    for _ in range(tobedeleted):
        e = _student_enrollment(d, rng)
        d.enr_status[e] = TOBEDELETED
        d.enr_modified[e] = now
        out["tobedeleted_enrollments"].append(d.enrollment_sourced_id(e))
    d.version += 1
    return out


def next_night(d: District, *, rng: random.Random, fraction: float = 0.01) -> dict[str, list[str]]:
    """A typical night: with n = fraction * students, n/5 new students (7 sections each),
    n drops, n moves, n/2 renames and n/2 ``tobedeleted`` enrollments."""
    students = sum(1 for i in range(len(d.user_pid)) if d.user_role[i] == STUDENT)
    n = max(1, round(fraction * students))
    return apply_mutations(
        d, rng=rng, adds=max(1, n // 5), drops=n, moves=n, renames=max(1, n // 2),
        tobedeleted=max(1, n // 2),
    )  # fmt: skip


def school_index(d: District, school_sourced_id: str | None) -> int:
    """The school to hit: the given one, else the one with the most classes."""
    if school_sourced_id:
        for s in d.schools:
            if s.sourced_id == school_sourced_id:
                return s.index
        raise ValueError(f"No school {school_sourced_id!r}")
    sizes = [0] * len(d.schools)
    for c in range(len(d.class_id)):
        if d.class_alive[c]:
            sizes[d.class_school[c]] += 1
    return max(range(len(sizes)), key=sizes.__getitem__)


def mass_drop(
    d: District, *, school: str | None = None, share: float = 0.6, rng: random.Random
) -> dict[str, list[str]]:
    """Drop ``share`` of the student enrollments of one school (a bad scheduling run)."""
    s = school_index(d, school)
    dropped = []
    for e in range(len(d.enr_id)):
        if (
            d.enr_alive[e]
            and d.enr_role[e] == STUDENT
            and d.class_school[d.enr_class[e]] == s
            and rng.random() < share
        ):
            d.enr_alive[e] = 0
            dropped.append(d.enrollment_sourced_id(e))
    d.version += 1
    return {"school": [d.schools[s].sourced_id], "dropped_enrollments": dropped}


def renumber_sections(d: District, *, school: str | None = None) -> dict[str, list[str]]:
    """Every section of one school gets a new sectionID, and its roster records new ids:
    to a consumer, all of the school's classes and enrollments were deleted and recreated."""
    s = school_index(d, school)
    now = _now()
    old_classes, new_classes, old_enr, new_enr = [], [], [], []
    touched = set()
    for c in range(len(d.class_id)):
        if d.class_alive[c] and d.class_school[c] == s:
            old_classes.append(str(d.class_id[c]))
            d.class_id[c] = d.next_section
            d.next_section += 1
            d.class_modified[c] = now
            new_classes.append(str(d.class_id[c]))
            touched.add(c)
    for e in range(len(d.enr_id)):
        if d.enr_alive[e] and d.enr_class[e] in touched:
            old_enr.append(d.enrollment_sourced_id(e))
            d.enr_id[e] = d.next_roster
            d.next_roster += 1
            d.enr_modified[e] = now
            new_enr.append(d.enrollment_sourced_id(e))
    d.version += 1
    return {
        "school": [d.schools[s].sourced_id],
        "old_classes": old_classes,
        "new_classes": new_classes,
        "old_enrollments": old_enr,
        "new_enrollments": new_enr,
    }
