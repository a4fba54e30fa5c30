"""The first write into a district's Canvas waits for a person (``District.guard_first_write``).

Nothing of ours is in that Canvas yet, so a wrong setting (the wrong account, the wrong
school year) would write a whole district where it does not belong. The run is held with
its plan summary in words, through the same hold, approve and discard flow as the guards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provisioning.guards import FILE_LABELS, GuardTrip

if TYPE_CHECKING:
    from provisioning.services.plan import PlanResult
    from tenants.models import District

FIRST_WRITE_HELD = (
    "First write into this district's Canvas: {summary}. Approve to send it, or discard it "
    "(the district setting 'Hold the first write' turns this check off)."
)


def plan_in_words(plan: PlanResult) -> str:
    """``creates 3 school accounts, 1,280 users, 300 courses …`` from the plan's counts."""
    parts = []
    for action, verb in (("create", "creates"), ("update", "updates"), ("drop", "drops")):
        counted = [
            f"{counts[action]:,} {FILE_LABELS.get(file, file)}"
            for file, counts in plan.by_file.items()
            if counts.get(action)
        ]
        if counted:
            parts.append(f"{verb} {', '.join(counted)}")
    return "; ".join(parts) or "nothing to change"


def first_write_trips(*, district: District, plan: PlanResult) -> list[GuardTrip]:
    """A trip when the district wants its first write held, nothing of ours is in its Canvas
    yet (the Canvas mirror is empty) and the plan would send something."""
    if not district.guard_first_write or any(plan.base_by_file.values()):
        return []
    if not plan.rows_to_send(send_all=True):
        return []
    return [
        GuardTrip(guard="first_write", message=FIRST_WRITE_HELD.format(summary=plan_in_words(plan)))
    ]
