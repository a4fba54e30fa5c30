"""Who may open the console: staff only, second factor verified when required, CSRF on
every POST, permissions on every action."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import get_resolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from console.access import PAGE_NEEDS
from runs.models import SyncRun
from tests.console.conftest import PASSWORD, conflict_make, run_make, staff
from tests.console.test_pages import _report as evaluation_report_make
from tests.roles import role_group
from tests.tenants.test_admin import totp_token, verified_client

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


# --- every console page against every role ------------------------------------------------

ROLES = ("CSM", "Operator", "Viewer", "no permissions")
EVERY_ROLE = frozenset({"CSM", "Operator", "Viewer"})
ONBOARDING = frozenset({"CSM"})
RUNNING = frozenset({"Operator"})
EXPORTING = frozenset({"CSM", "Operator"})

#: Who may use each console page, written out from the roles (CSM: districts, intake links
#: and the connection check; Operator: runs, approvals and conflicts; Viewer: read-only with
#: no student-level export), not derived from the code under test.
MAY = {
    "districts": EVERY_ROLE,
    "district_new": ONBOARDING,
    "district": EVERY_ROLE,
    "district_settings": ONBOARDING,
    "district_credentials": ONBOARDING,
    "district_check": ONBOARDING,
    "district_check_status": EVERY_ROLE,
    "district_intake": ONBOARDING,
    "district_run_start": RUNNING,  # a sync; each kind is tested below
    "runs": EVERY_ROLE,
    "run": EVERY_ROLE,
    "run_progress": EVERY_ROLE,
    "run_approve": RUNNING,
    "run_discard": RUNNING,
    "run_cancel": RUNNING,
    "run_zip": EXPORTING,
    "conflicts": EVERY_ROLE,
    "conflict_resolve": RUNNING,
    "evaluation": EVERY_ROLE,
    "evaluation_csv": EXPORTING,
    "evaluation_change_sis_id": EXPORTING,
    "audit": EVERY_ROLE,
}

#: How each page is requested: method, the URL arguments (from ``objects``) and form data.
REQUESTS = {
    "districts": ("get", (), {}),
    "district_new": ("get", (), {}),
    "district": ("get", ("slug",), {}),
    "district_settings": ("post", ("slug",), {"name": "Renamed"}),
    "district_credentials": ("get", ("slug",), {}),
    "district_check": ("post", ("slug",), {}),
    "district_check_status": ("get", ("slug",), {}),
    "district_intake": ("post", ("slug",), {}),
    "district_run_start": ("post", ("slug",), {"kind": "delta"}),
    "runs": ("get", (), {}),
    "run": ("get", ("held",), {}),
    "run_progress": ("get", ("held",), {}),
    "run_approve": ("post", ("held",), {}),
    "run_discard": ("post", ("held",), {}),
    "run_cancel": ("post", ("running",), {}),
    "run_zip": ("get", ("dry_run",), {}),
    "conflicts": ("get", (), {}),
    "conflict_resolve": ("post", ("conflict",), {"note": "Fixed in Campus"}),
    "evaluation": ("get", ("report",), {}),
    "evaluation_csv": ("get", ("report",), {}),
    "evaluation_change_sis_id": ("get", ("report",), {}),
    "audit": ("get", (), {}),
}


def role_user(role: str):
    user = staff(role.lower().replace(" ", "-"), permissions=())
    if role in EVERY_ROLE:
        user.groups.add(role_group(role))
    return user


def _zip_with_one_file() -> bytes:
    """A dry-run zip with a file in it: an empty one is explained on the page, not served."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("users.csv", "user_id,login_id,status\n")
    return buffer.getvalue()


@pytest.fixture
def objects(make_district):
    """One of each thing a console page is about (one active run per district)."""
    district, busy = make_district(), make_district()
    report = evaluation_report_make(district)
    dry_run = run_make(
        district, kind="dry_run", counts={"users": {"create": 1, "update": 0, "drop": 0}}
    )
    dry_run.dry_run_zip.save("dry-run.zip", ContentFile(_zip_with_one_file()))
    return {
        "slug": district.slug,
        "held": run_make(district, status="held", held_reason="Too many drops.").pk,
        "running": run_make(busy, status="running").pk,
        "dry_run": dry_run.pk,
        "conflict": conflict_make(district).pk,
        "report": report.pk,
    }


def test_every_console_url_is_in_the_role_table():
    named = {
        p.name
        for resolver in get_resolver().url_patterns
        if getattr(resolver, "namespace", None) == "console"
        for p in resolver.url_patterns
    }
    assert set(PAGE_NEEDS) == named == set(MAY) == set(REQUESTS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(PAGE_NEEDS))
def test_each_console_page_against_each_role(client_for, objects, name, role):
    method, arguments, data = REQUESTS[name]
    url = reverse(f"console:{name}", args=[objects[a] for a in arguments])

    response = getattr(client_for(role_user(role)), method)(url, data)

    if role in MAY[name]:
        assert response.status_code in (200, 302), (response.status_code, url)
    else:
        assert response.status_code == 403


def test_staff_signed_in_with_totp_but_without_permissions_read_no_student_data(settings, objects):
    """The review's case: a second factor proves who someone is, not what they may read."""
    settings.OTP_REQUIRED = True
    client = verified_client(staff("nobody", permissions=()))
    for name in ("evaluation_csv", "run_zip", "audit", "conflicts", "evaluation", "runs"):
        _, arguments, _ = REQUESTS[name]
        url = reverse(f"console:{name}", args=[objects[a] for a in arguments])
        assert client.get(url).status_code == 403, url
    assert client.get(reverse("console:conflicts"), {"format": "csv"}).status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_the_conflicts_export_is_for_roles_that_may_export(client_for, objects, role):
    response = client_for(role_user(role)).get(reverse("console:conflicts"), {"format": "csv"})

    assert (response.status_code == 403) == (role not in EXPORTING)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("kind", "may"),
    [
        ("delta", RUNNING),
        ("full", RUNNING),
        ("dry_run", RUNNING),
        ("passback", RUNNING),
        ("evaluation", ONBOARDING),
    ],
)
def test_each_kind_of_run_is_started_only_by_its_role(client_for, make_district, kind, may, role):
    district = make_district()

    response = client_for(role_user(role)).post(
        reverse("console:district_run_start", args=[district.slug]), {"kind": kind}
    )

    assert (response.status_code == 403) == (role not in may)


def test_starting_and_approving_runs_are_separate_permissions(client_for, make_district):
    district = make_district()
    starter = staff("starter", permissions=[("runs", "view_syncrun"), ("runs", "start_syncrun")])
    starter.user_permissions.add(Permission.objects.get(codename="view_district"))
    run = run_make(district, status="held", held_reason="Too many drops.")
    client = client_for(starter)

    started = client.post(
        reverse("console:district_run_start", args=[district.slug]), {"kind": "delta"}
    )
    approved = client.post(reverse("console:run_approve", args=[run.pk]))

    assert started.status_code == 302
    assert approved.status_code == 403
    run.refresh_from_db()
    assert run.status == SyncRun.Status.HELD


# --- district scoping ----------------------------------------------------------------------


def test_staff_assigned_to_a_district_see_only_that_district(client_for, make_district):
    mine, other = make_district(name="Mine"), make_district(name="Other")
    user = role_user("Operator")
    mine.staff.add(user)
    run_mine, run_other = run_make(mine), run_make(other)
    conflict_make(mine, detail="Mine's conflict")
    other_conflict = conflict_make(other, detail="Other's conflict")
    client = client_for(user)

    overview = client.get(reverse("console:districts")).content.decode()
    runs = client.get(reverse("console:runs")).content.decode()
    conflicts = client.get(reverse("console:conflicts")).content.decode()
    audit = client.get(reverse("console:audit")).content.decode()

    assert "Mine" in overview
    assert "Other" not in overview
    assert reverse("console:run", args=[run_mine.pk]) in runs
    assert reverse("console:run", args=[run_other.pk]) not in runs
    assert "Mine&#x27;s conflict" in conflicts
    assert "Other&#x27;s conflict" not in conflicts
    assert f"/console/districts/{mine.slug}/" in audit
    assert f"/console/districts/{other.slug}/" not in audit
    assert client.get(reverse("console:district", args=[mine.slug])).status_code == 200
    for name, arg in (
        ("console:district", other.slug),
        ("console:run", run_other.pk),
        ("console:run_progress", run_other.pk),
    ):
        assert client.get(reverse(name, args=[arg])).status_code == 404
    resolve = client.post(
        reverse("console:conflict_resolve", args=[other_conflict.pk]), {"note": "x"}
    )
    assert resolve.status_code == 404


def test_staff_assigned_to_no_district_see_every_district(client_for, make_district):
    make_district(name="Mine")
    make_district(name="Other")

    overview = client_for(role_user("Viewer")).get(reverse("console:districts"))

    assert "Mine" in overview.content.decode()
    assert "Other" in overview.content.decode()


@pytest.mark.parametrize("name", ["console:runs", "console:conflicts", "console:audit"])
def test_the_district_filters_offer_only_assigned_districts(client_for, make_district, name):
    mine, other = make_district(name="Mine"), make_district(name="Other")
    user = role_user("Viewer")
    mine.staff.add(user)

    body = client_for(user).get(reverse(name)).content.decode()

    assert f'value="{mine.slug}"' in body
    assert f'value="{other.slug}"' not in body
