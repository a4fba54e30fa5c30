"""Safety guards on a plan (DESIGN §9): decide whether a run may apply or must be held.

Pure functions over the plan's counts, so each guard is tested without a database. A guard
that trips returns a reason a person understands; the run is held and nothing is sent until
someone approves or discards it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioning.services.plan import PlanResult
    from tenants.models import District

#: Files with a per-type drop threshold, and the district setting holding it.
TYPE_THRESHOLDS = {
    "users": "guard_users_drop_pct",
    "courses": "guard_courses_drop_pct",
    "sections": "guard_sections_drop_pct",
    "enrollments": "guard_enrollments_drop_pct",
    # Retiring terms (a term-mode switch, a calendar rebuild) moves every course in them.
    "terms": "guard_courses_drop_pct",
}
SCHOOL_GUARDED_FILES = ("users", "courses", "sections", "enrollments")
#: A school whose dropped sections come back as at least this share of new ones was re-numbered.
RENUMBER_CREATE_SHARE = 0.5
SOURCE_LABELS = {
    "orgs": "schools and other orgs",
    "academicSessions": "academic sessions",
    "courses": "courses",
    "classes": "classes",
    "users": "users",
    "enrollments": "enrollments",
}
FILE_LABELS = {
    "accounts": "school accounts",
    "terms": "terms",
    "users": "users",
    "courses": "courses",
    "sections": "sections",
    "enrollments": "enrollments",
    "user_observers": "observer links",
}


@dataclass(frozen=True, slots=True)
class GuardTrip:
    guard: str  # empty_source | validation | renumbering | type_share | school_share | user_cap
    message: str
    file: str = ""
    school: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def guards_evaluate(*, district: District, plan: PlanResult) -> list[GuardTrip]:
    """Every guard that trips on ``plan``, most specific reason first."""
    trips: list[GuardTrip] = []
    trips += _empty_source(plan)
    trips += _validation_share(district, plan)
    renumbered = _renumbering(district, plan)
    trips += renumbered
    trips += _type_share(district, plan)
    skip = {t.school for t in renumbered}
    trips += _school_share(district, plan, skip_schools=skip)
    trips += _user_cap(district, plan)
    return trips


def _empty_source(plan: PlanResult) -> list[GuardTrip]:
    """A replacing read that returned nothing where the mirror has rows: an outage or a wrong
    school year, not everyone leaving."""
    trips = []
    for collection in sorted(plan.replaced):
        had = plan.mirror_counts.get(collection, 0)
        if had and plan.source_counts.get(collection, 0) == 0:
            label = SOURCE_LABELS[collection]
            trips.append(
                GuardTrip(
                    "empty_source",
                    f"The OneRoster feed returned no {label}, but the last run had {had:,} — "
                    "an outage or a wrong school year would look like everyone left.",
                )
            )
    return trips


def _validation_share(district: District, plan: PlanResult) -> list[GuardTrip]:
    """Many records of a collection failing validation: a provider change (a new export
    format, a field sent differently) rather than a few bad rows. Applying would drop or
    leave out what was rejected, so a person looks first; approving applies the valid ones
    and keeps the rejected ones as conflicts."""
    trips = []
    for collection, label in SOURCE_LABELS.items():
        invalid = plan.invalid_counts.get(collection, 0)
        read = invalid + plan.source_counts.get(collection, 0)
        if (
            invalid >= district.guard_validation_min_count
            and _pct(invalid, read) > district.guard_validation_pct
        ):
            reasons = "; ".join(plan.invalid_reasons.get(collection, ()))
            trips.append(
                GuardTrip(
                    "validation",
                    f"{invalid:,} of {read:,} {label} failed validation: {reasons}.",
                    file=collection,
                )
            )
    return trips


def _renumbering(district: District, plan: PlanResult) -> list[GuardTrip]:
    trips = []
    for school, files in sorted(plan.by_school.items()):
        sections = files.get("sections", {})
        drops, creates = sections.get("drop", 0), sections.get("create", 0)
        base = plan.base_by_school.get(school, {}).get("sections", 0)
        if (
            base >= district.guard_school_min_count
            and _pct(drops, base) > district.guard_school_drop_pct
            and creates >= RENUMBER_CREATE_SHARE * drops
        ):
            name = plan.school_names.get(school, school)
            trips.append(
                GuardTrip(
                    "renumbering",
                    f"{name}: {drops:,} of {base:,} sections would be dropped and {creates:,} "
                    "created — looks like the school's sections were re-numbered.",
                    file="sections",
                    school=school,
                )
            )
    return trips


def _type_share(district: District, plan: PlanResult) -> list[GuardTrip]:
    trips = []
    for file, setting in TYPE_THRESHOLDS.items():
        limit = getattr(district, setting)
        drops = plan.by_file.get(file, {}).get("drop", 0)
        base = plan.base_by_file.get(file, 0)
        if drops and _pct(drops, base) > limit:
            trips.append(
                GuardTrip(
                    "type_share",
                    f"{drops:,} of {base:,} {FILE_LABELS[file]} would be dropped "
                    f"({_pct(drops, base):.0f} %, limit {limit} %).",
                    file=file,
                )
            )
    return trips


def _school_share(
    district: District, plan: PlanResult, *, skip_schools: set[str]
) -> list[GuardTrip]:
    trips = []
    limit = district.guard_school_drop_pct
    for school, files in sorted(plan.by_school.items()):
        if not school or school in skip_schools:
            continue
        for file in SCHOOL_GUARDED_FILES:
            drops = files.get(file, {}).get("drop", 0)
            base = plan.base_by_school.get(school, {}).get(file, 0)
            if base >= district.guard_school_min_count and _pct(drops, base) > limit:
                name = plan.school_names.get(school, school)
                trips.append(
                    GuardTrip(
                        "school_share",
                        f"{name}: {drops:,} of {base:,} {FILE_LABELS[file]} would be dropped "
                        f"({_pct(drops, base):.0f} %, limit {limit} % per school).",
                        file=file,
                        school=school,
                    )
                )
    return trips


def _user_cap(district: District, plan: PlanResult) -> list[GuardTrip]:
    drops = plan.by_file.get("users", {}).get("drop", 0)
    cap = district.guard_max_user_removals
    if drops > cap:
        return [
            GuardTrip(
                "user_cap",
                f"{drops:,} users would be removed; at most {cap:,} are removed without approval.",
                file="users",
            )
        ]
    return []
