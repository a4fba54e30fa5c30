"""IC's 1.1 gradebook rules as the simulated provider applies them (raw HTTP)."""

from __future__ import annotations

import pytest

from sandbox.oneroster.gradebook import GRADING_TASK_CATEGORY, PLACEHOLDER_CATEGORY


@pytest.fixture
def setup(fresh_api):
    district = fresh_api.running.generated
    klass = next(c for c in district.iter_classes() if len(c.term_ids) == 4)
    student = next(
        e.user_id
        for e in district.iter_enrollments()
        if e.class_id == klass.sourced_id and e.role == "student"
    )
    school = next(s for s in district.schools if s.sourced_id == klass.school_id)
    return fresh_api, klass, student, school


def _line_item(klass, due: str, **extra) -> dict:
    return {
        "lineItem": {
            "title": "Quiz 1",
            "assignDate": due,
            "dueDate": due,
            "class": {"sourcedId": klass.sourced_id},
            "resultValueMin": 0,
            "resultValueMax": 10,
            **extra,
        }
    }


def test_the_vendor_header_is_required_on_every_gradebook_endpoint(setup):
    api, klass, _, _ = setup
    paths = ["categories", "lineItems", "results", f"classes/{klass.sourced_id}/lineItems",
             f"classes/{klass.sourced_id}/results"]  # fmt: skip
    for path in paths:
        assert api.get(path, gradebook=False).status_code == 401, path
        assert api.get(path, gradebook=True).status_code == 200, path
    wrong = api.session.get(
        f"{api.base}/categories",
        headers={"Authorization": f"Bearer {api.token}", "x-vendor-authorization": "k:wrong"},
        timeout=5,
    )
    assert wrong.status_code == 401
    put = api.request("PUT", "lineItems/x", gradebook=False, json=_line_item(klass, "x"))
    assert put.status_code == 401
    assert api.get("orgs", gradebook=False).status_code == 200


def test_201_on_create_200_on_update_and_placeholder_category(setup):
    api, klass, _, school = setup
    q2 = school.quarters[1]
    due = f"{q2.start_date.isoformat()}T12:00:00Z"
    first = api.request("PUT", "lineItems/li-1", json=_line_item(klass, due))
    assert first.status_code == 201
    item = first.json()["lineItem"]
    assert item["category"]["sourcedId"] == PLACEHOLDER_CATEGORY
    assert item["gradingPeriod"]["sourcedId"] == q2.sourced_id
    second = api.request("PUT", "lineItems/li-1", json=_line_item(klass, due, title="Quiz 1b"))
    assert second.status_code == 200
    assert api.get("lineItems/li-1", gradebook=True).json()["lineItem"]["title"] == "Quiz 1b"


def test_explicit_category_and_grading_period_are_kept_if_known(setup):
    api, klass, _, school = setup
    category = api.get("categories", gradebook=True).json()["categories"][0]["sourcedId"]
    q3 = school.quarters[2]
    body = _line_item(
        klass,
        f"{school.quarters[0].start_date.isoformat()}T12:00:00Z",
        category={"sourcedId": category},
        gradingPeriod={"sourcedId": q3.sourced_id},
    )
    item = api.request("PUT", "lineItems/li-2", json=body).json()["lineItem"]
    assert item["category"]["sourcedId"] == category
    assert item["gradingPeriod"]["sourcedId"] == q3.sourced_id
    body["lineItem"]["category"] = {"sourcedId": "no-such-category"}
    assert api.request("PUT", "lineItems/li-3", json=body).status_code == 400


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": "x" * 51}, "longer than 50"),
        ({"title": ""}, "title is required"),
        ({"dueDate": "2001-01-01T00:00:00Z", "assignDate": "2000-12-01T00:00:00Z"},
         "not inside a term"),
        ({"dueDate": None, "gradingPeriod": None}, "gradingPeriod or dueDate"),
        ({"class": {"sourcedId": "999"}}, "Unknown class"),
        ({"resultValueMin": "zero"}, "resultValueMin must be a number"),
        ({"assignDate": "soon"}, "assignDate is not"),
    ],
)  # fmt: skip
def test_invalid_line_items_are_400_with_a_reason(setup, change, message):
    api, klass, _, school = setup
    body = _line_item(klass, f"{school.quarters[0].end_date.isoformat()}T12:00:00Z")
    body["lineItem"].update(change)
    body["lineItem"] = {k: v for k, v in body["lineItem"].items() if v is not None}
    response = api.request("PUT", "lineItems/bad", json=body)
    assert response.status_code == 400
    assert message in response.json()["imsx_description"]
    assert api.get("lineItems/bad", gradebook=True).status_code == 404


def test_score_statuses_are_the_exact_1_1_spellings(setup):
    api, klass, student, school = setup
    due = f"{school.quarters[0].end_date.isoformat()}T12:00:00Z"
    api.request("PUT", "lineItems/li-s", json=_line_item(klass, due))
    for status in ("exempt", "fully graded", "not submitted", "partially graded", "submitted"):
        body = {
            "result": {
                "lineItem": {"sourcedId": "li-s"},
                "student": {"sourcedId": student},
                "scoreStatus": status,
                "score": 0,
                "scoreDate": "2026-09-01T10:00:00Z",
            }
        }
        assert api.request("PUT", f"results/r-{status}", json=body).status_code == 201
    body["result"]["scoreStatus"] = "missing"
    assert api.request("PUT", "results/r-missing", json=body).status_code == 400
    results = api.get(f"classes/{klass.sourced_id}/lineItems/li-s/results",
                      gradebook=True).json()["results"]  # fmt: skip
    assert len(results) == 5
    by_student = api.get(f"classes/{klass.sourced_id}/students/{student}/results", gradebook=True)
    assert len(by_student.json()["results"]) == 5


def test_grading_tasks_and_the_grading_window(setup):
    api, klass, student, school = setup
    items = api.get(f"classes/{klass.sourced_id}/lineItems", gradebook=True).json()["lineItems"]
    tasks = [i for i in items if i["category"]["sourcedId"] == GRADING_TASK_CATEGORY]
    assert [t["gradingPeriod"]["sourcedId"] for t in tasks] == [
        q.sourced_id for q in school.quarters
    ]
    q1 = school.quarters[0]
    task = next(t for t in tasks if t["gradingPeriod"]["sourcedId"] == q1.sourced_id)
    result = {
        "result": {
            "lineItem": {"sourcedId": task["sourcedId"]},
            "student": {"sourcedId": student},
            "scoreStatus": "fully graded",
            "score": 79.5,
            "scoreDate": "2026-10-01",
        }
    }
    assert api.request("PUT", "results/cg-q1", json=result).status_code == 201
    api.control("grading-window", {"open": False, "terms": [q1.sourced_id]})
    closed = api.request("PUT", "results/cg-q1", json=result)
    assert closed.status_code == 400
    assert "grading window" in closed.json()["imsx_description"]
    api.control("grading-window", {"open": False, "terms": None})
    other = dict(result["result"], lineItem={"sourcedId": tasks[1]["sourcedId"]})
    assert api.request("PUT", "results/cg-q2", json={"result": other}).status_code == 400
    api.control("grading-window", {"open": True, "terms": [tasks[1]["gradingPeriod"]["sourcedId"]]})
    assert api.request("PUT", "results/cg-q2", json={"result": other}).status_code == 201
    result["result"]["score"] = 101
    api.control("grading-window", {"open": True, "terms": None})
    assert api.request("PUT", "results/cg-q1", json=result).status_code == 400
    stored = api.control("gradebook").json()["results"]
    assert {r["metadata"]["ic.scoreGroupValue"] for r in stored} == {"C"}


def test_delete_removes_a_line_item_and_its_results(setup):
    api, klass, student, school = setup
    due = f"{school.quarters[0].end_date.isoformat()}T12:00:00Z"
    api.request("PUT", "lineItems/li-del", json=_line_item(klass, due))
    body = {
        "result": {
            "lineItem": {"sourcedId": "li-del"},
            "student": {"sourcedId": student},
            "scoreStatus": "exempt",
            "score": 0,
            "scoreDate": "2026-09-01",
        }
    }
    api.request("PUT", "results/r-del", json=body)
    assert api.request("DELETE", "lineItems/li-del").status_code == 204
    assert api.request("DELETE", "lineItems/li-del").status_code == 404
    assert api.get("results/r-del", gradebook=True).status_code == 404
