"""OAuth 2.0 token caching and OAuth 1.0a signing, checked by oauthlib's own verifier."""

from __future__ import annotations

import pytest
import requests
from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
from oauthlib.oauth1.rfc5849 import SIGNATURE_HMAC_SHA256

from integration.http.errors import UpstreamAuthFailed
from integration.http.session import UpstreamSession
from integration.oneroster.auth import OAuth1Signer, TokenCache, scope_string
from integration.oneroster.filters import combine, field_filter, status_filter
from integration.oneroster.records import PagingAnomaly, User
from tests.integration.oneroster.conftest import FAST_RETRY

KEY, SECRET = "consumer-key_1", "consumer-secret/with+odd=chars"


class _IndependentValidator(RequestValidator):
    """A two-legged verifier written only against oauthlib's interface."""

    enforce_ssl = False
    allowed_signature_methods = (SIGNATURE_HMAC_SHA256,)

    def __init__(self) -> None:
        super().__init__()
        self.nonces: set[str] = set()

    def check_client_key(self, client_key: str) -> bool:
        return True

    def check_nonce(self, nonce: str) -> bool:
        return True

    @property
    def dummy_client(self) -> str:
        return "dummy"

    def validate_client_key(self, client_key, request) -> bool:
        return client_key == KEY

    def get_client_secret(self, client_key, request) -> str:
        return SECRET if client_key == KEY else "dummy"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, **kwargs):
        if nonce in self.nonces:
            return False
        self.nonces.add(nonce)
        return True


def _signed(url: str, method: str = "GET") -> requests.PreparedRequest:
    prepared = requests.Request(method, url).prepare()
    return OAuth1Signer(client_id=KEY, client_secret=SECRET)(prepared)


def test_oauth1_signatures_verify_with_oauthlib_including_the_query():
    endpoint = SignatureOnlyEndpoint(_IndependentValidator())
    flt = combine(field_filter("dateLastModified", ">", "2026-01-01T00:00:00Z"), status_filter())
    url = (
        "https://sis.example.org/campus/ims/oneroster/v1p1/users?limit=10&offset=20&filter="
        + requests.utils.quote(flt, safe="")
    )
    prepared = _signed(url)
    header = prepared.headers["Authorization"]
    assert 'oauth_signature_method="HMAC-SHA256"' in header
    assert "oauth_token" not in header
    valid, _ = endpoint.validate_request(prepared.url, "GET", None, {"Authorization": header})
    assert valid
    tampered = prepared.url.replace("offset=20", "offset=21")
    valid, _ = endpoint.validate_request(tampered, "GET", None, {"Authorization": header})
    assert not valid


def test_every_attempt_gets_a_fresh_nonce():
    endpoint = SignatureOnlyEndpoint(_IndependentValidator())
    url = "https://sis.example.org/ims/oneroster/v1p1/orgs?limit=1"
    first, second = _signed(url), _signed(url)
    for prepared in (first, second):
        headers = {"Authorization": prepared.headers["Authorization"]}
        assert endpoint.validate_request(prepared.url, "GET", None, headers)[0]
    replay = {"Authorization": first.headers["Authorization"]}
    assert not endpoint.validate_request(first.url, "GET", None, replay)[0]


def test_the_client_reads_and_writes_with_oauth1(sandbox, client_for):
    client = client_for(sandbox, auth_method="oauth1", page_size=9)
    client.fetch_token()  # no-op for OAuth 1.0a
    users = [u for u in client.stream("users") if not isinstance(u, PagingAnomaly)]
    assert len(users) == sandbox.generated.counts()["users"]
    assert all(isinstance(u, User) for u in users)
    flt = combine(status_filter(), field_filter("sourcedId", "!=", "nobody"))
    assert len(list(client.stream("classes", filter=flt))) == sandbox.generated.counts()["classes"]
    issued = sandbox.oneroster.tokens_issued
    assert client.get_categories()
    assert sandbox.oneroster.tokens_issued == issued  # no bearer token involved


def test_oauth1_with_a_wrong_secret_is_refused(sandbox, client_for):
    client = client_for(sandbox, auth_method="oauth1", client_secret="wrong")
    with pytest.raises(UpstreamAuthFailed) as caught:
        client.get_first("orgs")
    assert caught.value.status == 401


def test_tokens_are_cached_and_refreshed_shortly_before_expiry(sandbox):
    state = sandbox.oneroster
    state.token_ttl = 300
    info = sandbox.info
    now = [1000.0]
    session = UpstreamSession(allow_private=True, retry=FAST_RETRY, sleep=lambda _: None)
    cache = TokenCache(
        session=session,
        token_url=info["token_url"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scope=scope_string(gradebook=True),
        clock=lambda: now[0],
    )
    first = cache.token()
    assert cache.token() == first
    now[0] += 300 - 61  # still more than the refresh margin (30 s = a tenth of 300) left
    assert cache.token() == first
    now[0] += 40  # now inside the margin: refreshed before the provider would refuse it
    second = cache.token()
    assert second != first
    assert state.token_valid(second)
    assert cache.fetches == 2
    generation = cache.generation
    cache.invalidate(generation - 1)  # a stale 401 does not throw away the new token
    assert cache.token() == second
    cache.invalidate(generation)
    assert cache.token() != second
    session.close()


def test_token_requests_send_basic_auth_and_the_scopes(sandbox, client_for):
    client = client_for(sandbox)
    client.fetch_token()
    method, _path, query = [r for r in sandbox.oneroster.requests if r[1] == "oauth2/token"][-1]
    assert method == "POST"
    assert query == f"appName={sandbox.oneroster.credentials.app_name}"
    assert "gradebook.createput" in scope_string(gradebook=True)
    assert "gradebook" not in scope_string(gradebook=False)
