from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.forms import VENDOR_PAIR_INCOMPLETE
from tenants.models import AuditEvent, District, IntakeLink
from tenants.services.intake import (
    LINK_CLOSED_MESSAGES,
    IntakeLinkClosed,
    intake_link_create,
    intake_link_revoke,
)
from tenants.services.validation import (
    BASE_URL_PATH,
    HOST_RESTRICTED,
    TOKEN_URL_INVALID,
    URL_HTTPS_REQUIRED,
)
from tenants.views import INTAKE_NO_SESSION, INTAKE_RATE_LIMITED
from tests.tenants.conftest import assert_no_secret

pytestmark = pytest.mark.django_db

BASE = "https://sis.example.org/campus/api/oneroster/v1p1/d/ims/oneroster/v1p1"
SUBMITTED_SECRET = "submitted-secret-H5TY2"
SUBMITTED_VENDOR_SECRET = "submitted-vendor-secret-J6UP3"


@pytest.fixture
def district(make_district):
    return make_district(
        name="Lakeside Unified",
        oneroster_base_url="",
        oneroster_token_url="",
        oneroster_client_id="",
        oneroster_client_secret=None,
    )


@pytest.fixture
def link_and_token(district):
    return intake_link_create(district=district, actor=None, actor_label="test")


@pytest.fixture
def url(link_and_token):
    return reverse("tenants:intake", kwargs={"token": link_and_token[1]})


FORM_URL = "/intake/form/"


def open_link(client: Client, url: str) -> str:
    """Follow the e-mailed link: it remembers the link and sends on to the form page."""
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("tenants:intake_form") == FORM_URL
    return FORM_URL


@pytest.fixture(autouse=True)
def _fresh_rate_limit(settings):
    from django.core.cache import cache

    cache.clear()
    settings.INTAKE_RATE_LIMIT = 30


def good_data(**overrides):
    data = {
        "oneroster_base_url": BASE + "/",
        "oneroster_token_url": "https://sis.example.org/campus/oauth2/token?appName=d",
        "oneroster_client_id": "InfiniteCampus_client",
        "oneroster_client_secret": SUBMITTED_SECRET,
        "oneroster_vendor_key": "",
        "oneroster_vendor_secret": "",
    }
    data.update(overrides)
    return data


def test_only_the_hash_of_a_long_random_token_is_stored(link_and_token):
    link, token = link_and_token
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(IntakeLink.objects.filter(pk=link.pk).values().get())
    assert link.expires_at - link.created_at == pytest.approx(
        dt.timedelta(days=7), abs=dt.timedelta(minutes=1)
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.INTAKE_CREATED)
    assert token not in json.dumps(event.changes) + event.target


def test_the_page_shows_the_district_name_and_the_form_only(client, url, district):
    response = client.get(open_link(client, url))
    assert response.status_code == 200
    body = response.content.decode()
    assert url.split("/")[-2] not in body  # the token left the address bar and the page
    assert "Lakeside Unified" in body
    assert 'name="oneroster_client_secret"' in body
    assert district.slug not in body
    assert district.canvas_base_url not in body
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def test_a_submission_stores_encrypted_consumes_audits_and_queues_a_check(
    client, url, district, link_and_token, broker, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level("DEBUG")
    redis_client, queue = broker
    data = good_data(
        oneroster_vendor_key="district-vendor-key-K1",
        oneroster_vendor_secret=SUBMITTED_VENDOR_SECRET,
    )
    form_url = open_link(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form_url, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "were received" in body
    assert_no_secret(body, (SUBMITTED_SECRET, SUBMITTED_VENDOR_SECRET, "district-vendor-key-K1"))

    district.refresh_from_db()
    assert district.oneroster_base_url == BASE
    assert district.oneroster_client_secret == SUBMITTED_SECRET
    assert district.vendor_credentials() == ("district-vendor-key-K1", SUBMITTED_VENDOR_SECRET)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oneroster_client_secret, oneroster_vendor_secret FROM tenants_district "
            "WHERE id = %s",
            [district.pk],
        )
        raw = b"".join(bytes(v) for v in cursor.fetchone())
    assert SUBMITTED_SECRET.encode() not in raw
    assert SUBMITTED_VENDOR_SECRET.encode() not in raw

    link = IntakeLink.objects.get(pk=link_and_token[0].pk)
    assert link.state == "used"
    event = AuditEvent.objects.get(action=AuditEvent.Action.INTAKE_SUBMITTED)
    assert event.actor_label == "intake link"
    assert event.changes["oneroster_client_secret"] == "(changed)"
    assert SUBMITTED_SECRET not in json.dumps(event.changes)

    # The queued check carries the district id and nothing else.
    messages = redis_client.lrange(queue, 0, -1)
    assert len(messages) == 1
    envelope = json.loads(messages[0])
    assert envelope["headers"]["task"] == "tenants.district_check"
    args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
    assert args == [district.pk]
    assert kwargs == {}
    assert_no_secret(messages[0].decode(), (SUBMITTED_SECRET, SUBMITTED_VENDOR_SECRET))
    assert_no_secret(caplog.text, (SUBMITTED_SECRET, SUBMITTED_VENDOR_SECRET, link_and_token[1]))


def test_a_link_works_once(client, url):
    other_browser = Client()
    other_form = open_link(other_browser, url)
    assert client.post(open_link(client, url), good_data()).status_code == 200
    again = client.get(url)
    assert again.status_code == 410
    assert LINK_CLOSED_MESSAGES["used"] in again.content.decode()
    # A second browser that opened the link before it was used cannot use it either.
    late = other_browser.post(other_form, good_data())
    assert late.status_code == 410
    assert LINK_CLOSED_MESSAGES["used"] in late.content.decode()
    after = client.get(FORM_URL)
    assert after.status_code == 404
    assert INTAKE_NO_SESSION in after.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INTAKE_SUBMITTED).count() == 1


def test_an_expired_link_shows_a_clear_page(client, url, link_and_token):
    form_url = open_link(client, url)
    past = timezone.now() - dt.timedelta(days=8)
    IntakeLink.objects.filter(pk=link_and_token[0].pk).update(
        created_at=past, expires_at=past + dt.timedelta(days=7)
    )
    response = client.get(url)
    assert response.status_code == 410
    assert LINK_CLOSED_MESSAGES["expired"] in response.content.decode()
    assert client.post(form_url, good_data()).status_code == 410
    assert District.objects.get(pk=link_and_token[0].district_id).oneroster_client_secret is None


def test_a_revoked_link_shows_a_clear_page_and_revoking_is_audited(client, url, link_and_token):
    form_url = open_link(client, url)
    intake_link_revoke(link=link_and_token[0], actor=None, actor_label="test")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INTAKE_REVOKED).count() == 1
    response = client.get(url)
    assert response.status_code == 410
    assert LINK_CLOSED_MESSAGES["revoked"] in response.content.decode()
    assert client.post(form_url, good_data()).status_code == 410
    with pytest.raises(IntakeLinkClosed):
        intake_link_revoke(link=link_and_token[0], actor=None, actor_label="test")


def test_an_unknown_token_is_not_found(client, link_and_token):
    response = client.get(reverse("tenants:intake", kwargs={"token": "x" * 43}))
    assert response.status_code == 404
    assert LINK_CLOSED_MESSAGES["unknown"] in response.content.decode()
    assert client.get(FORM_URL).status_code == 404  # no link opened in this session


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        (
            {"oneroster_base_url": "http://sis.example.org/ims/oneroster/v1p1"},
            "oneroster_base_url",
            URL_HTTPS_REQUIRED,
        ),
        (
            {"oneroster_base_url": "https://sis.example.org/campus/api/oneroster"},
            "oneroster_base_url",
            BASE_URL_PATH,
        ),
        ({"oneroster_token_url": "token please"}, "oneroster_token_url", TOKEN_URL_INVALID),
        (
            {"oneroster_base_url": "https://10.0.0.5/ims/oneroster/v1p1"},
            "oneroster_base_url",
            HOST_RESTRICTED.format(host="10.0.0.5"),
        ),
        (
            {"oneroster_token_url": "https://169.254.169.254/latest/meta-data"},
            "oneroster_token_url",
            HOST_RESTRICTED.format(host="169.254.169.254"),
        ),
        (
            {"oneroster_base_url": "https://[::127.0.0.1]/ims/oneroster/v1p1"},
            "oneroster_base_url",
            HOST_RESTRICTED.format(host="::127.0.0.1"),
        ),
        ({"oneroster_client_secret": ""}, "oneroster_client_secret", "This field is required."),
        ({"oneroster_vendor_key": "only-the-key"}, None, VENDOR_PAIR_INCOMPLETE),
    ],
)
def test_each_bad_input_is_rejected_with_its_message(
    client, url, settings, overrides, field, expected
):
    settings.ALLOW_HTTP_UPSTREAMS = False
    settings.ALLOW_PRIVATE_UPSTREAMS = False
    # Only IP literals and example.org addresses that fail before the address check are used,
    # so no name is ever looked up.
    data = good_data(
        oneroster_base_url="https://93.184.215.14/campus/api/oneroster/v1p1/d/ims/oneroster/v1p1",
        oneroster_token_url="https://93.184.215.14/campus/oauth2/token?appName=d",
    )
    data.update(overrides)
    response = client.post(open_link(client, url), data)
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field or "__all__")
    assert errors == [expected]
    assert expected in response.content.decode().replace("&#x27;", "'")
    assert SUBMITTED_SECRET not in response.content.decode()
    assert IntakeLink.objects.get().state == "open"


#: IPv6 forms that embed or stand for a non-public address; the intake form stores none.
RESTRICTED_IPV6_HOSTS = [
    "::127.0.0.1",  # IPv4-compatible loopback
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "fc00::1",  # ULA
    "fd12:3456::1",  # ULA
    "fe80::1",  # link-local
    "febf::1",  # link-local, the top of fe80::/10
]


@pytest.mark.parametrize("host", RESTRICTED_IPV6_HOSTS)
def test_ipv6_forms_of_private_addresses_are_refused_and_not_stored(
    client, url, settings, district, host
):
    settings.ALLOW_HTTP_UPSTREAMS = False
    settings.ALLOW_PRIVATE_UPSTREAMS = False
    data = good_data(
        oneroster_base_url=f"https://[{host}]/ims/oneroster/v1p1/",
        oneroster_token_url="https://93.184.215.14/campus/oauth2/token?appName=d",
    )

    response = client.post(open_link(client, url), data)

    assert response.status_code == 200
    assert response.context["form"].errors["oneroster_base_url"] == [
        HOST_RESTRICTED.format(host=host)
    ]
    district.refresh_from_db()
    assert district.oneroster_base_url == ""
    assert IntakeLink.objects.get().state == "open"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.INTAKE_SUBMITTED).exists()


def test_the_intake_endpoint_is_rate_limited_per_client(url, settings):
    settings.INTAKE_RATE_LIMIT = 3
    client = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [client.get(url).status_code for _ in range(2)]
    statuses += [client.get(FORM_URL).status_code for _ in range(2)]
    assert statuses == [302, 302, 200, 429]
    assert INTAKE_RATE_LIMITED in client.get(url).content.decode()
    # Another client is not affected.
    assert Client(REMOTE_ADDR="203.0.113.8").get(url).status_code == 302


def test_posting_without_a_csrf_token_is_refused(url):
    client = Client(enforce_csrf_checks=True)
    assert client.post(open_link(client, url), good_data()).status_code == 403
    assert IntakeLink.objects.get().state == "open"
