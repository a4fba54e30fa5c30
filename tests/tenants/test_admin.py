from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.client_ip import client_ip
from tenants.forms import DistrictOptionsForm
from tenants.models import AuditEvent, District, IntakeLink, PartnerCredential
from tenants.services.districts import partner_credentials_set
from tenants.services.intake import intake_link_create
from tests.roles import role_group
from tests.tenants.conftest import (
    ALL_SECRETS,
    CANVAS_TOKEN,
    VENDOR_KEY,
    VENDOR_SECRET,
    assert_no_secret,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def totp_token(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def password_login(client: Client, username: str, password: str = PASSWORD):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )


def verified_client(user) -> Client:
    """A client signed in with password and a confirmed TOTP device (OTP_REQUIRED on)."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    password_login(client, user.username)
    response = client.post(
        reverse("tenants:otp_verify"),
        {"otp_device": device.persistent_id, "otp_token": totp_token(device), "next": "/admin/"},
    )
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def admin_client_plain(superuser):
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def full_district(make_district):
    return make_district(oneroster_vendor_key=VENDOR_KEY, oneroster_vendor_secret=VENDOR_SECRET)


def change_url(district: District) -> str:
    return reverse("admin:tenants_district_change", args=[district.pk])


def options_post_data(district: District, **overrides) -> dict:
    form = DistrictOptionsForm(instance=district)
    data = {}
    for name in form.fields:
        value = form.initial.get(name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        if isinstance(value, dt.time):
            value = value.strftime("%H:%M:%S")
        data[name] = "" if value is None else value
    data.update(overrides)
    data["_save"] = "Save"
    return data


# --- two-factor sign-in ------------------------------------------------------------------


def test_without_otp_required_a_password_opens_the_admin(superuser):
    client = Client()
    assert password_login(client, "root").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_with_otp_required_a_password_alone_gets_no_admin_page(superuser, settings):
    settings.OTP_REQUIRED = True
    TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    client = Client()
    assert password_login(client, "root").status_code == 302
    for url in ("/admin/", "/admin/tenants/district/", "/admin/tenants/auditevent/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    # The login page sends a password-verified staff user on to the second step.
    response = client.get(reverse("admin:login") + "?next=/admin/tenants/district/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("tenants:otp_verify"))


def test_a_wrong_code_is_refused_and_audited_a_right_one_opens_the_admin(superuser, settings):
    settings.OTP_REQUIRED = True
    device = TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    client = Client()
    password_login(client, "root")
    page = client.get(reverse("tenants:otp_verify") + "?next=/admin/tenants/district/")
    assert page.status_code == 200
    wrong = f"{(int(totp_token(device)) + 1) % 1_000_000:06d}"
    response = client.post(
        reverse("tenants:otp_verify"), {"otp_device": device.persistent_id, "otp_token": wrong}
    )
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302
    failed = AuditEvent.objects.get(action=AuditEvent.Action.STAFF_OTP_FAILED)
    assert failed.actor == superuser

    device.throttle_reset()
    response = client.post(
        reverse("tenants:otp_verify"),
        {
            "otp_device": device.persistent_id,
            "otp_token": totp_token(device),
            "next": "/admin/tenants/district/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/tenants/district/"
    assert client.get("/admin/tenants/district/").status_code == 200


def test_first_sign_in_enrols_an_authenticator_app(superuser, settings):
    settings.OTP_REQUIRED = True
    client = Client()
    password_login(client, "root")
    response = client.get(reverse("tenants:otp_verify"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("tenants:otp_enroll"))
    page = client.get(reverse("tenants:otp_enroll"))
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=superuser, confirmed=False)
    response = client.post(
        reverse("tenants:otp_enroll"), {"otp_token": totp_token(device), "next": "/admin/"}
    )
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action=AuditEvent.Action.STAFF_OTP_ENROLLED).count() == 1
    assert client.get("/admin/").status_code == 200
    # Enrolment is closed once a device exists: a second device needs a verified session.
    other = Client()
    password_login(other, "root")
    assert other.get(reverse("tenants:otp_enroll"))["Location"].startswith(
        reverse("tenants:otp_verify")
    )


def test_the_otp_pages_are_for_signed_in_staff_only(make_district):
    response = Client().get(reverse("tenants:otp_verify"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_verified_session_gets_a_new_key(superuser, settings):
    settings.OTP_REQUIRED = True
    device = TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    client = Client()
    anonymous_key = client.get(reverse("admin:login")).wsgi_request.session.session_key
    password_login(client, "root")
    password_key = client.session.session_key
    assert password_key != anonymous_key
    client.post(
        reverse("tenants:otp_verify"),
        {"otp_device": device.persistent_id, "otp_token": totp_token(device)},
    )
    assert client.session.session_key != password_key


def test_a_session_ends_after_the_absolute_lifetime(admin_client_plain, settings):
    assert admin_client_plain.get("/admin/").status_code == 200
    session = admin_client_plain.session
    session["rosterbridge_login_at"] = int(time.time()) - settings.SESSION_ABSOLUTE_AGE - 1
    session.save()
    assert admin_client_plain.get("/admin/").status_code == 302


# --- login throttling --------------------------------------------------------------------


def test_axes_locks_a_username_at_one_address_after_repeated_failures(superuser, settings):
    settings.AXES_ENABLED = True
    client = Client(REMOTE_ADDR="198.51.100.20")
    statuses = [
        password_login(client, "root", "wrong password").status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    # The form again with an error, until the failure that reaches the limit locks.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    locked = password_login(client, "root", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # The account's owner, elsewhere, is not locked out by someone else's failures.
    elsewhere = password_login(Client(REMOTE_ADDR="198.51.100.99"), "root", PASSWORD)
    assert elsewhere.status_code == 302


def test_failures_from_rotating_forwarded_addresses_do_not_lock_the_owner_out(superuser, settings):
    settings.AXES_ENABLED = True
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(settings.AXES_FAILURE_LIMIT + 2):
        attacker = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        assert password_login(attacker, "root", "wrong password").status_code == 200
    owner = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert password_login(owner, "root", PASSWORD).status_code == 302


def test_the_client_address_comes_from_the_trusted_proxy_hop(superuser, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = Client().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5").wsgi_request
    assert client_ip(request) == "203.0.113.5"
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "127.0.0.1"


# --- district pages ----------------------------------------------------------------------


def test_no_secret_appears_in_any_district_admin_page(admin_client_plain, full_district):
    partner_credentials_set(
        actor=None, actor_label="test", vendor_key=VENDOR_KEY, vendor_secret=VENDOR_SECRET
    )
    event = AuditEvent.objects.filter(district=full_district).first()
    pages = [
        reverse("admin:tenants_district_changelist"),
        change_url(full_district),
        reverse("admin:tenants_district_credentials", args=[full_district.pk]),
        reverse("admin:tenants_district_history", args=[full_district.pk]),
        reverse("admin:tenants_auditevent_changelist"),
        reverse("admin:tenants_auditevent_change", args=[event.pk]),
        reverse("admin:tenants_partnercredential_changelist"),
    ]
    for url in pages:
        response = admin_client_plain.get(url)
        assert response.status_code == 200, url
        assert_no_secret(response.content.decode())
    change_page = admin_client_plain.get(pages[1]).content.decode()
    for button in ("Replace credentials", "Create intake link", "Run connection check"):
        assert button in change_page
    credentials_page = admin_client_plain.get(pages[2]).content.decode()
    assert "••••" + CANVAS_TOKEN[-4:] in credentials_page


def test_editing_options_goes_through_the_service_and_is_audited(
    admin_client_plain, superuser, full_district
):
    data = options_post_data(full_district, term_mode="as_is", guard_users_drop_pct="12")
    response = admin_client_plain.post(change_url(full_district), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    full_district.refresh_from_db()
    assert full_district.term_mode == "as_is"
    event = AuditEvent.objects.get(action=AuditEvent.Action.SETTINGS_CHANGED)
    assert event.actor == superuser
    assert event.actor_label == "root"
    assert event.changes == {
        "term_mode": ["consolidated", "as_is"],
        "guard_users_drop_pct": [10, 12],
    }
    assert full_district.canvas_token == CANVAS_TOKEN  # secrets untouched


def test_an_invalid_option_shows_the_specific_message(admin_client_plain, full_district, settings):
    settings.ALLOW_HTTP_UPSTREAMS = False
    data = options_post_data(full_district, canvas_base_url="http://canvas.example.org")
    response = admin_client_plain.post(change_url(full_district), data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["canvas_base_url"] == [
        "Use an https:// address: credentials are never sent over plain http."
    ]
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SETTINGS_CHANGED).exists()


def test_creating_a_district_in_the_admin_is_audited(admin_client_plain, superuser):
    response = admin_client_plain.post(
        reverse("admin:tenants_district_add"),
        {
            "name": "Hillcrest",
            "slug": "hillcrest",
            "canvas_base_url": "https://hillcrest.instructure.example",
            "canvas_account_id": "1",
            "term_mode": "consolidated",
            "timezone": "America/Denver",
            "notification_emails": "",
        },
    )
    assert response.status_code == 302
    district = District.objects.get(slug="hillcrest")
    event = AuditEvent.objects.get(district=district)
    assert (event.action, event.actor) == (AuditEvent.Action.DISTRICT_CREATED, superuser)


def test_replacing_credentials_is_write_only_and_audited(
    admin_client_plain, superuser, full_district, caplog
):
    caplog.set_level("DEBUG")
    url = reverse("admin:tenants_district_credentials", args=[full_district.pk])
    new_token = "replacement-canvas-token-Z9Y8"
    response = admin_client_plain.post(url, {"canvas_token": new_token})
    assert response.status_code == 302
    full_district.refresh_from_db()
    assert full_district.canvas_token == new_token
    assert full_district.oneroster_vendor_key == VENDOR_KEY  # blank fields keep what is stored
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREDENTIALS_CHANGED)
    assert event.actor == superuser
    assert event.changes == {"canvas_token": "(changed)"}
    page = admin_client_plain.get(url).content.decode()
    assert new_token[:-4] not in page
    assert "••••Z9Y8" in page
    assert_no_secret(caplog.text, (new_token, *ALL_SECRETS))


def test_a_rejected_credentials_form_does_not_echo_the_secret(admin_client_plain, full_district):
    url = reverse("admin:tenants_district_credentials", args=[full_district.pk])
    typed = "half-entered-vendor-key-W1"
    response = admin_client_plain.post(url, {"oneroster_vendor_key": typed})
    assert response.status_code == 200
    assert typed not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIALS_CHANGED).exists()


def test_replacing_credentials_needs_a_fresh_code_when_otp_is_required(
    superuser, full_district, settings
):
    settings.OTP_REQUIRED = True
    client = verified_client(superuser)
    url = reverse("admin:tenants_district_credentials", args=[full_district.pk])
    response = client.post(url, {"canvas_token": "replacement-canvas-token-Z9Y8"})
    assert response.status_code == 200
    assert "otp_token" in response.context["form"].errors
    device = TOTPDevice.objects.get(user=superuser)
    response = client.post(
        url,
        {
            "canvas_token": "replacement-canvas-token-Z9Y8",
            "otp_token": totp_token(device, steps_ahead=1),
        },
    )
    assert response.status_code == 302
    full_district.refresh_from_db()
    assert full_district.canvas_token == "replacement-canvas-token-Z9Y8"


def test_an_intake_link_is_shown_once_and_only_its_hash_is_kept(admin_client_plain, full_district):
    response = admin_client_plain.post(
        reverse("admin:tenants_district_intake_link", args=[full_district.pk])
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    match = re.search(r"/intake/([A-Za-z0-9_-]{43,})/", response.content.decode())
    assert match
    token = match.group(1)
    link = IntakeLink.objects.get(district=full_district)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in admin_client_plain.get(change_url(full_district)).content.decode()
    listing = admin_client_plain.get(reverse("admin:tenants_intakelink_changelist"))
    assert token not in listing.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INTAKE_CREATED).count() == 1


def test_intake_links_can_be_revoked_from_the_list(admin_client_plain, full_district):
    link, _token = intake_link_create(district=full_district, actor=None, actor_label="test")
    response = admin_client_plain.post(
        reverse("admin:tenants_intakelink_changelist"),
        {"action": "revoke", "_selected_action": [link.pk]},
    )
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.state == "revoked"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INTAKE_REVOKED).count() == 1


@pytest.fixture
def broker():
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    # The broker keeps its keys in the deployment namespace (global_keyprefix).
    queue = (
        django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
        + django_settings.CELERY_TASK_DEFAULT_QUEUE
    )
    client.delete(queue)
    yield client, queue
    client.delete(queue)


def test_the_check_button_queues_a_check_with_ids_only(
    admin_client_plain, superuser, full_district, broker, django_capture_on_commit_callbacks
):
    redis_client, queue = broker
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_plain.post(
            reverse("admin:tenants_district_check", args=[full_district.pk])
        )
    assert response.status_code == 302
    (message,) = redis_client.lrange(queue, 0, -1)
    envelope = json.loads(message)
    args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
    assert args == [full_district.pk, superuser.pk]
    assert_no_secret(message.decode())


def test_the_check_action_queues_one_check_per_district(
    admin_client_plain, make_district, broker, django_capture_on_commit_callbacks
):
    redis_client, queue = broker
    districts = [make_district(), make_district()]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_plain.post(
            reverse("admin:tenants_district_changelist"),
            {"action": "run_connection_check", "_selected_action": [d.pk for d in districts]},
        )
    assert redis_client.llen(queue) == 2


def test_the_audit_log_is_read_only_for_everyone(admin_client_plain, full_district):
    event = AuditEvent.objects.filter(district=full_district).first()
    change = reverse("admin:tenants_auditevent_change", args=[event.pk])
    assert admin_client_plain.get(reverse("admin:tenants_auditevent_add")).status_code == 403
    assert admin_client_plain.post(change, {"actor_label": "forged"}).status_code == 403
    delete = reverse("admin:tenants_auditevent_delete", args=[event.pk])
    assert admin_client_plain.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.actor_label == "test"


def test_districts_cannot_be_deleted_from_the_admin(admin_client_plain, full_district):
    delete = reverse("admin:tenants_district_delete", args=[full_district.pk])
    assert admin_client_plain.post(delete, {"post": "yes"}).status_code == 403
    assert District.objects.filter(pk=full_district.pk).exists()


def test_the_partner_key_form_is_write_only_and_audited(admin_client_plain, superuser):
    url = reverse("admin:tenants_partnercredential_changelist")
    response = admin_client_plain.post(
        url, {"vendor_key": VENDOR_KEY, "vendor_secret": VENDOR_SECRET}
    )
    assert response.status_code == 302
    assert PartnerCredential.objects.get().vendor_secret == VENDOR_SECRET
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREDENTIALS_CHANGED)
    assert event.actor == superuser
    page = admin_client_plain.get(url).content.decode()
    assert_no_secret(page)
    assert "••••" + VENDOR_KEY[-4:] in page


def test_the_list_warns_about_an_expiring_key(admin_client_plain, make_district):
    from django.utils import timezone

    make_district(
        name="Expiring",
        credentials_received_on=timezone.localdate() - dt.timedelta(days=350),
        credentials_expire_on=timezone.localdate() + dt.timedelta(days=15),
    )
    page = admin_client_plain.get(reverse("admin:tenants_district_changelist")).content.decode()
    assert "OneRoster key expires in 15 days" in page


def test_deleting_a_staff_account_keeps_its_audit_rows(superuser, full_district):
    from tenants.services.districts import district_update

    district_update(
        district=full_district, actor=superuser, actor_label="root", changes={"status": "paused"}
    )
    superuser.delete()
    event = AuditEvent.objects.get(action=AuditEvent.Action.SETTINGS_CHANGED)
    assert event.actor is None
    assert event.actor_label == "root"


# --- permissions and district scoping in the admin ---------------------------------------


def test_staff_without_permissions_are_refused_the_admin_pages(staff_user, full_district):
    client = Client()
    client.force_login(staff_user)
    for url in (
        reverse("admin:tenants_district_changelist"),
        change_url(full_district),
        reverse("admin:tenants_auditevent_changelist"),
    ):
        assert client.get(url).status_code == 403


def test_staff_assigned_to_a_district_see_only_it_in_the_admin(staff_user, make_district):
    mine, other = make_district(name="Mine"), make_district(name="Other")
    staff_user.groups.add(role_group("Viewer"))
    mine.staff.add(staff_user)
    client = Client()
    client.force_login(staff_user)

    listing = client.get(reverse("admin:tenants_district_changelist")).content.decode()
    audit = client.get(reverse("admin:tenants_auditevent_changelist")).context["cl"]

    assert change_url(mine) in listing
    assert change_url(other) not in listing
    assert {event.district_id for event in audit.result_list} == {mine.pk}
    assert client.get(change_url(mine)).status_code == 200
    assert client.get(change_url(other)).status_code == 302  # "does not exist", to the index


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:tenants_auditevent_changelist",
        "admin:runs_syncrun_changelist",
        "admin:provisioning_conflict_changelist",
    ],
)
def test_the_admin_district_filter_offers_only_assigned_districts(
    staff_user, make_district, changelist
):
    # Two assigned districts: Django hides a filter that has a single choice.
    mine, also_mine = make_district(name="Mine"), make_district(name="Also mine")
    other = make_district(name="Other")
    staff_user.groups.add(role_group("Viewer"))
    mine.staff.add(staff_user)
    also_mine.staff.add(staff_user)
    client = Client()
    client.force_login(staff_user)

    body = client.get(reverse(changelist)).content.decode()

    assert f"district__id__exact={mine.pk}" in body
    assert f"district__id__exact={also_mine.pk}" in body
    assert f"district__id__exact={other.pk}" not in body
