"""The simulated IC gradebook: categories, lineItems, results, with IC's 1.1 rules.

Rules applied on PUT (``infinite-campus.md`` §10-11):

- no category → IC's placeholder category ``11111111-1111-1111-111111111111``;
- no gradingPeriod → the class's term (quarter) containing ``dueDate``; a dueDate outside
  every term of the class is refused;
- title at most ``TITLE_LIMIT`` characters; ``scoreStatus`` from the exact 1.1 spellings;
- a result's student must be rostered (active enrollment) in the lineItem's class;
- 201 when the sourcedId is new, 200 when it replaces;
- IC's own grading-task lineItems (one per section x term, sourcedId = sectionID + termID +
  taskID) take results only while the grading window of that term is open; the percent is
  matched to the score group (A ≥ 90 ...).

Refusals raise ``Rejected`` (→ 400 with an imsx ``invaliddata`` body).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.oneroster.generator import STUDENT, District

PLACEHOLDER_CATEGORY = "11111111-1111-1111-111111111111"
GRADING_TASK_CATEGORY = "00000000-0000-0000-0000-000000000000"
TITLE_LIMIT = 50
TASK_ID = 1
TASK_TITLE = "Quarter Grade"
SCORE_STATUSES = frozenset(
    {"exempt", "fully graded", "not submitted", "partially graded", "submitted"}
)
SCORE_GROUP = ((90.0, "A"), (80.0, "B"), (70.0, "C"), (60.0, "D"), (0.0, "F"))
CATEGORY_TITLES = (
    "Homework",
    "Classwork",
    "Quizzes",
    "Tests",
    "Projects",
    "Participation",
    "Labs",
    "Formative",
    "Summative",
)


class Rejected(ValueError):
    """The provider refuses the write; ``code_minor`` goes into the imsx body."""

    def __init__(self, message: str, *, code_minor: str = "invaliddata", status: int = 400):
        super().__init__(message)
        self.code_minor = code_minor
        self.status = status


@dataclass(frozen=True)
class GradingTask:
    sourced_id: str
    class_index: int
    quarter: int  # 0-3


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _timestamp(value: object, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise Rejected(f"{name} must be an ISO 8601 date-time")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(f"{name} is not an ISO 8601 date-time: {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _ref_id(value: object, name: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise Rejected(f"{name} is required")
        return None
    if not isinstance(value, dict) or not isinstance(value.get("sourcedId"), str):
        raise Rejected(f"{name} must be a GUIDRef with a sourcedId")
    return value["sourcedId"]


def _number(value: object, name: str, *, required: bool) -> float | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Rejected(f"{name} must be a number")
    return float(value)


def _ref(kind: str, sourced_id: str, base: str, path: str) -> dict:
    return {"href": f"{base}/{path}/{sourced_id}", "sourcedId": sourced_id, "type": kind}


class Gradebook:
    """Stored lineItems and results plus IC's generated grading tasks. Thread-safe."""

    def __init__(
        self,
        district: District,
        *,
        find_class: Callable[[str], int | None],
        find_user: Callable[[str], int | None],
        class_students: Callable[[int], set[int]],
    ) -> None:
        self.d = district
        self._find_class = find_class
        self._find_user = find_user
        self._class_students = class_students
        self.lock = threading.RLock()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(district.schools[0].modified))
        self.categories: dict[str, dict] = {}
        for k, title in enumerate(CATEGORY_TITLES):
            sid = f"{district.seed % 0xFFFF:04x}{k:04x}-6a1e-4c0d-9e2b-{k:012x}"
            self.categories[sid] = {
                "sourcedId": sid,
                "status": "active",
                "dateLastModified": stamp,
                "title": title,
            }
        for sid, title in (
            (PLACEHOLDER_CATEGORY, "Uncategorized"),
            (GRADING_TASK_CATEGORY, "Grading Task"),
        ):
            self.categories[sid] = {
                "sourcedId": sid,
                "status": "active",
                "dateLastModified": stamp,
                "title": title,
            }
        self.line_items: dict[str, dict] = {}
        self.results: dict[str, dict] = {}
        self.results_by_line_item: dict[str, dict[str, None]] = {}
        self.line_items_by_class: dict[str, dict[str, None]] = {}
        self.closed_terms: set[str] = set()
        self.windows_closed_by_default = False
        self.open_terms: set[str] = set()
        self._tasks: dict[str, GradingTask] | None = None
        self._tasks_version = -1

    # --- grading tasks and windows -------------------------------------------------------

    def grading_task_id(self, class_index: int, quarter: int) -> str:
        term = self.d.schools[self.d.class_school[class_index]].quarters[quarter]
        return f"{self.d.class_id[class_index]}{term.sourced_id}{TASK_ID}"

    def grading_tasks_of_class(self, class_index: int) -> list[GradingTask]:
        mask = self.d.class_mask[class_index]
        return [
            GradingTask(self.grading_task_id(class_index, q), class_index, q)
            for q in range(4)
            if mask >> q & 1
        ]

    def grading_task(self, sourced_id: str) -> GradingTask | None:
        with self.lock:
            if self._tasks is None or self._tasks_version != self.d.version:
                tasks = {}
                for c in range(len(self.d.class_id)):
                    if self.d.class_alive[c]:
                        for task in self.grading_tasks_of_class(c):
                            tasks[task.sourced_id] = task
                self._tasks = tasks
                self._tasks_version = self.d.version
            return self._tasks.get(sourced_id)

    def all_grading_tasks(self) -> list[GradingTask]:
        self.grading_task("")
        assert self._tasks is not None
        return list(self._tasks.values())

    def window_open(self, term_sourced_id: str) -> bool:
        if self.windows_closed_by_default:
            return term_sourced_id in self.open_terms
        return term_sourced_id not in self.closed_terms

    def set_window(self, *, open_: bool, terms: list[str] | None) -> None:
        """Open or close grading windows for ``terms`` (all terms when ``None``)."""
        with self.lock:
            if terms is None:
                self.windows_closed_by_default = not open_
                self.open_terms.clear()
                self.closed_terms.clear()
                return
            for term in terms:
                if open_:
                    self.closed_terms.discard(term)
                    self.open_terms.add(term)
                else:
                    self.open_terms.discard(term)
                    self.closed_terms.add(term)

    def grading_task_json(self, task: GradingTask, base: str) -> dict:
        d = self.d
        school = d.schools[d.class_school[task.class_index]]
        term = school.quarters[task.quarter]
        return {
            "sourcedId": task.sourced_id,
            "status": "active",
            "dateLastModified": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(d.class_modified[task.class_index])
            ),
            "title": TASK_TITLE,
            "description": f"{TASK_TITLE} {term.title}",
            "assignDate": f"{term.start_date.isoformat()}T00:00:00Z",
            "dueDate": f"{term.end_date.isoformat()}T23:59:59Z",
            "class": _ref("class", str(d.class_id[task.class_index]), base, "classes"),
            "category": _ref("category", GRADING_TASK_CATEGORY, base, "categories"),
            "gradingPeriod": _ref("academicSession", term.sourced_id, base, "academicSessions"),
            "resultValueMin": 0.0,
            "resultValueMax": 100.0,
            "metadata": {"ic.taskID": str(TASK_ID), "ic.gradingWindowOpen": self.window_open(
                term.sourced_id
            )},
        }  # fmt: skip

    # --- lineItems -----------------------------------------------------------------------

    def put_line_item(self, sourced_id: str, body: object, base: str) -> tuple[dict, bool]:
        """Validate and store; returns (stored object, created?)."""
        item = body.get("lineItem") if isinstance(body, dict) else None
        if not isinstance(item, dict):
            raise Rejected('The body must be {"lineItem": {...}}')
        if item.get("sourcedId", sourced_id) != sourced_id:
            raise Rejected("The sourcedId in the body differs from the one in the URL")
        if self.grading_task(sourced_id) is not None:
            raise Rejected(
                "Grading task lineItems are generated by Campus and cannot be replaced",
                code_minor="unsupportedoperation",
            )
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            raise Rejected("title is required")
        if len(title) > TITLE_LIMIT:
            raise Rejected(f"title is longer than {TITLE_LIMIT} characters ({len(title)})")
        class_id = _ref_id(item.get("class"), "class", required=True)
        class_index = self._find_class(class_id)
        if class_index is None:
            raise Rejected(f"Unknown class {class_id!r}")
        assign = _timestamp(item.get("assignDate"), "assignDate")
        due_raw = item.get("dueDate")
        due = _timestamp(due_raw, "dueDate") if due_raw is not None else None
        if due is not None and due < assign:
            raise Rejected("dueDate is before assignDate")
        category = _ref_id(item.get("category"), "category", required=False)
        if category is None:
            category = PLACEHOLDER_CATEGORY
        elif category not in self.categories:
            raise Rejected(f"Unknown category {category!r}")
        school = self.d.schools[self.d.class_school[class_index]]
        # The quarters grade in either calendar shape: typed ``term`` (IC) or ``gradingPeriod``.
        terms = school.quarters_for_mask(self.d.class_mask[class_index])
        period = _ref_id(item.get("gradingPeriod"), "gradingPeriod", required=False)
        if period is None:
            if due is None:
                raise Rejected("Either gradingPeriod or dueDate is required")
            day = due.date()
            term = next((t for t in terms if t.start_date <= day <= t.end_date), None)
            if term is None:
                raise Rejected(
                    f"dueDate {day.isoformat()} is not inside a term of the class "
                    "(cannot derive the grading period)"
                )
            period = term.sourced_id
        elif period not in {s.sourced_id for s in school.sessions}:
            raise Rejected(f"Unknown grading period {period!r} for the class's school")
        low = _number(item.get("resultValueMin"), "resultValueMin", required=True)
        high = _number(item.get("resultValueMax"), "resultValueMax", required=False)
        if high is not None and low is not None and high < low:
            raise Rejected("resultValueMax is below resultValueMin")
        status = item.get("status", "active")
        if status not in ("active", "tobedeleted"):
            raise Rejected(f"status {status!r} is not active or tobedeleted")
        stored = {
            "sourcedId": sourced_id,
            "status": status,
            "dateLastModified": _iso_now(),
            "title": title,
            "description": item.get("description") or "",
            "assignDate": assign.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dueDate": (due or assign).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "class": _ref("class", class_id, base, "classes"),
            "category": _ref("category", category, base, "categories"),
            "gradingPeriod": _ref("academicSession", period, base, "academicSessions"),
            "resultValueMin": low,
        }
        if high is not None:
            # Optional in 1.1: absent stays absent (never 0, which would sit below the minimum).
            stored["resultValueMax"] = high
        with self.lock:
            created = sourced_id not in self.line_items
            old = self.line_items.get(sourced_id)
            if old is not None and old["class"]["sourcedId"] != class_id:
                self.line_items_by_class.get(old["class"]["sourcedId"], {}).pop(sourced_id, None)
            self.line_items[sourced_id] = stored
            self.line_items_by_class.setdefault(class_id, {})[sourced_id] = None
        return stored, created

    def delete_line_item(self, sourced_id: str) -> None:
        with self.lock:
            item = self.line_items.pop(sourced_id, None)
            if item is None:
                raise Rejected(
                    f"No lineItem {sourced_id!r}", code_minor="unknownobject", status=404
                )
            self.line_items_by_class.get(item["class"]["sourcedId"], {}).pop(sourced_id, None)
            for result_id in self.results_by_line_item.pop(sourced_id, {}):
                self.results.pop(result_id, None)

    def line_item_json(self, sourced_id: str, base: str) -> dict | None:
        with self.lock:
            stored = self.line_items.get(sourced_id)
        if stored is not None:
            return stored
        task = self.grading_task(sourced_id)
        return self.grading_task_json(task, base) if task else None

    def class_line_items(self, class_index: int, base: str) -> list[dict]:
        class_id = str(self.d.class_id[class_index])
        tasks = [self.grading_task_json(t, base) for t in self.grading_tasks_of_class(class_index)]
        with self.lock:
            stored = [self.line_items[s] for s in self.line_items_by_class.get(class_id, {})]
        return tasks + stored

    # --- results -------------------------------------------------------------------------

    def put_result(self, sourced_id: str, body: object, base: str) -> tuple[dict, bool]:
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise Rejected('The body must be {"result": {...}}')
        if result.get("sourcedId", sourced_id) != sourced_id:
            raise Rejected("The sourcedId in the body differs from the one in the URL")
        line_item_id = _ref_id(result.get("lineItem"), "lineItem", required=True)
        student_id = _ref_id(result.get("student"), "student", required=True)
        with self.lock:
            item = self.line_items.get(line_item_id)
        task = None if item is not None else self.grading_task(line_item_id)
        if item is None and task is None:
            raise Rejected(f"Unknown lineItem {line_item_id!r}")
        if item is not None:
            class_index = self._find_class(item["class"]["sourcedId"])
            if class_index is None:
                raise Rejected("The lineItem's class no longer exists")
        else:
            class_index = task.class_index
        user = self._find_user(student_id)
        if user is None or self.d.user_role[user] != STUDENT:
            raise Rejected(f"Unknown student {student_id!r}")
        if user not in self._class_students(class_index):
            raise Rejected(f"Student {student_id!r} is not rostered in the section")
        score_status = result.get("scoreStatus")
        if score_status not in SCORE_STATUSES:
            raise Rejected(f"scoreStatus {str(score_status)[:40]!r} is not a 1.1 score status")
        score = _number(result.get("score"), "score", required=True)
        score_date = result.get("scoreDate")
        if not isinstance(score_date, str):
            raise Rejected("scoreDate is required")
        try:
            day = (
                dt.date.fromisoformat(score_date)
                if len(score_date) == 10
                else dt.datetime.fromisoformat(score_date).date()
            )
        except ValueError:
            raise Rejected(f"scoreDate is not a date: {score_date[:40]!r}") from None
        metadata = {}
        if task is not None:
            term = self.d.schools[self.d.class_school[class_index]].quarters[task.quarter]
            if not self.window_open(term.sourced_id):
                raise Rejected(f"The grading window for {TASK_TITLE} in {term.title} is closed")
            if not 0.0 <= score <= 100.0:
                raise Rejected("A grading task takes a percent between 0 and 100")
            metadata["ic.scoreGroupValue"] = next(v for floor, v in SCORE_GROUP if score >= floor)
        comment = result.get("comment")
        status = result.get("status", "active")
        if status not in ("active", "tobedeleted"):
            raise Rejected(f"status {status!r} is not active or tobedeleted")
        stored = {
            "sourcedId": sourced_id,
            "status": status,
            "dateLastModified": _iso_now(),
            "lineItem": _ref("lineItem", line_item_id, base, "lineItems"),
            "student": _ref("student", student_id, base, "students"),
            "scoreStatus": score_status,
            "score": score,
            "scoreDate": day.isoformat(),
            "comment": comment if isinstance(comment, str) else "",
        }
        if metadata:
            stored["metadata"] = metadata
        with self.lock:
            created = sourced_id not in self.results
            old = self.results.get(sourced_id)
            if old is not None:
                old_item = old["lineItem"]["sourcedId"]
                self.results_by_line_item.get(old_item, {}).pop(sourced_id, None)
            self.results[sourced_id] = stored
            self.results_by_line_item.setdefault(line_item_id, {})[sourced_id] = None
        return stored, created

    def delete_result(self, sourced_id: str) -> None:
        with self.lock:
            result = self.results.pop(sourced_id, None)
            if result is None:
                raise Rejected(f"No result {sourced_id!r}", code_minor="unknownobject", status=404)
            line_item = result["lineItem"]["sourcedId"]
            self.results_by_line_item.get(line_item, {}).pop(sourced_id, None)

    def results_of_line_item(self, line_item_id: str) -> list[dict]:
        with self.lock:
            return [self.results[r] for r in self.results_by_line_item.get(line_item_id, {})]

    def results_of_class(self, class_index: int, base: str) -> list[dict]:
        out = []
        for item in self.class_line_items(class_index, base):
            out.extend(self.results_of_line_item(item["sourcedId"]))
        return out

    def windows(self) -> dict:
        with self.lock:
            return {
                "windowsClosedByDefault": self.windows_closed_by_default,
                "closedTerms": sorted(self.closed_terms),
                "openTerms": sorted(self.open_terms),
            }

    def snapshot(self) -> dict:
        """Everything stored (for tests and the demo, through the control endpoint)."""
        with self.lock:
            return {
                "lineItems": list(self.line_items.values()),
                "results": list(self.results.values()),
                **self.windows(),
            }
