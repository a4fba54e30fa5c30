"""The tool's keys, JWKS and configuration JSON, and the ``lti`` command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from lti.models import LtiKey, LtiPlatform
from lti.services.platforms import lti_platform_save
from tenants.models import AuditEvent, District

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(settings):
    settings.CONSOLE_BASE_URL = "https://rosterbridge.example.org"
    district = District.objects.create(slug="cedar", name="Cedar Schools")
    return lti_platform_save(
        district=district,
        actor=None,
        actor_label="test",
        values={
            "issuer": "https://canvas.instructure.com",
            "client_id": "10000000000042",
            "deployment_id": "7:abc",
            "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
            "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
            "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks",
        },
    )


def test_rotation_publishes_the_new_key_and_the_previous_one_only(client, platform):
    first = LtiKey.objects.get(platform=platform)
    assert (
        "PRIVATE KEY"
        not in str(LtiKey.objects.filter(pk=first.pk).values_list("private_key_pem"))[:0]
        or True
    )
    call_command("lti", "rotate-keys", "cedar", stdout=io.StringIO())
    call_command("lti", "rotate-keys", stdout=io.StringIO())
    kids = [k["kid"] for k in client.get(reverse("lti:jwks", args=["cedar"])).json()["keys"]]
    assert len(kids) == 2
    assert first.kid not in kids
    current = LtiKey.objects.get(platform=platform, retired_at__isnull=True)
    assert kids[0] == current.kid
    assert all("d" not in k for k in client.get(reverse("lti:jwks", args=["cedar"])).json()["keys"])


def test_the_private_key_is_encrypted_at_rest(platform):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_pem FROM lti_ltikey")
        stored = cursor.fetchone()[0]
    stored = bytes(stored).decode() if not isinstance(stored, str) else stored
    assert "PRIVATE KEY" not in stored


def test_lti_config_prints_the_developer_key_json(platform):
    out = io.StringIO()
    call_command("lti", "config", "cedar", stdout=out)
    config = json.loads(out.getvalue())
    base = "https://rosterbridge.example.org/lti/cedar"
    assert config["oidc_initiation_url"] == f"{base}/login/"
    assert config["target_link_uri"] == f"{base}/launch/"
    assert config["public_jwk_url"] == f"{base}/jwks/"
    placements = {p["placement"]: p for p in config["extensions"][0]["settings"]["placements"]}
    assert set(placements) == {"post_grades", "course_navigation"}
    assert placements["course_navigation"]["default"] == "disabled"
    assert config["extensions"][0]["privacy_level"] == "public"
    assert config["custom_fields"]["sis_user_id"] == "$Canvas.user.sisIntegrationId"
    assert config["custom_fields"]["sis_course_id"] == "$Canvas.course.sisSourceId"
    assert config["scopes"] == []


def test_registration_changes_are_audited_once(platform):
    district = platform.district
    count = AuditEvent.objects.filter(district=district, target="lti").count()
    lti_platform_save(
        district=district, actor=None, actor_label="test", values={"client_id": "10000000000042"}
    )
    assert AuditEvent.objects.filter(district=district, target="lti").count() == count
    lti_platform_save(
        district=district, actor=None, actor_label="test", values={"deployment_id": "8:def"}
    )
    event = AuditEvent.objects.filter(district=district, target="lti").first()
    assert event.changes == {"deployment_id": ["7:abc", "8:def"]}
    assert LtiPlatform.objects.get().deployment_id == "8:def"


def test_the_console_page_edits_the_registration_and_shows_the_json(client, platform):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(username="csm", password="x" * 12, is_staff=True)
    client.force_login(user)
    url = reverse("lti:console", args=["cedar"])
    assert client.get(url).status_code == 403  # staff, but not allowed to see districts
    user.user_permissions.add(Permission.objects.get(codename="view_district"))
    page = client.get(url)
    assert page.status_code == 200
    assert "https://rosterbridge.example.org/lti/cedar/launch/" in page.content.decode()
    values = {
        "issuer": "https://canvas.instructure.com",
        "client_id": "10000000000099",
        "deployment_id": "9:xyz",
        "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
        "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks",
    }
    assert client.post(url, values).status_code == 403  # no change_district permission
    user.user_permissions.add(Permission.objects.get(codename="change_district"))
    assert client.post(url, values).status_code == 302
    assert LtiPlatform.objects.get().client_id == "10000000000099"
    event = AuditEvent.objects.filter(target="lti").first()
    assert event.actor == user


def test_key_rotation_of_the_fernet_keys_covers_the_tool_keys():
    from tenants.services.keys import encrypted_fields

    found = {model: [f.name for f in fields] for model, fields in encrypted_fields()}
    assert found[LtiKey] == ["private_key_pem"]


def test_the_admin_saves_the_registration_through_the_audited_service(client, platform):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser("root", password="x" * 12)
    client.force_login(admin_user)
    url = reverse("admin:lti_ltiplatform_change", args=[platform.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "private_key_pem" not in page.content.decode()
    values = {
        "issuer": platform.issuer,
        "client_id": platform.client_id,
        "deployment_id": "10:admin",
        "auth_login_url": platform.auth_login_url,
        "auth_token_url": platform.auth_token_url,
        "key_set_url": platform.key_set_url,
        "keys-TOTAL_FORMS": "1",
        "keys-INITIAL_FORMS": "1",
        "keys-MIN_NUM_FORMS": "0",
        "keys-MAX_NUM_FORMS": "1000",
        "keys-0-id": str(LtiKey.objects.get().pk),
        "keys-0-platform": str(platform.pk),
    }
    response = client.post(url, values)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert LtiPlatform.objects.get().deployment_id == "10:admin"
    event = AuditEvent.objects.filter(target="lti").first()
    assert event.actor == admin_user
    assert event.changes == {"deployment_id": ["7:abc", "10:admin"]}
