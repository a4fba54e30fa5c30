"""Console pages: run and course outcomes, conflicts, overrides, start and token forms."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from gradepassback.models import CategoryOverride, PassbackCourse, PassbackRun
from gradepassback.services.tokens import passback_trigger_token_check
from runs.models import SyncRun
from tenants.models import AuditEvent
from tests.gradepassback.helpers import class_with_quarters, passback

pytestmark = pytest.mark.django_db


def test_run_and_course_pages_show_outcomes_failed_items_and_conflicts(
    admin_client, sandbox, district
):
    from sandbox.oneroster.faults import FaultRule

    sandbox.oneroster.faults.set(
        [FaultRule(kind="status", status=400, method="PUT", match="results", count=1)]
    )
    run = passback(district)
    assert run.status == SyncRun.Status.SUCCEEDED
    listing = admin_client.get(reverse("admin:gradepassback_passbackrun_changelist"))
    assert listing.status_code == 200
    assert "Start a passback" in listing.content.decode()
    page = admin_client.get(reverse("admin:gradepassback_passbackrun_change", args=[run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Courses done" in html
    assert "has no due date" in html  # a conflict seen by the run
    course = PassbackCourse.objects.get(passback_run__run=run, failed=1)
    page = admin_client.get(reverse("admin:gradepassback_passbackcourse_change", args=[course.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "The SIS refused it (400)" in html
    conflicts = admin_client.get(
        reverse("admin:gradepassback_passbackconflict_changelist") + "?state=open"
    )
    assert conflicts.status_code == 200
    assert "title_too_long" in conflicts.content.decode()


def test_start_form_queues_a_manual_passback_of_some_courses(admin_client, sandbox, district):
    course = class_with_quarters(sandbox, {0, 1})
    url = reverse("admin:gradepassback_passbackrun_start")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url, {"district": district.pk, "courses": f"{course}, ", "full": "on"}
    )
    run = SyncRun.objects.get(kind="passback")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:gradepassback_passbackrun_change", args=[run.pk])
    assert (run.trigger, run.status, run.requested_label) == ("manual", "queued", "admin")
    passback_run = PassbackRun.objects.get(run=run)
    assert (passback_run.course_sis_ids, passback_run.full) == ([course], True)
    again = admin_client.post(url, {"district": district.pk, "courses": ""})
    assert again.status_code == 200
    assert "already has an active run" in again.content.decode()
    unknown = admin_client.post(url, {"district": district.pk, "courses": "nope"})
    assert "nope is not a course" in unknown.content.decode()


def test_token_form_shows_the_token_once(admin_client, district):
    url = reverse("admin:gradepassback_passbackrun_token")
    response = admin_client.post(url, {"district": district.pk})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = re.search(r'<code id="passback-token">([^<]+)</code>', response.content.decode())[1]
    district.refresh_from_db()
    assert passback_trigger_token_check(district=district, token=token)
    assert f"/api/passback/{district.slug}/courses/SIS_COURSE_ID" in response.content.decode()
    assert token not in admin_client.get(url).content.decode()


def test_category_overrides_are_edited_in_the_admin_and_audited(admin_client, district):
    url = reverse("admin:gradepassback_categoryoverride_add")
    response = admin_client.post(
        url,
        {
            "district": district.pk,
            "assignment_group_name": "Canvas  Extras",
            "category_sourced_id": "cat-1",
            "category_title": "Homework",
        },
    )
    assert response.status_code == 302
    override = CategoryOverride.objects.get(district=district)
    assert override.assignment_group_name == "Canvas Extras"
    event = AuditEvent.objects.filter(district=district, action="district.settings_changed").first()
    assert event.actor_label == "admin"
    assert "category override" in event.target
    # The same name in another case is the same override.
    duplicate = admin_client.post(
        url,
        {
            "district": district.pk,
            "assignment_group_name": "canvas extras",
            "category_sourced_id": "cat-2",
        },
    )
    assert duplicate.status_code == 200
    assert CategoryOverride.objects.filter(district=district).count() == 1
    delete = reverse("admin:gradepassback_categoryoverride_delete", args=[override.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not CategoryOverride.objects.exists()


def test_an_override_sends_the_group_to_the_chosen_category(sandbox, district):
    from gradepassback import mapping
    from tests.gradepassback.helpers import Recorder, course_assignments

    book = sandbox.oneroster.gradebook
    homework = next(sid for sid, c in book.categories.items() if c["title"] == "Homework")
    CategoryOverride.objects.create(
        district=district, assignment_group_name="canvas extras", category_sourced_id=homework
    )
    course = class_with_quarters(sandbox, {0, 1})
    recorder = Recorder(sandbox)
    assert passback(district).status == SyncRun.Status.SUCCEEDED
    bonus = course_assignments(sandbox, course)["Bonus Reflection"]
    sid = mapping.lineitem_sourced_id(
        district_slug=district.slug, assignment_id=bonus.id, class_sourced_id=course
    )
    assert recorder.puts("lineItems")[sid]["category"]["sourcedId"] == homework
