"""The Canvas client's HTTP behaviour: tokens, permissions, paging, throttling, pacing."""

from __future__ import annotations

import threading

import pytest
import responses

from integration.canvas.client import CanvasClient, CanvasConfig, is_root_account, sis_id
from integration.canvas.errors import (
    CanvasNoPermission,
    CanvasRateLimited,
    CanvasTokenInvalid,
)
from integration.canvas.types import SisImportParams
from integration.http import (
    RetryPolicy,
    UpstreamAuthFailed,
    UpstreamPermissionDenied,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
)
from sandbox.canvas.coursework import coursework_teach
from sandbox.canvas.records import Account
from sandbox.canvas.sis.run import sis_zip_apply
from tests.integration.canvas.conftest import TOKEN

ACCOUNT = "1"


def other_client(url: str, token: str, **kwargs) -> CanvasClient:
    return CanvasClient(
        CanvasConfig(base_url=url, token=token, allow_private=True, **kwargs), sleep=lambda _s: None
    )


# --- tokens and permissions -----------------------------------------------------------------


def test_the_token_user_and_the_root_account(client, state):
    me = client.get_self()
    account = client.get_account(ACCOUNT)

    assert me["id"] == state.admin.id
    assert is_root_account(account)
    assert account["id"] == 1


def test_a_bad_token_is_token_invalid_and_not_retried(canvas_url):
    with other_client(canvas_url, "wrong-token") as client:
        with pytest.raises(CanvasTokenInvalid) as refused:
            client.get_self()

        assert isinstance(refused.value, UpstreamAuthFailed)
        assert refused.value.status == 401
        assert client.session.attempts_made == 1
        assert "wrong-token" not in str(refused.value)


def test_a_401_without_www_authenticate_is_a_missing_permission(canvas_url, state):
    limited = state.issue_token({"read_roster"})
    with other_client(canvas_url, limited) as client:
        assert client.can_import_sis(ACCOUNT) is False
        with pytest.raises(CanvasNoPermission) as refused:
            client.sis_imports_running(ACCOUNT)

    assert isinstance(refused.value, UpstreamPermissionDenied)
    assert refused.value.status == 401


def test_a_403_that_is_not_throttling_is_a_missing_permission(client, state):
    state.sis_imports_enabled = False

    assert client.can_import_sis(ACCOUNT) is False
    with pytest.raises(CanvasNoPermission) as refused:
        client.sis_imports_running(ACCOUNT)
    assert refused.value.status == 403
    assert client.session.throttled_responses == 0


def test_can_import_sis_with_the_admin_token(client):
    assert client.can_import_sis(ACCOUNT) is True


def test_sis_imports_need_the_root_account(client, state):
    sub = Account(state.new_account_id(), "SUB", "Sub", state.root.id)
    state.accounts[sub.id] = sub
    with pytest.raises(UpstreamServerError) as refused:
        client.can_import_sis(str(sub.id))
    assert refused.value.status == 400
    assert refused.value.payload == {
        "errors": [{"message": "SIS imports can only be executed on root accounts"}]
    }


# --- pagination --------------------------------------------------------------------------------


def test_link_pagination_walks_every_page(client, state):
    for n in range(250):
        user = state.add_user(f"S{n:04d}", f"student{n:04d}", f"Student {n:04d}")
        user.email = f"student{n:04d}@example.org"

    users = list(client.list_account_users(ACCOUNT))

    assert len(users) == 250
    assert client.session.attempts_made == 3
    assert users[0]["sis_user_id"] == "S0000"
    assert users[0]["login_id"] == "student0000"
    assert users[0]["email"] == "student0000@example.org"


def test_json_api_meta_pagination_for_grading_periods(client, state, roster_zip):
    sis_zip_apply(state, roster_zip.read_bytes())
    coursework_teach(state)
    course_id = state.courses_by_sis["C1"].id
    client.per_page = 3

    periods = client.list_grading_periods(course_id)

    assert [p["title"] for p in periods] == ["Quarter 1", "Quarter 2", "Quarter 3", "Quarter 4"]
    assert client.session.attempts_made == 2


def test_sis_ids_in_paths_are_escaped(client, state):
    course = state.add_course("CS/101.11é", "CS", "Computing", state.root.id, 10001)

    assert client.get_course_by_sis_id("CS/101.11é")["id"] == course.id
    assert client.get_course_by_sis_id("missing") is None
    assert sis_id("sis_course_id", "CS/101.11é") == "sis_course_id:CS%2F101%2E11%C3%A9"


@responses.activate
def test_a_next_link_to_another_host_is_refused_before_the_token_leaves():
    responses.get(
        "https://canvas.example.edu/api/v1/courses/1/sections",
        json=[{"id": 1}],
        headers={"Link": '<https://elsewhere.example.com/steal?page=2>; rel="next"'},
    )
    client = CanvasClient(
        CanvasConfig(base_url="https://canvas.example.edu", token="t0ken", allow_private=True),
        sleep=lambda s: 0,
    )

    with pytest.raises(UpstreamProtocolError, match="another host"):
        list(client.list_sections(1))
    assert len(responses.calls) == 1


@responses.activate
def test_a_post_is_not_retried_on_a_server_error(tmp_path):
    responses.get(
        "https://canvas.example.edu/api/v1/accounts/1/sis_imports", json={"sis_imports": []}
    )
    responses.post("https://canvas.example.edu/api/v1/accounts/1/sis_imports", status=502)
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK")
    client = CanvasClient(
        CanvasConfig(base_url="https://canvas.example.edu", token="t0ken", allow_private=True),
        sleep=lambda s: 0,
    )

    with pytest.raises(UpstreamServerError) as failed:
        client.sis_import_create("1", zip_path=path, params=SisImportParams())

    assert failed.value.status == 502
    assert len(responses.calls) == 2  # the running check, then one POST


@responses.activate
def test_a_page_that_is_not_a_list_is_a_protocol_error():
    responses.get("https://canvas.example.edu/api/v1/courses/1/sections", json={"oops": 1})
    client = CanvasClient(
        CanvasConfig(base_url="https://canvas.example.edu", token="t0ken", allow_private=True),
        sleep=lambda s: 0,
    )

    with pytest.raises(UpstreamProtocolError):
        list(client.list_sections(1))


# --- throttling and pacing ---------------------------------------------------------------------


def test_throttled_reads_are_retried_with_backoff(client, state, sleeps):
    state.throttle_next(2)

    assert client.get_self()["id"] == state.admin.id
    assert client.session.throttled_responses == 2
    assert client.session.attempts_made == 3
    assert len(sleeps) >= 2


def test_a_throttled_post_is_resent(client, state, roster_zip):
    state.throttle_next(1, method="POST")

    created = client.sis_import_create(ACCOUNT, zip_path=roster_zip, params=SisImportParams())

    assert created.workflow_state == "created"
    assert client.session.throttled_responses == 1
    assert len(state.runner.records) == 1


def test_throttling_gives_up_after_the_retry_budget(canvas_url, state):
    state.throttle_next(20)
    client = other_client(canvas_url, TOKEN, retry=RetryPolicy(attempts=3))
    with client, pytest.raises(CanvasRateLimited) as throttled:
        client.get_self()

    assert isinstance(throttled.value, UpstreamRateLimited)
    assert throttled.value.status == 403


def test_a_full_bucket_recovers_as_it_leaks(client, state):
    bucket = state.bucket(TOKEN)
    bucket.fill(700)

    assert client.get_self()["id"] == state.admin.id
    assert bucket.throttled >= 1
    assert client.session.throttled_responses == bucket.throttled


def test_a_low_quota_makes_the_client_pause(client, state, sleeps):
    state.bucket(TOKEN).fill(560)

    client.get_self()
    assert 35 < client.session.rate_limit_remaining < 41
    client.get_self()

    assert sleeps[0] == pytest.approx(6.0, abs=0.5)
    assert client.session.paced_seconds == pytest.approx(sleeps[0])
    assert client.session.throttled_responses == 0
    assert client.session.request_cost_total > 0


def test_no_more_than_max_in_flight_requests_at_once(canvas_url, state):
    bucket = state.bucket(TOKEN)
    with other_client(canvas_url, TOKEN, max_in_flight=2) as client:
        threads = [threading.Thread(target=client.get_self) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert 1 <= bucket.peak_in_flight <= 2


@responses.activate
@pytest.mark.parametrize(
    "next_url",
    [
        "https://canvas.example.edu:443/api/v1/courses/1/sections?page=2",
        "https://CANVAS.Example.EDU/api/v1/courses/1/sections?page=2",
    ],
)
def test_a_next_link_to_the_same_origin_written_differently_is_followed(next_url):
    responses.get(
        "https://canvas.example.edu/api/v1/courses/1/sections",
        json=[{"id": 1}],
        headers={"Link": f'<{next_url}>; rel="next"'},
    )
    responses.get(next_url, json=[{"id": 2}])
    client = CanvasClient(
        CanvasConfig(base_url="https://canvas.example.edu", token="t0ken", allow_private=True),
        sleep=lambda s: 0,
    )

    assert [s["id"] for s in client.list_sections(1)] == [1, 2]
