from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError

from tenants.services.validation import (
    BASE_URL_PATH,
    BASE_URL_QUERY,
    CANVAS_URL_PATH,
    HOST_RESTRICTED,
    HOST_UNKNOWN,
    TOKEN_URL_INVALID,
    URL_HAS_CREDENTIALS,
    URL_HTTPS_REQUIRED,
    URL_INVALID,
    UrlKind,
    upstream_url_validate,
)

BASE = "https://sis.example.org/campus/api/oneroster/v1p1/d/ims/oneroster/v1p1"


@pytest.fixture
def strict(settings):
    settings.ALLOW_HTTP_UPSTREAMS = False
    settings.ALLOW_PRIVATE_UPSTREAMS = False


def message(url: str, kind: UrlKind) -> str:
    with pytest.raises(ValidationError) as excinfo:
        upstream_url_validate(url, kind=kind)
    return excinfo.value.messages[0]


def test_a_good_base_url_is_normalised_without_the_trailing_slash(settings):
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    assert upstream_url_validate(BASE + "/", kind=UrlKind.ONEROSTER_BASE) == BASE


@pytest.mark.usefixtures("strict")
@pytest.mark.parametrize(
    ("url", "kind", "expected"),
    [
        ("http://sis.example.org/ims/oneroster/v1p1", UrlKind.ONEROSTER_BASE, URL_HTTPS_REQUIRED),
        ("https://sis.example.org/campus/api", UrlKind.ONEROSTER_BASE, BASE_URL_PATH),
        ("https://sis.example.org/ims/oneroster/v1p2", UrlKind.ONEROSTER_BASE, BASE_URL_PATH),
        (BASE + "?x=1", UrlKind.ONEROSTER_BASE, BASE_URL_QUERY),
        ("not a url", UrlKind.ONEROSTER_BASE, URL_INVALID),
        ("sis.example.org/token", UrlKind.ONEROSTER_TOKEN, TOKEN_URL_INVALID),
        ("campus oauth2 token", UrlKind.ONEROSTER_TOKEN, TOKEN_URL_INVALID),
        ("https://user:pw@sis.example.org/t", UrlKind.ONEROSTER_TOKEN, URL_HAS_CREDENTIALS),
        ("https://d.instructure.example/api/v1", UrlKind.CANVAS_BASE, CANVAS_URL_PATH),
    ],
)
def test_each_bad_address_gets_its_own_message(url, kind, expected):
    assert message(url, kind) == expected


@pytest.mark.usefixtures("strict")
@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "169.254.169.254",
        "[::1]",
        "[fe80::1]",
        "0.0.0.0",
        "[::127.0.0.1]",
        "[::ffff:7f00:1]",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:a00:1::]",
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
        "[fd00::5]",
    ],
)
def test_private_loopback_and_link_local_hosts_are_refused(host):
    url = f"https://{host}/campus/api/oneroster/v1p1/d/ims/oneroster/v1p1"
    hostname = host.strip("[]")
    assert message(url, UrlKind.ONEROSTER_BASE) == HOST_RESTRICTED.format(host=hostname)


def test_private_hosts_and_http_are_allowed_when_the_settings_say_so(settings):
    settings.ALLOW_HTTP_UPSTREAMS = True
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    url = "http://127.0.0.1:8123/campus/oauth2/token?appName=d"
    assert upstream_url_validate(url, kind=UrlKind.ONEROSTER_TOKEN) == url


def test_a_public_address_literal_passes_the_guard(strict):
    url = "https://93.184.215.14/campus/api/oneroster/v1p1/d/ims/oneroster/v1p1"
    assert upstream_url_validate(url, kind=UrlKind.ONEROSTER_BASE) == url


def test_a_host_that_cannot_be_found_is_refused(strict, monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    url = "https://sis.rosterbridge.test/campus/api/oneroster/v1p1/d/ims/oneroster/v1p1"
    assert message(url, UrlKind.ONEROSTER_BASE) == HOST_UNKNOWN.format(host="sis.rosterbridge.test")
