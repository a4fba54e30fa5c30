"""Answer shapes of Canvas instances (and proxies in front of them) that the simulated
Canvas never sends, at the client boundary (``responses``)."""

from __future__ import annotations

import pytest
import responses

from integration.canvas.client import CanvasClient, CanvasConfig
from integration.canvas.types import CanvasSubmission, SisImport
from integration.http.errors import (
    UpstreamMisconfigured,
    UpstreamProtocolError,
    upstream_error_reason,
)

CANVAS = "https://canvas.example.edu"
SECTIONS = f"{CANVAS}/api/v1/courses/1/sections"
IMPORT = f"{CANVAS}/api/v1/accounts/1/sis_imports/7"


@pytest.fixture
def client():
    canvas = CanvasClient(
        CanvasConfig(base_url=CANVAS, token="t0ken", allow_private=True), sleep=lambda s: 0
    )
    yield canvas
    canvas.close()


@responses.activate
@pytest.mark.parametrize(
    "next_link",
    ["/api/v1/courses/1/sections?page=2&per_page=50", "sections?page=2&per_page=50"],
)
def test_a_relative_next_link_is_followed_on_the_canvas_origin(client, next_link):
    """A proxy that rewrites links relative to the page; a server that caps ``per_page``
    at 50 is followed all the same."""
    responses.get(SECTIONS, json=[{"id": 1}], headers={"Link": f'<{next_link}>; rel="next"'})
    responses.get(f"{SECTIONS}?page=2&per_page=50", json=[{"id": 2}])
    assert [s["id"] for s in client.list_sections(1)] == [1, 2]
    assert responses.calls[1].request.headers["Authorization"] == "Bearer t0ken"


@responses.activate
def test_a_relative_json_api_next_link_is_followed(client):
    periods = f"{CANVAS}/api/v1/courses/1/grading_periods"
    responses.get(
        periods,
        json={"grading_periods": [{"id": 1}], "meta": {"pagination": {"next": "?page=2"}}},
    )
    responses.get(f"{periods}?page=2", json={"grading_periods": [{"id": 2}], "meta": []})
    assert [p["id"] for p in client.list_grading_periods(1)] == [1, 2]


@responses.activate
def test_a_json_hijacking_prefix_is_skipped(client):
    responses.get(f"{CANVAS}/api/v1/users/self", body='while(1);{"id": 5, "name": "Sync"}')
    assert client.get_self() == {"id": 5, "name": "Sync"}


LOGIN_PAGE = "<!DOCTYPE html>\n<html><head><title>Log In to Canvas</title></head></html>"


@responses.activate
def test_a_sign_in_page_answering_200_is_a_configuration_error(client):
    responses.get(f"{CANVAS}/api/v1/users/self", body=LOGIN_PAGE, content_type="text/html")
    with pytest.raises(UpstreamMisconfigured) as raised:
        client.get_self()
    assert "web page (text/html) instead of JSON" in str(raised.value)
    assert "Log In" not in str(raised.value)
    assert "Correct the URL" in upstream_error_reason(raised.value)


@responses.activate
def test_a_redirect_to_a_sign_in_page_is_a_configuration_error(client):
    responses.get(
        f"{CANVAS}/api/v1/accounts/1",
        status=302,
        headers={"Location": "https://sso.example.edu/login?SAMLRequest=secret"},
    )
    with pytest.raises(UpstreamMisconfigured) as raised:
        client.get_account("1")
    assert "redirect to https://sso.example.edu/login instead of JSON" in str(raised.value)
    assert "secret" not in str(raised.value)


@responses.activate
def test_an_empty_200_body_says_so(client):
    responses.get(IMPORT, body="", status=200)
    with pytest.raises(UpstreamProtocolError, match="with an empty body where JSON"):
        client.sis_import_get("1", 7)


@pytest.mark.parametrize(("sent", "read"), [(45, 45), (45.5, 45), ("45", 45), ("45.5", 45)])
def test_import_progress_as_a_number_or_a_string(sent, read):
    assert SisImport.from_api(
        {"id": 7, "workflow_state": "importing", "progress": sent}
    ).progress == (read)


@pytest.mark.parametrize(
    ("state", "terminal", "accepted"),
    [
        ("imported", True, True),
        ("imported_with_messages", True, True),
        ("failed", True, False),
        ("failed_with_messages", True, False),
        ("aborted", True, False),
        ("restored", True, False),
        ("partially_restored", True, False),
        ("initializing", False, False),
        ("created", False, False),
        ("cleanup_batch", False, False),
        ("restoring", False, False),
    ],
)
def test_workflow_states(state, terminal, accepted):
    sis_import = SisImport.from_api({"id": "7", "workflow_state": state})
    assert (sis_import.is_terminal, sis_import.accepted) == (terminal, accepted)


@responses.activate
def test_waiting_ends_when_someone_restores_the_import(client):
    responses.get(IMPORT, json={"id": 7, "workflow_state": "importing", "progress": "10"})
    responses.get(IMPORT, json={"id": 7, "workflow_state": "partially_restored"})
    final = client.sis_import_wait("1", 7, timeout=60)
    assert final.workflow_state == "partially_restored"
    assert not final.accepted


def test_processing_messages_and_counts_in_every_shape():
    sis_import = SisImport.from_api(
        {
            "id": 7,
            "workflow_state": "imported_with_messages",
            "data": {"counts": {"users": "12", "error_count": 1.0, "warning_count": 2}},
            "processing_warnings": [
                ["users.csv", "No login_id given for user 1"],
                {"file": "courses.csv", "message": "Unknown term"},
                "There were 3 more warnings",
                ["enrollments.csv"],
            ],
            "processing_errors": "Invalid UTF-8",
        }
    )
    assert sis_import.processing_warnings == (
        ("users.csv", "No login_id given for user 1"),
        ("courses.csv", "Unknown term"),
        ("", "There were 3 more warnings"),
        ("", "enrollments.csv"),
    )
    assert sis_import.processing_errors == (("", "Invalid UTF-8"),)
    assert (sis_import.counts["users"], sis_import.error_count, sis_import.warning_count) == (
        12,
        1,
        2,
    )


@responses.activate
def test_a_byte_order_mark_before_the_json_is_skipped(client):
    responses.get(f"{CANVAS}/api/v1/users/self", body=b'\xef\xbb\xbf{"id": 5}')
    assert client.get_self() == {"id": 5}


@pytest.mark.parametrize(
    ("sent", "read"),
    [(17.5, 17.5), ("17.5", 17.5), (0, 0.0), (None, None), ("", None), ("NaN", None),
     ("Infinity", None), (True, None), ("A-", None)],
)  # fmt: skip
def test_a_score_is_a_finite_number_or_none(sent, read):
    """Canvas sends scores as numbers; a proxy or another version may send strings. What is
    not a finite number is no score: it never reaches the SIS as NaN or infinity."""
    submission = CanvasSubmission.from_api(
        {"id": 1, "assignment_id": 2, "user_id": 3, "score": sent, "workflow_state": "graded"}
    )
    assert submission.score == read
