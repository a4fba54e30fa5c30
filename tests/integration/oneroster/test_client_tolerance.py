"""Paging and answer shapes of OneRoster providers other than our sandbox, at the client
boundary (``responses``): what is read completely, and what fails with a reason that says
what is wrong instead of a JSON error or a read that never ends."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from integration.http.errors import (
    UpstreamMisconfigured,
    UpstreamProtocolError,
    upstream_error_reason,
)
from integration.oneroster.client import OneRosterClient, OneRosterConfig
from integration.oneroster.errors import OneRosterError, OneRosterRejected, TokenRefused
from integration.oneroster.records import Enrollment, InvalidRecord, PagingAnomaly, User
from tests.integration.oneroster.conftest import FAST_RETRY

HOST = "https://ic.example.edu"
BASE = f"{HOST}/campus/api/oneroster/v1p1/d/ims/oneroster/v1p1"
TOKEN_URL = f"{HOST}/campus/oauth2/token?appName=d"
#: A stop for a read that would never end: after this many requests the provider says 400.
MAX_CALLS = 25


def _enrollment(n: int, **change) -> dict:
    return {
        "sourcedId": f"s{n}",
        "status": "active",
        "dateLastModified": "2026-01-01T00:00:00Z",
        "user": {"sourcedId": f"u{n}"},
        "class": {"sourcedId": "c1"},
        "school": {"sourcedId": "101"},
        "role": "student",
        **change,
    }


ROWS = [_enrollment(n) for n in range(7)]


def _client(**overrides) -> OneRosterClient:
    values = {
        "base_url": BASE,
        "token_url": TOKEN_URL,
        "client_id": "c",
        "client_secret": "s",
        "vendor_key": "k",
        "vendor_secret": "v",
        "page_size": 3,
        "concurrency": 2,
        "allow_private": True,
        "retry": FAST_RETRY,
    }
    values.update(overrides)
    return OneRosterClient(OneRosterConfig(**values), sleep=lambda _: None)


def _token() -> None:
    responses.post(TOKEN_URL, json={"access_token": "a", "token_type": "Bearer"})


def _serve(path: str, answer) -> list[dict]:
    """``answer(query) -> (status, headers, body)`` for GET ``path``; the queries seen."""
    seen: list[dict] = []

    def callback(request):
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        seen.append(query)
        if len(seen) > MAX_CALLS:
            return 400, {}, "the test stopped a read that did not end"
        return answer(query)

    responses.add_callback(
        responses.GET, re.compile(re.escape(f"{BASE}/{path}") + r"(\?.*)?$"), callback=callback
    )
    return seen


def _json(body: dict, **headers) -> tuple[int, dict, str]:
    return 200, {"Content-Type": "application/json", **headers}, json.dumps(body)


def _window(query: dict) -> tuple[int, int]:
    return int(query.get("offset", 0)), int(query.get("limit", 100))


def _ids(items) -> list[str]:
    return [i.sourced_id for i in items if not isinstance(i, PagingAnomaly)]


# --- paging ------------------------------------------------------------------------------


@responses.activate
def test_an_opaque_next_link_relative_with_several_relation_types_is_followed():
    """A cursor provider: no total, a relative ``Link`` carrying ``rel="next last"`` in
    another case, and ``offset`` ignored. Only the links lead through the collection."""
    _token()

    def answer(query):
        start = int(query.get("cursor", 0))
        rows = ROWS[start : start + 3]
        headers = {}
        if start + 3 < len(ROWS):
            link = (
                f"</campus/api/oneroster/v1p1/d/ims/oneroster/v1p1/enrollments?cursor={start + 3}>"
            )
            headers["Link"] = f'{link}; rel="Next last"'
        return _json({"enrollments": rows}, **headers)

    seen = _serve("enrollments", answer)
    with _client() as client:
        items = list(client.stream("enrollments"))
    assert _ids(items) == [r["sourcedId"] for r in ROWS]
    assert not [i for i in items if isinstance(i, PagingAnomaly)]
    assert len(seen) == 3


@pytest.mark.parametrize("total", [True, False])
@responses.activate
def test_a_provider_that_ignores_offset_fails_with_that_reason(total):
    """The same page again for every offset: the read stops at the first repeat, saying
    why, instead of looping (no total) or reporting a mere short read (with a total)."""
    _token()

    def answer(query):
        headers = {"X-Total-Count": str(len(ROWS))} if total else {}
        return _json({"enrollments": ROWS[:3]}, **headers)

    seen = _serve("enrollments", answer)
    with _client(concurrency=1) as client, pytest.raises(UpstreamProtocolError) as raised:
        list(client.stream("enrollments"))
    assert "the provider ignores offset" in str(raised.value)
    assert "enrollments cannot be read completely" in str(raised.value)
    assert len(seen) <= 3


@pytest.mark.parametrize("total", [True, False])
@responses.activate
def test_a_provider_that_ignores_limit_is_read_once(total):
    """Everything from ``offset`` on, whatever ``limit`` says: nothing is read twice."""
    _token()

    def answer(query):
        offset, _ = _window(query)
        headers = {"X-Total-Count": str(len(ROWS))} if total else {}
        return _json({"enrollments": ROWS[offset:]}, **headers)

    seen = _serve("enrollments", answer)
    with _client() as client:
        items = list(client.stream("enrollments"))
    assert _ids(items) == [r["sourcedId"] for r in ROWS]
    assert not [i for i in items if isinstance(i, PagingAnomaly)]
    assert len(seen) == (1 if total else 2)  # without a total, an empty page ends the read


@responses.activate
def test_a_short_then_empty_last_page_without_total_ends_the_read():
    _token()

    def answer(query):
        offset, limit = _window(query)
        return _json({"enrollments": ROWS[offset : offset + min(limit, 2)]})

    seen = _serve("enrollments", answer)
    with _client() as client:
        assert _ids(client.stream("enrollments")) == [r["sourcedId"] for r in ROWS]
    assert seen[-1]["offset"] == str(len(ROWS))


@pytest.mark.parametrize(
    ("collection", "key"),
    [("enrollments", "Enrollments"), ("students", "students"), ("students", "USERS")],
)
@responses.activate
def test_the_collection_key_in_another_case_or_named_after_the_subset(collection, key):
    _token()
    row = {
        "sourcedId": "s1",
        "status": "tobedeleted",
        "dateLastModified": "2026-01-01T00:00:00.000+00:00",
        "username": "zoe",
        "givenName": "Zoë",
        "familyName": "O'Brien",
        "role": "student",
        "orgs": [{"sourcedId": "101"}],
    }
    rows = [row] if collection == "students" else ROWS[:2]
    _serve(collection, lambda q: _json({key: rows if q.get("offset") == "0" else []}))
    with _client() as client:
        items = list(client.stream(collection))
    kind = User if collection == "students" else Enrollment
    assert [type(i) for i in items] == [kind] * len(rows)
    if collection == "students":
        assert items[0].status == "tobedeleted"


@responses.activate
def test_a_null_collection_is_still_a_wrong_envelope():
    """Read as an empty page it could end a read early and pass for complete."""
    _token()
    _serve("enrollments", lambda q: _json({"enrollments": None}))
    with _client() as client, pytest.raises(UpstreamProtocolError, match="list envelope"):
        list(client.stream("enrollments"))


@responses.activate
def test_records_with_vendor_roles_are_conflicts_and_the_read_goes_on():
    _token()
    rows = [ROWS[0], _enrollment(8, role="districtAdministrator"), ROWS[1]]
    _serve("enrollments", lambda q: _json({"enrollments": rows if q["offset"] == "0" else []}))
    with _client(page_size=10) as client:
        items = list(client.stream("enrollments"))
    assert [type(i) for i in items] == [Enrollment, InvalidRecord, Enrollment]
    assert items[1].sourced_id == "s8"
    assert "role 'districtAdministrator' is not one of" in items[1].reasons[0]


# --- answers that are not the API's JSON -------------------------------------------------

LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Campus Login</title></head><body></body></html>"


@responses.activate
def test_a_sign_in_page_answering_200_is_a_configuration_error():
    _token()
    _serve("enrollments", lambda q: (200, {"Content-Type": "text/html"}, LOGIN_PAGE))
    with _client() as client, pytest.raises(UpstreamMisconfigured) as raised:
        list(client.stream("enrollments"))
    message = str(raised.value)
    assert "web page (text/html) instead of JSON" in message
    assert "/ims/oneroster/v1p1/enrollments" in message
    assert "Campus Login" not in message  # never the body
    assert "Correct the URL" in upstream_error_reason(raised.value)


@responses.activate
def test_a_sign_in_page_at_the_token_url_is_a_configuration_error():
    responses.post(TOKEN_URL, body=LOGIN_PAGE, content_type="text/html")
    with _client() as client, pytest.raises(UpstreamMisconfigured, match="web page"):
        client.fetch_token()


@responses.activate
def test_a_redirect_to_a_sign_in_page_is_a_configuration_error_for_reads_and_writes():
    _token()
    login = f"{HOST}/sso/login?return=/secret-query"
    _serve("orgs", lambda q: (302, {"Location": login}, ""))
    responses.put(f"{BASE}/lineItems/li-1", status=302, headers={"Location": "/sso/login"})
    with _client() as client:
        with pytest.raises(UpstreamMisconfigured) as raised:
            client.get_first("orgs")
        assert "redirect to https://ic.example.edu/sso/login instead of JSON" in str(raised.value)
        assert "secret-query" not in str(raised.value)
        with pytest.raises(UpstreamMisconfigured, match="redirect"):
            client.put_line_item("li-1", {"title": "Lab"})


@responses.activate
def test_an_empty_200_body_says_so():
    _token()
    _serve("enrollments", lambda q: (200, {"Content-Type": "application/json"}, ""))
    with _client() as client, pytest.raises(UpstreamProtocolError, match="with an empty body"):
        list(client.stream("enrollments"))


@pytest.mark.parametrize(
    ("status", "content_type", "body", "error", "minor", "description"),
    [
        (
            400,
            "application/json",
            '{"imsx_StatusInfo": {"imsx_codeMajor": "failure", "imsx_severity": "error", '
            '"imsx_description": "bad filter", "imsx_CodeMinor": {"imsx_codeMinorField": '
            '{"imsx_codeMinorFieldName": "TargetEndSystem", '
            '"imsx_codeMinorFieldValue": "invalid_selection_field"}}}}',
            OneRosterRejected,
            ("invalid_selection_field",),
            "bad filter",
        ),
        (400, "text/html", "<html><body>Bad Request</body></html>", OneRosterRejected, (), ""),
        (500, "text/html", "<html><body>Server Error</body></html>", OneRosterError, (), ""),
        (500, "text/plain", "", OneRosterError, (), ""),
    ],
)
@responses.activate
def test_error_bodies_imsx_html_or_empty(status, content_type, body, error, minor, description):
    _token()
    _serve("enrollments", lambda q: (status, {"Content-Type": content_type}, body))
    with _client() as client, pytest.raises(error) as raised:
        list(client.stream("enrollments"))
    assert raised.value.status == status
    assert raised.value.imsx_code_minor == minor
    assert raised.value.imsx_description == description


@responses.activate
def test_a_byte_order_mark_before_the_json_is_skipped():
    _token()
    body = json.dumps({"enrollments": ROWS[:2]}).encode()
    _serve(
        "enrollments",
        lambda q: (
            200,
            {},
            b"\xef\xbb\xbf" + body if q["offset"] == "0" else b'{"enrollments":[]}',
        ),
    )
    with _client() as client:
        assert _ids(client.stream("enrollments")) == ["s0", "s1"]


@responses.activate
def test_a_single_object_key_in_another_case():
    _token()
    line_item = {
        "sourcedId": "li-1",
        "status": "active",
        "dateLastModified": "2026-01-01T00:00:00Z",
        "title": "Lab",
        "assignDate": "2026-01-01T00:00:00Z",
        "dueDate": "2026-01-08",
        "class": {"sourcedId": "c1"},
        "resultValueMin": 0,
        "resultValueMax": "10",
    }
    responses.get(f"{BASE}/lineItems/li-1", json={"LineItem": line_item})
    with _client() as client:
        read = client.get_line_item("li-1")
    assert not isinstance(read, InvalidRecord), read.reasons
    assert (read.class_, read.result_value_max) == ("c1", 10.0)


@responses.activate
def test_an_xml_answer_is_a_protocol_error_that_says_xml():
    _token()
    xml = '<?xml version="1.0"?><imsx_StatusInfo><imsx_codeMajor>success</imsx_codeMajor>'
    _serve("enrollments", lambda q: (200, {"Content-Type": "application/xml"}, xml))
    with _client() as client, pytest.raises(UpstreamProtocolError) as raised:
        list(client.stream("enrollments"))
    assert not isinstance(raised.value, UpstreamMisconfigured)
    assert "with XML (application/xml) instead of JSON" in str(raised.value)


# --- the token URL ---------------------------------------------------------------------------


def _token_answers(answer) -> list[dict]:
    """``answer(form, basic) -> (status, body)`` for POST to the token URL; the forms seen."""
    seen: list[dict] = []

    def callback(request):
        form = {k: v[0] for k, v in parse_qs(request.body or "").items()}
        basic = request.headers.get("Authorization", "").startswith("Basic ")
        seen.append({**form, "basic": basic})
        status, body = answer(form, basic)
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    responses.add_callback(responses.POST, TOKEN_URL, callback=callback)
    return seen


@responses.activate
def test_a_provider_that_knows_none_of_the_scopes_is_asked_for_none():
    """RFC 6749 makes ``scope`` optional. A provider that answers ``invalid_scope`` to the
    1.1 scope URIs grants the connection's own scopes when asked for none."""

    def answer(form, basic):
        if "scope" in form:
            return 400, {"error": "invalid_scope", "error_description": "unknown scope"}
        return 200, {"access_token": "a", "token_type": "bearer", "expires_in": "3600"}

    seen = _token_answers(answer)
    _serve("enrollments", lambda query: _json({"enrollments": ROWS[:2]}, **{"X-Total-Count": "2"}))
    with _client() as client:
        assert _ids(client.stream("enrollments")) == ["s0", "s1"]
    # One refusal of the scopes (credentials sent once: they were not the problem), then none.
    assert [("scope" in form, form["basic"]) for form in seen] == [(True, True), (False, True)]


@responses.activate
def test_credentials_refused_say_the_providers_reason():
    seen = _token_answers(
        lambda form, basic: (400, {"error": "invalid_client", "error_description": "expired"})
    )
    with _client() as client, pytest.raises(TokenRefused) as refused:
        client.fetch_token()
    assert refused.value.oauth_error == "invalid_client"
    assert "client id and secret" in str(refused.value)
    assert "(invalid_client: expired)" in str(refused.value)
    # Basic auth first, then the credentials as form fields; never without the scopes.
    assert [(form["basic"], "client_secret" in form) for form in seen] == [
        (True, False),
        (False, True),
    ]


@responses.activate
def test_scopes_refused_even_when_none_is_asked_say_so():
    _token_answers(lambda form, basic: (400, {"error": "invalid_scope"}))
    with _client() as client, pytest.raises(TokenRefused) as refused:
        client.fetch_token()
    assert refused.value.oauth_error == "invalid_scope"
    assert "refused the OneRoster scopes" in str(refused.value)
