"""LTI 1.3 launches through the Django test client, with id_tokens from the sandbox
platform (or forged): who gets the Grade sync page, and which launches are refused."""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.urls import reverse

from gradepassback.models import PassbackRun
from lti.models import LtiPlatform
from lti.services.launch import COURSE_NOT_PROVISIONED, NOT_TEACHER
from lti.views import CSRF_FAILED, LAUNCH_FAILED
from sandbox.lti.platform import id_token_claims
from tenants.models import AuditEvent
from tests.lti.conftest import member

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def _login(client, district) -> dict[str, str]:
    """OIDC login initiation; the parameters the tool sends to the platform."""
    platform = LtiPlatform.objects.get(district=district)
    response = client.post(
        reverse("lti:login", args=[district.slug]),
        {
            "iss": platform.issuer,
            "login_hint": "42",
            "target_link_uri": "http://testserver" + reverse("lti:launch", args=[district.slug]),
            "client_id": platform.client_id,
            "lti_deployment_id": platform.deployment_id,
        },
    )
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == platform.auth_login_url
    assert not response.cookies, "the login must not rely on cookies"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def _id_token(sandbox, district, course, *, nonce, user=None, role="instructor", **changes):
    platform_state = sandbox.canvas.lti_platform
    registration = LtiPlatform.objects.get(district=district)
    key = platform_state.developer_key(registration.client_id)
    state = sandbox.canvas
    sis_user = user or member(sandbox, course, "TeacherEnrollment")
    claims = id_token_claims(
        issuer=registration.issuer,
        key=key,
        user=state.users_by_sis[sis_user],
        course=state.courses_by_sis[course],
        role=role,
        placement="post_grades",
        nonce=nonce,
        redirect_uri="http://testserver" + reverse("lti:launch", args=[district.slug]),
        now=dt.datetime.now(tz=dt.UTC),
    )
    claims.update(changes)
    # A change to None removes the claim.
    return platform_state.id_token_sign({k: v for k, v in claims.items() if v is not None})


def _launch(client, district, id_token, state):
    return client.post(
        reverse("lti:launch", args=[district.slug]), {"id_token": id_token, "state": state}
    )


def test_a_teacher_launch_opens_the_grade_sync_page_without_cookies(client, sandbox, lti_district):
    district, course = lti_district
    params = _login(client, district)
    token = _id_token(sandbox, district, course, nonce=params["nonce"])
    response = _launch(client, district, token, params["state"])
    assert response.status_code == 302
    assert not response.cookies
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert not page.cookies
    assert "X-Frame-Options" not in page
    policy = dict(part.strip().split(" ", 1) for part in page["Content-Security-Policy"].split(";"))
    # The project's strict policy, except that the district's Canvas may frame the page.
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == f"'self' {district.canvas_base_url.rstrip('/')}"
    body = text(page)
    assert "Grade sync" in body
    assert "No due date." in body
    assert "Title too long." in body
    assert "Class Participation" in body


def test_a_student_launch_is_refused(client, sandbox, lti_district):
    district, course = lti_district
    params = _login(client, district)
    student = member(sandbox, course, "StudentEnrollment")
    token = _id_token(
        sandbox, district, course, nonce=params["nonce"], user=student, role="student"
    )
    response = _launch(client, district, token, params["state"])
    assert response.status_code == 403
    assert NOT_TEACHER in text(response)


def test_a_forged_id_token_is_refused(client, sandbox, lti_district):
    district, course = lti_district
    params = _login(client, district)
    genuine = _id_token(sandbox, district, course, nonce=params["nonce"])
    header = jwt.get_unverified_header(genuine)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = jwt.encode(claims, pem, algorithm="RS256", headers={"kid": header["kid"]})
    response = _launch(client, district, forged, params["state"])
    assert response.status_code == 403
    assert LAUNCH_FAILED in text(response)
    # The genuine token still works: the forgery did not use up the login.
    assert _launch(client, district, genuine, params["state"]).status_code == 302


def test_an_expired_id_token_is_refused(client, sandbox, lti_district):
    district, course = lti_district
    params = _login(client, district)
    past = int((dt.datetime.now(tz=dt.UTC) - dt.timedelta(hours=2)).timestamp())
    token = _id_token(sandbox, district, course, nonce=params["nonce"], iat=past, exp=past + 300)
    response = _launch(client, district, token, params["state"])
    assert response.status_code == 403
    assert "expired" in text(response)


def test_an_id_token_for_another_audience_is_refused(client, sandbox, lti_district):
    district, course = lti_district
    params = _login(client, district)
    ours = LtiPlatform.objects.get().client_id
    for aud, azp in (
        ("999999", "999999"),
        (["999999"], "999999"),
        (["999999", ours], ours),
        ([ours, "999999"], "999999"),
        ([ours, "999999"], None),
    ):
        changes = {"aud": aud, "azp": azp}
        token = _id_token(sandbox, district, course, nonce=params["nonce"], **changes)
        response = _launch(client, district, token, params["state"])
        assert response.status_code == 403, (aud, azp)
        assert LAUNCH_FAILED in text(response)


def test_a_replayed_nonce_is_refused(client, sandbox, lti_district):
    district, course = lti_district
    params = _login(client, district)
    token = _id_token(sandbox, district, course, nonce=params["nonce"])
    assert _launch(client, district, token, params["state"]).status_code == 302
    # The same form post again, and the same id_token under a fresh login's state.
    assert _launch(client, district, token, params["state"]).status_code == 403
    fresh = _login(client, district)
    replay = _launch(client, district, token, fresh["state"])
    assert replay.status_code == 403
    assert "Invalid Nonce" in text(replay)


def test_a_course_this_service_did_not_provision_gets_a_page_that_says_so(
    client, sandbox, lti_district
):
    district, course = lti_district
    params = _login(client, district)
    custom = "https://purl.imsglobal.org/spec/lti/claim/custom"
    lis = "https://purl.imsglobal.org/spec/lti/claim/lis"
    token = _id_token(
        sandbox,
        district,
        course,
        nonce=params["nonce"],
        **{
            custom: {"sis_course_id": "SANDBOX-ONLY-101"},
            lis: {"person_sourcedid": member(sandbox, course, "TeacherEnrollment")},
        },
    )
    response = _launch(client, district, token, params["state"])
    assert response.status_code == 403
    expected = COURSE_NOT_PROVISIONED.format(course="SANDBOX-ONLY-101", district=district.name)
    assert expected in text(response)


def test_sync_now_needs_the_pages_csrf_value_and_is_audited_as_the_teacher(
    client, sandbox, lti_district
):
    district, course = lti_district
    params = _login(client, district)
    token = _id_token(sandbox, district, course, nonce=params["nonce"])
    page_url = _launch(client, district, token, params["state"])["Location"]
    launch_token = parse_qs(urlsplit(page_url).query)["t"][0]
    before = PassbackRun.objects.count()
    refused = client.post(reverse("lti:sync-now"), {"t": launch_token, "csrf": "guess"})
    assert refused.status_code == 403
    assert CSRF_FAILED in text(refused)
    assert PassbackRun.objects.count() == before
    page = client.get(page_url).content.decode()
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    started = client.post(reverse("lti:sync-now"), {"t": launch_token, "csrf": csrf})
    assert started.status_code == 302
    run = PassbackRun.objects.order_by("-run__created_at").first()
    assert run.course_sis_ids == [course]
    audit = AuditEvent.objects.filter(action=AuditEvent.Action.PASSBACK_REQUESTED).first()
    teacher = member(sandbox, course, "TeacherEnrollment")
    assert f"SIS {teacher}" in audit.actor_label
    assert audit.actor_label.startswith("LTI teacher")


def test_an_expired_launch_token_is_refused(client, lti_district):
    response = client.get(reverse("lti:sync") + "?t=not-a-token")
    assert response.status_code == 403


def test_sync_now_waits_for_a_running_sync_and_is_rate_limited_per_course(
    client, sandbox, lti_district
):
    from lti.services.sync import ALREADY_RUNNING, RATE_LIMITED, SYNC_LIMIT, SYNC_WINDOW_SECONDS
    from runs.models import SyncRun

    district, course = lti_district
    params = _login(client, district)
    token = _id_token(sandbox, district, course, nonce=params["nonce"])
    page_url = _launch(client, district, token, params["state"])["Location"]
    launch_token = parse_qs(urlsplit(page_url).query)["t"][0]
    csrf = text(client.get(page_url)).split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"t": launch_token, "csrf": csrf}

    def finish_runs() -> None:
        SyncRun.objects.filter(status=SyncRun.Status.QUEUED).update(status=SyncRun.Status.SUCCEEDED)

    assert client.post(reverse("lti:sync-now"), form).status_code == 302
    busy = client.post(reverse("lti:sync-now"), form)
    assert busy.status_code == 429
    active = SyncRun.objects.get(status=SyncRun.Status.QUEUED)
    assert ALREADY_RUNNING.format(run=active.pk) in text(busy)
    finish_runs()
    assert client.post(reverse("lti:sync-now"), form).status_code == 302
    finish_runs()
    limited = client.post(reverse("lti:sync-now"), form)
    assert limited.status_code == 429
    assert RATE_LIMITED.format(limit=SYNC_LIMIT, minutes=SYNC_WINDOW_SECONDS // 60) in text(limited)
    assert not SyncRun.objects.filter(status=SyncRun.Status.QUEUED).exists()


def test_the_page_shows_course_grades_when_the_district_sends_them(client, sandbox, settings):
    from tests.lti.conftest import lti_launch, ready_district

    settings.CONSOLE_BASE_URL = "http://testserver"
    district, course = ready_district(sandbox, course_grade_mode="own_lineitem")
    lti_launch(district.slug, course, member(sandbox, course, "TeacherEnrollment"), "instructor")
    params = _login(client, district)
    token = _id_token(sandbox, district, course, nonce=params["nonce"])
    page = client.get(_launch(client, district, token, params["state"])["Location"])
    body = text(page)
    assert 'id="course-grades"' in body
    assert "Course grade" in body
    assert "held by the SIS" in body


def test_a_ta_launch_opens_the_page(client, sandbox, lti_district):
    district, course = lti_district
    params = _login(client, district)
    token = _id_token(sandbox, district, course, nonce=params["nonce"], role="ta")
    response = _launch(client, district, token, params["state"])
    assert response.status_code == 302
    assert "(TA)" in text(client.get(response["Location"]))


def test_a_launch_without_a_known_sis_user_is_refused_with_the_reason(
    client, sandbox, lti_district
):
    from lti.services.launch import NO_SIS_USER, UNKNOWN_SIS_USER

    district, course = lti_district
    lis = "https://purl.imsglobal.org/spec/lti/claim/lis"
    custom = "https://purl.imsglobal.org/spec/lti/claim/custom"
    # Canvas sends a variable's own name when it cannot fill it in: that is no SIS id.
    unfilled = {
        lis: {"course_offering_sourcedid": course},
        custom: {"sis_user_id": "$Canvas.user.sisIntegrationId", "sis_course_id": course},
    }
    unknown = {lis: {"person_sourcedid": "nobody-42"}, custom: {"sis_course_id": course}}
    for claims, expected in (
        (unfilled, NO_SIS_USER),
        (unknown, UNKNOWN_SIS_USER.format(sis_user_id="nobody-42", district=district.name)),
    ):
        params = _login(client, district)
        token = _id_token(sandbox, district, course, nonce=params["nonce"], **claims)
        response = _launch(client, district, token, params["state"])
        assert response.status_code == 403
        assert expected in text(response)
