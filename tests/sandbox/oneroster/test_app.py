"""The simulated provider's HTTP behaviour: tokens, paging headers, filters, controls."""

from __future__ import annotations

import requests

from sandbox.oneroster.state import MAX_LIMIT


def test_token_endpoint_accepts_basic_auth_or_form_fields(api):
    info = api.info
    basic = requests.post(
        info["token_url"],
        data={"grant_type": "client_credentials", "scope": "x"},
        auth=(info["client_id"], info["client_secret"]),
        timeout=5,
    )
    assert basic.status_code == 200
    assert basic.json()["token_type"] == "Bearer"
    assert basic.json()["expires_in"] == 3600
    form = requests.post(
        info["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
        },
        timeout=5,
    )
    assert form.status_code == 200


def test_token_endpoint_refusals(api):
    info = api.info
    wrong = requests.post(
        info["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(info["client_id"], "wrong"),
        timeout=5,
    )
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_client"}
    grant = requests.post(
        info["token_url"],
        data={"grant_type": "password"},
        auth=(info["client_id"], info["client_secret"]),
        timeout=5,
    )
    assert grant.status_code == 400
    other_app = requests.post(
        info["token_url"].replace("appName=", "appName=other"),
        data={"grant_type": "client_credentials"},
        auth=(info["client_id"], info["client_secret"]),
        timeout=5,
    )
    assert other_app.status_code == 404


def test_api_requires_a_valid_bearer_token(api):
    response = requests.get(f"{api.base}/orgs", timeout=5)
    assert response.status_code == 401
    assert (
        response.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
        == "unauthorisedrequest"
    )
    bad = requests.get(f"{api.base}/orgs", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bad.status_code == 401


def test_paging_headers(api, sandbox):
    total = sandbox.generated.counts()["users"]
    first = api.get("users", limit=10)
    assert int(first.headers["X-Total-Count"]) == total
    assert len(first.json()["users"]) == 10
    assert first.links["next"]["url"].endswith("limit=10&offset=10")
    assert "prev" not in first.links
    last_offset = (total - 1) // 10 * 10
    last = api.get("users", limit=10, offset=last_offset)
    assert "next" not in last.links
    assert len(last.json()["users"]) == total - last_offset
    beyond = api.get("users", limit=10, offset=total + 5)
    assert beyond.json() == {"users": []}
    default = api.get("users")
    assert len(default.json()["users"]) == min(100, total)


def test_limit_is_capped_by_the_provider_maximum(api, sandbox):
    state = sandbox.oneroster
    assert state.max_limit == MAX_LIMIT
    state.max_limit = 4
    try:
        response = api.get("enrollments", limit=1000)
        assert len(response.json()["enrollments"]) == 4
        assert response.links["next"]["url"].endswith("limit=4&offset=4")
    finally:
        state.max_limit = MAX_LIMIT


def test_bad_paging_and_filters_are_400(api):
    assert api.get("users", limit=0).status_code == 400
    assert api.get("users", offset=-1).status_code == 400
    assert api.get("users", limit="ten").status_code == 400
    response = api.get("users", filter="nickname='Al'")
    assert response.status_code == 400
    assert "no field 'nickname'" in response.json()["imsx_description"]
    assert api.get("users", filter="status='active' AND").status_code == 400
    mixed = "status='active' AND status='tobedeleted' OR sourcedId='x'"
    assert api.get("users", filter=mixed).status_code == 400


def test_filters_on_status_sourced_id_and_dates(api, sandbox):
    total = sandbox.generated.counts()["enrollments"]
    active = api.get("enrollments", limit=MAX_LIMIT, filter="status='active'")
    assert int(active.headers["X-Total-Count"]) == total
    first = api.get("enrollments", limit=1).json()["enrollments"][0]
    one = api.get("enrollments", filter=f"sourcedId='{first['sourcedId']}'").json()
    assert one == {"enrollments": [first]}
    since = first["dateLastModified"]
    newer = api.get("enrollments", limit=MAX_LIMIT, filter=f"dateLastModified>'{since}'")
    older = api.get("enrollments", limit=MAX_LIMIT, filter=f"dateLastModified<='{since}'")
    assert int(newer.headers["X-Total-Count"]) + int(older.headers["X-Total-Count"]) == total
    assert all(e["dateLastModified"] > since for e in newer.json()["enrollments"])
    by_date = api.get("enrollments", filter="dateLastModified>'2000-01-01'")
    assert int(by_date.headers["X-Total-Count"]) == total


def test_singles_and_typed_subsets_404_for_the_wrong_kind(api, sandbox):
    district = sandbox.generated
    teacher = next(u.sourced_id for u in district.iter_users() if u.role == "teacher")
    assert api.get(f"teachers/{teacher}").status_code == 200
    assert api.get(f"students/{teacher}").status_code == 404
    assert api.get(f"schools/{district.sourced_id}").status_code == 404
    assert api.get(f"orgs/{district.sourced_id}").status_code == 200
    year = district.schools[0].year.sourced_id
    assert api.get(f"terms/{year}").status_code == 404
    assert api.get(f"academicSessions/{year}").status_code == 200
    assert api.get("resources").status_code == 404
    assert api.request("PUT", "users/x", gradebook=False, json={}).status_code == 405


def test_nested_endpoints_return_the_right_rows(api, sandbox):
    district = sandbox.generated
    school = district.schools[1]
    classes = api.get(f"schools/{school.sourced_id}/classes", limit=MAX_LIMIT).json()["classes"]
    assert classes
    assert {c["school"]["sourcedId"] for c in classes} == {school.sourced_id}
    klass = classes[0]["sourcedId"]
    expected = {
        e.user_id
        for e in district.iter_enrollments()
        if e.class_id == klass and e.role == "student"
    }
    students = api.get(f"classes/{klass}/students", limit=MAX_LIMIT).json()["users"]
    assert {u["sourcedId"] for u in students} == expected
    enrollments = api.get(
        f"schools/{school.sourced_id}/classes/{klass}/enrollments", limit=MAX_LIMIT
    ).json()["enrollments"]
    assert {e["class"]["sourcedId"] for e in enrollments} == {klass}
    other = district.schools[0].sourced_id
    assert api.get(f"schools/{other}/classes/{klass}/students").status_code == 404


def test_control_endpoints_need_the_sandbox_secret(api):
    anonymous = requests.post(f"{api.running.url}/_sandbox/oneroster/info", json={}, timeout=5)
    assert anonymous.status_code == 401
    token = requests.post(
        f"{api.running.url}/_sandbox/oneroster/info",
        json={},
        headers={"Authorization": f"Bearer {api.token}"},
        timeout=5,
    )
    assert token.status_code == 401
    info = api.control("info").json()
    assert info["counts"]["students"] == 60
    assert len(info["schools"][0]["quarters"]) == 4
    assert api.control("nonsense").status_code == 400
    assert api.control("faults", {"rules": [{"kind": "explode"}]}).status_code == 400


def test_control_faults_and_request_log(api):
    body = {"rules": [{"kind": "status", "status": 503, "count": 1, "match": "courses"}]}
    assert api.control("faults", body).status_code == 200
    assert api.get("courses").status_code == 503
    assert api.get("courses").status_code == 200
    log = api.control("requests").json()["requests"]
    assert [r[1] for r in log[-2:]] == ["courses", "courses"]
    assert api.control("faults/clear").json() == {"faults": []}


def test_oauth1_can_be_switched_off(api, sandbox):
    from integration.oneroster.auth import OAuth1Signer

    info = api.info
    signer = OAuth1Signer(client_id=info["client_id"], client_secret=info["client_secret"])
    assert requests.get(f"{api.base}/orgs", auth=signer, timeout=5).status_code == 200
    sandbox.oneroster.oauth1_enabled = False
    try:
        assert requests.get(f"{api.base}/orgs", auth=signer, timeout=5).status_code == 401
    finally:
        sandbox.oneroster.oauth1_enabled = True
