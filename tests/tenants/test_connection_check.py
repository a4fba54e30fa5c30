from __future__ import annotations

import json
import time

import pytest

import tenants.services.connection_check as cc
from tenants.models import AuditEvent, District
from tenants.services.connection_check import district_check
from tests.tenants.conftest import ALL_SECRETS, VENDOR_KEY, VENDOR_SECRET, assert_no_secret
from tests.tenants.fake_upstream import BASE_PATH, TOKEN_PATH, FakeUpstream, json_response

pytestmark = pytest.mark.django_db

ORDER = [
    cc.STEP_ONEROSTER_AUTH,
    cc.STEP_ONEROSTER_ORG,
    cc.STEP_ONEROSTER_SESSION,
    cc.STEP_ONEROSTER_GRADEBOOK,
    cc.STEP_CANVAS_TOKEN,
    cc.STEP_CANVAS_ROOT_ACCOUNT,
    cc.STEP_CANVAS_SIS_IMPORT,
]


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def upstream():
    server = FakeUpstream()
    yield server
    server.stop()


@pytest.fixture
def district(make_district, upstream):
    return make_district(**upstream.district_fields())


def run(district: District):
    report = district_check(district=district, actor=None, actor_label="test", sleep=no_sleep)
    assert [step.name for step in report.steps] == ORDER
    return report, {step.name: step for step in report.steps}


def outcome(steps) -> dict[str, bool | None]:
    return {name: step.ok for name, step in steps.items()}


def test_every_step_passes_and_the_result_is_stored_and_audited(district, caplog):
    caplog.set_level("DEBUG")
    report, steps = run(district)
    assert report.ok
    assert outcome(steps) == {
        **dict.fromkeys(ORDER, True),
        cc.STEP_ONEROSTER_GRADEBOOK: None,  # no vendor key anywhere: skipped, not failed
    }
    assert steps[cc.STEP_ONEROSTER_GRADEBOOK].reason == cc.GRADEBOOK_NO_VENDOR_KEY
    assert "Fake District Office" in steps[cc.STEP_ONEROSTER_ORG].reason
    district.refresh_from_db()
    assert district.last_check_ok is True
    assert district.last_check_at == report.checked_at
    assert [s["name"] for s in district.last_check_steps] == ORDER
    event = AuditEvent.objects.get(action=AuditEvent.Action.CHECK_RUN)
    assert event.changes == {"ok": [None, True]}
    assert_no_secret(caplog.text + json.dumps(district.last_check_steps))


def test_the_gradebook_step_uses_the_vendor_key(make_district, upstream):
    district = make_district(
        **upstream.district_fields(),
        oneroster_vendor_key=VENDOR_KEY,
        oneroster_vendor_secret=VENDOR_SECRET,
    )
    report, steps = run(district)
    assert report.ok
    assert steps[cc.STEP_ONEROSTER_GRADEBOOK].ok is True
    gradebook_calls = [h for m, p, h in upstream.requests if p.endswith("/categories")]
    assert gradebook_calls[0]["X_VENDOR_AUTHORIZATION"] == f"{VENDOR_KEY}:{VENDOR_SECRET}"


def test_a_refused_vendor_key_says_so(make_district, upstream):
    district = make_district(
        **upstream.district_fields(),
        oneroster_vendor_key=VENDOR_KEY,
        oneroster_vendor_secret=VENDOR_SECRET,
    )
    upstream.routes[("GET", BASE_PATH + "/categories")] = json_response(401, {})
    report, steps = run(district)
    assert not report.ok
    assert steps[cc.STEP_ONEROSTER_GRADEBOOK].ok is False
    assert steps[cc.STEP_ONEROSTER_GRADEBOOK].reason == cc.GRADEBOOK_VENDOR_KEY_REFUSED
    assert "refused the gradebook vendor key" in cc.GRADEBOOK_VENDOR_KEY_REFUSED


def test_refused_client_credentials_skip_the_other_sis_steps_but_not_canvas(district, upstream):
    upstream.routes[("POST", TOKEN_PATH)] = json_response(401, {"error": "invalid_client"})
    report, steps = run(district)
    assert not report.ok
    assert report.first_failure.name == cc.STEP_ONEROSTER_AUTH
    assert steps[cc.STEP_ONEROSTER_AUTH].reason == cc.ONEROSTER_AUTH_REFUSED
    for name in (cc.STEP_ONEROSTER_ORG, cc.STEP_ONEROSTER_SESSION, cc.STEP_ONEROSTER_GRADEBOOK):
        assert steps[name].ok is None
        assert steps[name].reason == cc.SKIPPED_AFTER_FAILURE
    assert steps[cc.STEP_CANVAS_SIS_IMPORT].ok is True
    assert not any(p.endswith("/orgs") for _m, p, _h in upstream.requests)


def test_a_wrong_token_url(district, upstream):
    del upstream.routes[("POST", TOKEN_PATH)]
    _report, steps = run(district)
    assert steps[cc.STEP_ONEROSTER_AUTH].reason == cc.ONEROSTER_TOKEN_URL_NOT_FOUND


@pytest.mark.parametrize(
    ("collection", "step", "response", "expected"),
    [
        (
            "orgs",
            cc.STEP_ONEROSTER_ORG,
            json_response(403, {}),
            cc.ONEROSTER_FORBIDDEN.format(what="orgs"),
        ),
        (
            "orgs",
            cc.STEP_ONEROSTER_ORG,
            json_response(404, {}),
            cc.ONEROSTER_BASE_URL_NOT_FOUND.format(path=BASE_PATH + "/orgs"),
        ),
        (
            "orgs",
            cc.STEP_ONEROSTER_ORG,
            json_response(200, {"orgs": []}),
            cc.ONEROSTER_EMPTY.format(what="orgs"),
        ),
        (
            "academicSessions",
            cc.STEP_ONEROSTER_SESSION,
            json_response(403, {}),
            cc.ONEROSTER_FORBIDDEN.format(what="academic sessions"),
        ),
        (
            "academicSessions",
            cc.STEP_ONEROSTER_SESSION,
            json_response(200, {"academicSessions": []}),
            cc.ONEROSTER_EMPTY.format(what="academic sessions"),
        ),
    ],
)
def test_read_failures_name_the_fix(district, upstream, collection, step, response, expected):
    upstream.routes[("GET", BASE_PATH + "/" + collection)] = response
    report, steps = run(district)
    assert report.first_failure.name == step
    assert steps[step].reason == expected


def test_an_answer_that_is_not_oneroster(district, upstream):
    upstream.routes[("GET", BASE_PATH + "/orgs")] = (
        200,
        {"Content-Type": "text/html"},
        b"<html>Campus login</html>",
    )
    _report, steps = run(district)
    assert steps[cc.STEP_ONEROSTER_ORG].ok is False
    assert "answered, but not the way the SIS does" in steps[cc.STEP_ONEROSTER_ORG].reason
    assert "sent a web page" in steps[cc.STEP_ONEROSTER_ORG].reason


def test_a_server_error_is_reported_with_its_status(district, upstream):
    upstream.routes[("GET", BASE_PATH + "/orgs")] = json_response(500, {})
    _report, steps = run(district)
    assert "HTTP 500" in steps[cc.STEP_ONEROSTER_ORG].reason


def test_oauth1_signs_the_first_read_instead_of_fetching_a_token(make_district, upstream):
    district = make_district(**upstream.district_fields(), oneroster_auth_method="oauth1")
    report, steps = run(district)
    assert steps[cc.STEP_ONEROSTER_AUTH].ok is True
    assert "OAuth 1.0a" in steps[cc.STEP_ONEROSTER_AUTH].reason
    assert not any(p == TOKEN_PATH for _m, p, _h in upstream.requests)
    org_calls = [h for _m, p, h in upstream.requests if p.endswith("/orgs")]
    assert org_calls[0]["AUTHORIZATION"].startswith("OAuth ")
    assert 'oauth_signature_method="HMAC-SHA256"' in org_calls[0]["AUTHORIZATION"]
    assert report.ok


def test_an_invalid_canvas_token_skips_the_other_canvas_steps(district, upstream):
    upstream.routes[("GET", "/api/v1/users/self")] = json_response(
        401, {"errors": [{"message": "Invalid access token."}]}, {"WWW-Authenticate": "Bearer"}
    )
    _report, steps = run(district)
    assert steps[cc.STEP_CANVAS_TOKEN].reason == cc.CANVAS_TOKEN_REFUSED
    assert steps[cc.STEP_CANVAS_ROOT_ACCOUNT].ok is None
    assert steps[cc.STEP_CANVAS_SIS_IMPORT].ok is None
    assert steps[cc.STEP_ONEROSTER_SESSION].ok is True


def test_a_sub_account_is_not_a_root_account(district, upstream):
    upstream.routes[("GET", "/api/v1/accounts/1")] = json_response(
        200, {"id": 1, "name": "High Schools", "root_account_id": 7}
    )
    _report, steps = run(district)
    assert steps[cc.STEP_CANVAS_ROOT_ACCOUNT].reason == cc.CANVAS_NOT_ROOT.format(
        account="1", root=7
    )


def test_an_unknown_canvas_account(district, upstream):
    del upstream.routes[("GET", "/api/v1/accounts/1")]
    _report, steps = run(district)
    assert steps[cc.STEP_CANVAS_ROOT_ACCOUNT].reason == cc.CANVAS_ACCOUNT_NOT_FOUND.format(
        account="1"
    )


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (json_response(401, {"status": "unauthorized"}), cc.CANVAS_NO_SIS_IMPORT),
        (json_response(403, {"status": "forbidden"}), cc.CANVAS_NO_SIS_IMPORT),
        (json_response(400, {"errors": []}), cc.CANVAS_REFUSED_REQUEST.format(account="1")),
    ],
)
def test_no_sis_import_permission(district, upstream, response, expected):
    upstream.routes[("GET", "/api/v1/accounts/1/sis_imports")] = response
    report, steps = run(district)
    assert not report.ok
    assert steps[cc.STEP_CANVAS_SIS_IMPORT].reason == expected


def test_an_unreachable_host(make_district, upstream):
    upstream.stop()  # nothing listens on the port any more
    district = make_district(**upstream.district_fields())
    _report, steps = run(district)
    assert steps[cc.STEP_ONEROSTER_AUTH].reason.startswith("Could not connect to 127.0.0.1")
    assert steps[cc.STEP_CANVAS_TOKEN].reason.startswith("Could not connect to 127.0.0.1")


def test_a_host_that_does_not_answer_in_time(district, upstream, settings):
    settings.HTTP_READ_TIMEOUT = 0.2

    def slow(_environ):
        time.sleep(0.6)
        return json_response(200, {})

    upstream.routes[("POST", TOKEN_PATH)] = slow
    _report, steps = run(district)
    assert "did not answer in time" in steps[cc.STEP_ONEROSTER_AUTH].reason


def test_private_addresses_are_refused_before_connecting(district, upstream, settings):
    settings.ALLOW_PRIVATE_UPSTREAMS = False
    report, steps = run(district)
    assert "resolves to a private, loopback or link-local address" in (
        steps[cc.STEP_ONEROSTER_AUTH].reason
    )
    assert "private" in steps[cc.STEP_CANVAS_TOKEN].reason
    assert upstream.requests == []
    assert not report.ok


def test_a_district_without_credentials_sends_nothing(make_district, upstream):
    district = make_district(
        **upstream.district_fields(), oneroster_client_secret=None, canvas_token=None
    )
    report, steps = run(district)
    assert steps[cc.STEP_ONEROSTER_AUTH].reason == cc.ONEROSTER_NOT_CONFIGURED
    assert steps[cc.STEP_CANVAS_TOKEN].reason == cc.CANVAS_NOT_CONFIGURED
    assert upstream.requests == []
    assert not report.ok


def test_secrets_never_reach_reasons_logs_or_the_audit_row(district, upstream, caplog):
    caplog.set_level("DEBUG")
    # An upstream that echoes what it received must not leak it through the check.
    echo = json_response(401, {"error": "bad", "echo": list(ALL_SECRETS)})
    upstream.routes[("POST", TOKEN_PATH)] = echo
    upstream.routes[("GET", "/api/v1/users/self")] = json_response(
        401, {"echo": list(ALL_SECRETS)}, {"WWW-Authenticate": "Bearer"}
    )
    report, _steps = run(district)
    district.refresh_from_db()
    event = AuditEvent.objects.get(action=AuditEvent.Action.CHECK_RUN)
    assert_no_secret(
        caplog.text
        + json.dumps(report.as_dict())
        + json.dumps(district.last_check_steps)
        + json.dumps(event.changes)
        + event.target
    )
