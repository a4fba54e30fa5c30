"""Who may open the console: staff only, second factor verified when required, CSRF on
every POST, permissions on every action."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.console.conftest import PASSWORD
from tests.tenants.test_admin import totp_token

pytestmark = pytest.mark.django_db

PAGES = (
    ("console:districts", {}),
    ("console:runs", {}),
    ("console:conflicts", {}),
    ("console:audit", {}),
    ("console:district_new", {}),
)


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(name, kwargs):
    url = reverse(name, kwargs=kwargs)
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "next=" in response["Location"]


def test_the_home_page_is_the_console():
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"] == reverse("console:districts")


def test_a_user_who_is_not_staff_is_refused(django_user_model):
    user = django_user_model.objects.create_user(username="teacher", password=PASSWORD)
    client = Client()
    client.force_login(user)

    assert client.get(reverse("console:districts")).status_code == 403


def test_with_otp_required_a_password_only_session_goes_to_the_second_factor(settings, viewer):
    settings.OTP_REQUIRED = True
    client = Client()
    client.post(reverse("admin:login"), {"username": "viewer", "password": PASSWORD})

    response = client.get(reverse("console:conflicts"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("tenants:otp_verify"))
    assert "next=%2Fconsole%2Fconflicts%2F" in response["Location"]


def test_a_verified_session_opens_the_console_and_returns_where_it_was_going(settings, viewer):
    settings.OTP_REQUIRED = True
    device = TOTPDevice.objects.create(user=viewer, name="phone", confirmed=True)
    client = Client()
    client.post(reverse("admin:login"), {"username": "viewer", "password": PASSWORD})
    target = reverse("console:runs")

    response = client.post(
        reverse("tenants:otp_verify"),
        {"otp_device": device.persistent_id, "otp_token": totp_token(device), "next": target},
    )

    assert response["Location"] == target
    assert client.get(target).status_code == 200


def test_console_pages_are_never_cached(console):
    response = console.get(reverse("console:districts"))

    assert "no-store" in response["Cache-Control"]


def test_a_post_without_the_csrf_token_is_refused(operator, make_district):
    district = make_district()
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)

    response = client.post(
        reverse("console:district_run_start", args=[district.slug]), {"kind": "delta"}
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("console:district_run_start", {"kind": "delta"}),
        ("console:district_run_start", {"kind": "evaluation"}),
        ("console:district_settings", {"name": "Renamed"}),
        ("console:district_intake", {}),
        ("console:district_check", {}),
    ],
)
def test_staff_without_the_permission_cannot_act(client_for, viewer, make_district, name, data):
    district = make_district()

    response = client_for(viewer).post(reverse(name, args=[district.slug]), data)

    assert response.status_code == 403


def test_staff_without_permissions_see_disabled_buttons(client_for, viewer, make_district):
    district = make_district()

    page = client_for(viewer).get(reverse("console:district", args=[district.slug]))

    body = page.content.decode()
    assert "You may not start this kind of run." in body
    assert "Create intake link" not in body
