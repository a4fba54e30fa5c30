"""OneRoster 1.1 query parameters on the simulated provider: sort, orderBy, fields, filter."""

from __future__ import annotations

from sandbox.oneroster.state import MAX_LIMIT


def _all(api, path: str, key: str, **params) -> list[dict]:
    response = api.get(path, limit=MAX_LIMIT, **params)
    assert response.status_code == 200, response.text
    return response.json()[key]


def test_sort_and_order_by(api):
    ascending = _all(api, "users", "users", sort="familyName")
    descending = _all(api, "users", "users", sort="familyName", orderBy="desc")

    names = [u["familyName"] for u in ascending]
    assert names == sorted(names)
    assert [u["familyName"] for u in descending] == sorted(names, reverse=True)
    assert len(ascending) == len(_all(api, "users", "users"))


def test_sort_by_a_reference_orders_by_its_sourced_id(api):
    enrollments = _all(api, "enrollments", "enrollments", sort="class", orderBy="desc")

    ids = [e["class"]["sourcedId"] for e in enrollments]
    assert ids == sorted(ids, reverse=True)


def test_fields_project_collections_and_singles(api):
    users = _all(api, "users", "users", fields="sourcedId,givenName")
    single = api.get(f"users/{users[0]['sourcedId']}", fields="familyName").json()

    assert users
    assert all(set(u) == {"sourcedId", "givenName"} for u in users)
    assert set(single["user"]) == {"familyName"}


def test_filter_on_any_field(api):
    students = _all(api, "users", "users", filter="role='student'")
    not_students = _all(api, "users", "users", filter="role!='student'")
    everyone = _all(api, "users", "users")

    assert students
    assert not_students
    assert {u["role"] for u in students} == {"student"}
    assert len(students) + len(not_students) == len(everyone)


def test_filter_operators_joins_and_nested_fields(api):
    classes = _all(api, "classes", "classes")
    school = classes[0]["school"]["sourcedId"]
    in_school = _all(api, "classes", "classes", filter=f"school.sourcedId='{school}'")
    contains = _all(api, "users", "users", filter="email~'STUDENTS.'")
    either = _all(api, "users", "users", filter="role='teacher' OR role='administrator'")
    both = _all(api, "enrollments", "enrollments", filter="role='student' AND primary='false'")
    graded = _all(api, "users", "users", filter="grades>='09'")

    assert in_school
    assert all(c["school"]["sourcedId"] == school for c in in_school)
    assert len(in_school) < len(classes)
    assert contains
    assert all("students." in u["email"] for u in contains)
    assert {u["role"] for u in either} == {"teacher", "administrator"}
    assert both
    assert all(e["role"] == "student" and e["primary"] is False for e in both)
    assert graded
    assert all(any(g >= "09" for g in u["grades"]) for u in graded)


def test_a_filter_the_columns_answer_and_a_general_one_agree(api):
    """``status`` is served from the columns; the same filter through a rendered field
    (joined with a condition every record meets) must select the same records."""
    fast = _all(api, "enrollments", "enrollments", filter="status='active'")
    slow = _all(api, "enrollments", "enrollments", filter="status='active' AND role~'t'")

    assert [e["sourcedId"] for e in fast] == [e["sourcedId"] for e in slow]


def test_gradebook_collections_sort_and_project(api):
    items = api.get("lineItems", gradebook=True, sort="title", orderBy="desc", fields="title")

    assert items.status_code == 200
    titles = [i["title"] for i in items.json()["lineItems"]]
    assert titles == sorted(titles, reverse=True)
    assert all(set(i) == {"title"} for i in items.json()["lineItems"])


def test_sort_on_a_column_field_matches_the_general_sort(api):
    """``sort=sourcedId`` is answered from the columns; it must order exactly as sorting
    the rendered records does."""
    by_column = _all(api, "enrollments", "enrollments", sort="sourcedId", orderBy="desc")
    filtered = _all(api, "enrollments", "enrollments", sort="sourcedId", filter="status='active'")

    ids = [e["sourcedId"] for e in by_column]
    assert ids == sorted(ids, reverse=True)
    assert [e["sourcedId"] for e in filtered] == sorted(ids)
