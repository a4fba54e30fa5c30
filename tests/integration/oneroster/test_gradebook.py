"""Gradebook calls of the client against the simulated IC gradebook (IC's 1.1 rules)."""

from __future__ import annotations

import datetime as dt

import pytest
import responses

from integration.http.errors import UpstreamNotFound
from integration.oneroster.client import OneRosterClient, OneRosterConfig, WriteOutcome
from integration.oneroster.errors import OneRosterRejected
from integration.oneroster.records import Category, LineItem, Result
from sandbox.oneroster.gradebook import PLACEHOLDER_CATEGORY, TASK_TITLE


@pytest.fixture
def klass(fresh_sandbox):
    """A class with a student, and the quarter that is its first term."""
    district = fresh_sandbox.generated
    view = next(
        c
        for c in district.iter_classes()
        if any(e.class_id == c.sourced_id and e.role == "student"
               for e in district.iter_enrollments())
    )  # fmt: skip
    student = next(
        e.user_id
        for e in district.iter_enrollments()
        if e.class_id == view.sourced_id and e.role == "student"
    )
    school = next(s for s in district.schools if s.sourced_id == view.school_id)
    quarter = next(q for q in school.quarters if q.sourced_id == view.term_ids[0])
    return view, student, quarter


def _line_item(class_id: str, quarter, **extra) -> dict:
    due = dt.datetime.combine(quarter.start_date + dt.timedelta(days=10), dt.time(23, 59))
    body = {
        "title": "Lab report: cells",
        "status": "active",
        "dateLastModified": "2026-01-01T00:00:00Z",
        "assignDate": f"{quarter.start_date.isoformat()}T08:00:00Z",
        "dueDate": due.isoformat() + "Z",
        "class": {"sourcedId": class_id, "type": "class"},
        "resultValueMin": 0,
        "resultValueMax": 20,
    }
    body.update(extra)
    return body


def _result(line_item_id: str, student_id: str, **extra) -> dict:
    body = {
        "status": "active",
        "dateLastModified": "2026-01-01T00:00:00Z",
        "lineItem": {"sourcedId": line_item_id, "type": "lineItem"},
        "student": {"sourcedId": student_id, "type": "student"},
        "scoreStatus": "fully graded",
        "score": 17.5,
        "scoreDate": "2026-01-02",
    }
    body.update(extra)
    return body


def test_put_creates_then_updates_and_ic_fills_category_and_period(
    fresh_sandbox, client_for, klass
):
    view, _, quarter = klass
    client = client_for(fresh_sandbox)
    body = _line_item(view.sourced_id, quarter)
    assert client.put_line_item("dist1-li-1", body) is WriteOutcome.CREATED
    assert client.put_line_item("dist1-li-1", {**body, "title": "Renamed"}) == "updated"
    item = client.get_line_item("dist1-li-1")
    assert isinstance(item, LineItem)
    assert item.title == "Renamed"
    assert item.category == PLACEHOLDER_CATEGORY
    assert item.grading_period == quarter.sourced_id
    assert item.class_ == view.sourced_id
    assert item.result_value_max == 20.0


def test_titles_longer_than_the_limit_are_refused(fresh_sandbox, client_for, klass):
    view, _, quarter = klass
    client = client_for(fresh_sandbox)
    with pytest.raises(OneRosterRejected) as caught:
        client.put_line_item("li-long", _line_item(view.sourced_id, quarter, title="x" * 51))
    assert "longer than 50" in caught.value.imsx_description
    assert caught.value.imsx_code_minor == ("invaliddata",)


def test_a_due_date_outside_the_class_terms_is_refused(fresh_sandbox, client_for, klass):
    view, _, quarter = klass
    client = client_for(fresh_sandbox)
    outside = f"{quarter.start_date.year - 3}-01-01T00:00:00Z"
    with pytest.raises(OneRosterRejected, match="not inside a term"):
        client.put_line_item("li-x", _line_item(view.sourced_id, quarter, dueDate=outside,
                                                assignDate=outside))  # fmt: skip


def test_results_create_update_and_list(fresh_sandbox, client_for, klass):
    view, student, quarter = klass
    client = client_for(fresh_sandbox)
    client.put_line_item("li-r", _line_item(view.sourced_id, quarter))
    assert client.put_result("li-r-s", _result("li-r", student)) is WriteOutcome.CREATED
    assert client.put_result("li-r-s", _result("li-r", student, score=19)) is WriteOutcome.UPDATED
    results = client.get_results_for_line_item("li-r")
    assert len(results) == 1
    assert isinstance(results[0], Result)
    assert results[0].score == 19.0
    assert results[0].score_status == "fully graded"
    stored = fresh_sandbox.oneroster.gradebook.snapshot()["results"]
    assert stored[0]["student"]["sourcedId"] == student


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scoreStatus": "fullygraded"}, "not a 1.1 score status"),
        ({"scoreStatus": "late"}, "not a 1.1 score status"),
        ({"score": "A"}, "score must be a number"),
        ({"student": {"sourcedId": "s999999999"}}, "Unknown student"),
        ({"lineItem": {"sourcedId": "nope"}}, "Unknown lineItem"),
    ],
)
def test_invalid_results_are_refused(fresh_sandbox, client_for, klass, change, message):
    view, student, quarter = klass
    client = client_for(fresh_sandbox)
    client.put_line_item("li-bad", _line_item(view.sourced_id, quarter))
    with pytest.raises(OneRosterRejected, match=message):
        client.put_result("li-bad-s", _result("li-bad", student, **change))


def test_a_student_not_rostered_in_the_section_is_refused(fresh_sandbox, client_for, klass):
    view, _student, quarter = klass
    district = fresh_sandbox.generated
    outsider = next(
        u.sourced_id
        for u in district.iter_users()
        if u.role == "student"
        and not any(e.user_id == u.sourced_id and e.class_id == view.sourced_id
                    for e in district.iter_enrollments())
    )  # fmt: skip
    client = client_for(fresh_sandbox)
    client.put_line_item("li-o", _line_item(view.sourced_id, quarter))
    with pytest.raises(OneRosterRejected, match="not rostered"):
        client.put_result("li-o-s", _result("li-o", outsider))


def test_class_line_items_include_the_grading_tasks(fresh_sandbox, client_for, klass):
    view, _student, quarter = klass
    client = client_for(fresh_sandbox)
    client.put_line_item("li-c", _line_item(view.sourced_id, quarter))
    items = client.get_class_line_items(view.sourced_id)
    tasks = [i for i in items if i.title == TASK_TITLE]
    assert len(tasks) == len(view.term_ids)
    assert {t.grading_period for t in tasks} == set(view.term_ids)
    assert "li-c" in {i.sourced_id for i in items}


def test_course_grades_go_to_grading_tasks_only_while_the_window_is_open(
    fresh_sandbox, client_for, klass
):
    view, student, quarter = klass
    client = client_for(fresh_sandbox)
    task = next(
        i
        for i in client.get_class_line_items(view.sourced_id)
        if i.title == TASK_TITLE and i.grading_period == quarter.sourced_id
    )
    assert task.sourced_id == f"{view.sourced_id}{quarter.sourced_id}1"
    grade = _result(task.sourced_id, student, score=91.5)
    assert client.put_result("cg-1", grade) is WriteOutcome.CREATED
    stored = fresh_sandbox.oneroster.gradebook.results["cg-1"]
    assert stored["metadata"]["ic.scoreGroupValue"] == "A"
    fresh_sandbox.oneroster.gradebook.set_window(open_=False, terms=[quarter.sourced_id])
    with pytest.raises(OneRosterRejected, match="grading window"):
        client.put_result("cg-1", grade)
    with pytest.raises(OneRosterRejected, match="cannot be replaced"):
        client.put_line_item(task.sourced_id, _line_item(view.sourced_id, quarter))


def test_delete_is_idempotent(fresh_sandbox, client_for, klass):
    view, student, quarter = klass
    client = client_for(fresh_sandbox)
    client.put_line_item("li-d", _line_item(view.sourced_id, quarter))
    client.put_result("li-d-s", _result("li-d", student))
    client.delete_result("li-d-s")
    client.delete_result("li-d-s")
    client.delete_line_item("li-d")
    client.delete_line_item("li-d")
    with pytest.raises(UpstreamNotFound):
        client.get_line_item("li-d")
    assert fresh_sandbox.oneroster.gradebook.snapshot()["lineItems"] == []


def test_categories_include_the_placeholder(sandbox, client_for):
    categories = client_for(sandbox).get_categories()
    assert all(isinstance(c, Category) for c in categories)
    assert PLACEHOLDER_CATEGORY in {c.sourced_id for c in categories}
    assert "Homework" in {c.title for c in categories}


def test_gradebook_requests_carry_the_vendor_header_and_rostering_does_not(sandbox):
    from sandbox.oneroster.app import create_oneroster_app

    seen: list[tuple[str, bool]] = []
    app = create_oneroster_app(sandbox.oneroster)

    def spy(environ, start_response):
        seen.append((environ["PATH_INFO"], "HTTP_X_VENDOR_AUTHORIZATION" in environ))
        return app(environ, start_response)

    server = sandbox.server
    original = server.app
    server.app = spy
    try:
        from integration.oneroster.client import OneRosterClient
        from tests.integration.oneroster.conftest import make_config

        with OneRosterClient(make_config(sandbox)) as client:
            client.get_first("orgs")
            client.get_categories()
    finally:
        server.app = original
    flags = {path.rsplit("/", 1)[-1]: flag for path, flag in seen}
    assert flags == {"token": False, "orgs": False, "categories": True}


@responses.activate
@pytest.mark.parametrize("status", [200, 201, 204])
def test_any_2xx_answer_to_a_put_create_counts_as_written(status):
    """A 1.1 provider may answer a create with 200 or 204 (no body) instead of 201."""
    base = "https://ic.example.edu/campus/api/oneroster/v1p1/d/ims/oneroster/v1p1"
    token_url = "https://ic.example.edu/campus/oauth2/token"
    responses.post(token_url, json={"access_token": "a", "token_type": "Bearer"})
    responses.put(f"{base}/lineItems/li-1", status=status, body=b"")
    responses.put(f"{base}/results/r-1", status=status, body=b"")
    config = OneRosterConfig(
        base_url=base,
        token_url=token_url,
        client_id="c",
        client_secret="s",
        vendor_key="k",
        vendor_secret="v",
        allow_private=True,
    )
    with OneRosterClient(config) as client:
        line_item = client.put_line_item("li-1", {"title": "Lab"})
        result = client.put_result("r-1", {"score": 1})

    expected = WriteOutcome.CREATED if status == 201 else WriteOutcome.UPDATED
    assert line_item is result is expected
    assert responses.calls[-1].request.headers["x-vendor-authorization"] == "k:v"
