"""The fault matrix: each injected fault → the client recovers or raises the right error.

Everything goes over real loopback HTTP to the simulated Infinite Campus; retries are
instant (tiny RetryPolicy, no-op sleep that records what it was asked to wait).
"""

from __future__ import annotations

import socket

import pytest

from integration.http.errors import (
    RestrictedAddress,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from integration.oneroster.client import OneRosterClient
from integration.oneroster.errors import (
    OneRosterError,
    OneRosterRejected,
    TokenRefused,
    VendorKeyMissing,
    VendorKeyRejected,
)
from integration.oneroster.records import PagingAnomaly
from sandbox.oneroster.faults import FaultRule
from tests.integration.oneroster.conftest import make_config


def _read(client, collection="enrollments"):
    items = list(client.stream(collection))
    records = [i for i in items if not isinstance(i, PagingAnomaly)]
    anomalies = [i for i in items if isinstance(i, PagingAnomaly)]
    return records, anomalies


def _expected(sandbox, collection="enrollments"):
    return sandbox.generated.counts()[collection]


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule("status", status=429, retry_after=0.004, count=2, match="enrollments"),
        FaultRule("status", status=502, count=1, match="enrollments"),
        FaultRule("status", status=503, count=2, match="enrollments"),
        FaultRule("status", status=504, count=1, match="enrollments"),
        FaultRule("truncate", count=1, match="enrollments", skip=1),
        FaultRule("short_page", count=1, match="enrollments", skip=1),
    ],
    ids=lambda r: f"{r.kind}-{r.status}",
)
def test_transient_faults_are_retried_and_the_read_completes(sandbox, client_for, rule):
    sandbox.oneroster.faults.set([rule])
    records, anomalies = _read(client_for(sandbox, page_size=40))
    assert anomalies == []
    assert len({r.sourced_id for r in records}) == len(records) == _expected(sandbox)
    assert rule.count == 0, "the fault fired"


def test_retry_after_is_honoured(sandbox, client_for, sleeps):
    sandbox.oneroster.faults.set(
        [FaultRule("status", status=429, retry_after=0.5, count=1, match="orgs")]
    )
    client = client_for(sandbox)
    assert client.get_first("orgs") is not None
    assert sleeps
    assert max(sleeps) >= 0.01


def test_rate_limiting_that_never_ends_raises_rate_limited(sandbox, client_for):
    sandbox.oneroster.faults.set([FaultRule("status", status=429, retry_after=1, count=-1)])
    with pytest.raises(UpstreamRateLimited) as caught:
        _read(client_for(sandbox))
    assert caught.value.retry_after == 1.0


def test_a_500_is_an_error_carrying_the_imsx_status(sandbox, client_for):
    sandbox.oneroster.faults.set([FaultRule("status", status=500, count=1, match="users")])
    client = client_for(sandbox)
    with pytest.raises(OneRosterError) as caught:
        _read(client, "users")
    error = caught.value
    assert error.status == 500
    assert error.imsx_code_major == "failure"
    assert error.imsx_code_minor == ("targetreadfailure",)
    assert not isinstance(error, OneRosterRejected)


def test_a_400_is_rejected_without_retry(sandbox, client_for):
    sandbox.oneroster.faults.set([FaultRule("status", status=400, count=1, match="classes")])
    client = client_for(sandbox)
    before = client.requests_made
    with pytest.raises(OneRosterRejected):
        _read(client, "classes")
    assert client.requests_made - before <= 2  # the token request and the refused page


def test_an_unknown_filter_field_is_rejected_with_the_imsx_code(sandbox, client_for):
    client = client_for(sandbox)
    with pytest.raises(OneRosterRejected) as caught:
        list(client.stream("users", filter="nickname='Ana'"))
    assert caught.value.imsx_code_minor == ("invalid_selection_field",)
    assert "nickname" in caught.value.imsx_description


def test_slow_responses_time_out_then_recover(sandbox, client_for):
    sandbox.oneroster.faults.set([FaultRule("slow", delay=0.6, count=1, match="courses")])
    records, anomalies = _read(client_for(sandbox, read_timeout=0.2), "courses")
    assert len(records) == _expected(sandbox, "courses")
    assert anomalies == []


def test_a_provider_that_stays_slow_raises_timeout(sandbox, client_for):
    sandbox.oneroster.faults.set([FaultRule("slow", delay=0.4, count=-1, match="courses")])
    with pytest.raises(UpstreamTimeout):
        _read(client_for(sandbox, read_timeout=0.1), "courses")


def test_a_body_cut_off_every_time_is_a_protocol_error(sandbox, client_for):
    sandbox.oneroster.faults.set([FaultRule("truncate", count=-1, match="users")])
    with pytest.raises(UpstreamProtocolError):
        _read(client_for(sandbox), "users")


@pytest.mark.parametrize("kind", ["truncate_unframed", "malformed", "wrong_envelope"])
def test_bodies_that_are_not_the_promised_json_are_protocol_errors(sandbox, client_for, kind):
    sandbox.oneroster.faults.set([FaultRule(kind, count=1, match="classes")])
    with pytest.raises(UpstreamProtocolError):
        _read(client_for(sandbox), "classes")


def test_a_total_that_changes_mid_read_is_reported(sandbox, client_for):
    sandbox.oneroster.faults.set(
        [FaultRule("total_drift", delta=5, skip=1, count=-1, match="enrollments")]
    )
    records, anomalies = _read(client_for(sandbox, page_size=40))
    kinds = {a.kind for a in anomalies}
    assert "total_changed" in kinds
    assert "short_read" in kinds  # five promised records never came
    assert len(records) == _expected(sandbox)


def test_a_total_larger_than_what_arrives_is_a_short_read(sandbox, client_for):
    sandbox.oneroster.faults.set([FaultRule("total_drift", delta=3, count=-1, match="enrollments")])
    _, anomalies = _read(client_for(sandbox, page_size=40))
    assert [a.kind for a in anomalies] == ["short_read"]


def test_records_shifted_across_pages_are_reported_and_not_repeated(sandbox, client_for):
    # A page that starts one record early repeats the previous page's last record and
    # misses its own last one: both must be reported, the repeat never yielded twice.
    sandbox.oneroster.faults.set([FaultRule("duplicate", count=1, skip=1, match="enrollments")])
    records, anomalies = _read(client_for(sandbox, page_size=40, concurrency=1))
    assert [a.kind for a in anomalies] == ["duplicate_sourced_id", "short_read"]
    assert len({r.sourced_id for r in records}) == len(records) == _expected(sandbox) - 1


def test_token_expiry_in_the_middle_of_a_long_read(sandbox, client_for):
    state = sandbox.oneroster
    issued = state.tokens_issued
    state.faults.set([FaultRule("expire_tokens", count=1, skip=3, match="enrollments")])
    client = client_for(sandbox, page_size=20, concurrency=3)
    records, anomalies = _read(client)
    assert anomalies == []
    assert len(records) == _expected(sandbox)
    assert state.tokens_issued - issued == 2  # the first token and exactly one refresh


def test_the_token_endpoint_is_retried_when_busy(sandbox, client_for):
    sandbox.oneroster.faults.set([FaultRule("status", status=503, count=1, match="oauth2/token")])
    client = client_for(sandbox)
    client.fetch_token()
    assert client.get_first("orgs") is not None


def test_refused_client_credentials_raise_token_refused(sandbox, client_for):
    client = client_for(sandbox, client_secret="not-the-secret")
    with pytest.raises(TokenRefused):
        client.fetch_token()
    with pytest.raises(TokenRefused):
        client.get_first("orgs")


def test_an_unreachable_provider_raises_unreachable(client_for, sandbox):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = f"http://127.0.0.1:{port}"
    client = OneRosterClient(
        make_config(sandbox, base_url=f"{dead}/ims/oneroster/v1p1", token_url=f"{dead}/token"),
        sleep=lambda _: None,
    )
    with client, pytest.raises(UpstreamUnreachable):
        client.get_first("orgs")


def test_private_addresses_are_refused_unless_allowed(sandbox):
    client = OneRosterClient(make_config(sandbox, allow_private=False))
    with client, pytest.raises(RestrictedAddress):
        client.get_first("orgs")


def test_gradebook_without_a_vendor_key_is_vendor_key_missing(sandbox, client_for):
    client = client_for(sandbox, vendor_key=None, vendor_secret=None)
    with pytest.raises(VendorKeyMissing):
        client.get_categories()


def test_gradebook_with_a_wrong_vendor_key_is_vendor_key_rejected(sandbox, client_for):
    client = client_for(sandbox, vendor_secret="wrong")
    with pytest.raises(VendorKeyRejected) as caught:
        client.get_categories()
    assert not isinstance(caught.value, VendorKeyMissing)
    assert "wrong" not in str(caught.value)
