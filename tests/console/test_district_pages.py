"""The district page and the overview: a successful run proves the connection, "needs
attention" misses no stuck, retrying or never-checked district, the sync-history chart
labels and marks each run and links to it from outside the picture, the term preview is
grouped by school, and forms explain themselves."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning.models import RosterOrg
from runs.models import SyncRun
from tests.console.conftest import mirror_make, run_make
from tests.console.test_pages import _settings_data

pytestmark = pytest.mark.django_db


def body(client, name, *args, **query) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def test_a_successful_run_proves_the_connection(console, make_district):
    district = make_district(name="Demo", status="active")
    run = run_make(district, kind="delta")

    overview = body(console, "console:districts")
    page = body(console, "console:district", district.slug)

    assert "Not connected yet" not in overview
    assert "Never checked" not in overview
    assert "connected" in overview
    assert "All good" in overview
    assert f"delta run #{run.pk}</a> succeeded" in page
    assert "not checked yet" not in page


def test_needs_attention_finds_stuck_retrying_and_never_checked_districts(console, make_district):
    calm = make_district(name="Calm", status="active")
    run_make(calm)
    stuck = make_district(name="Stuck", status="active")
    run_make(stuck)
    lost = run_make(stuck, kind="full", status="running")
    SyncRun.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=2))
    retrying = make_district(name="Retrying", status="active")
    run_make(retrying)
    run_make(retrying, kind="delta", status="queued", attempts=1)
    make_district(name="Unchecked", status="onboarding")

    page = body(console, "console:districts", attention="1")

    assert "Calm" not in page
    assert f"Full #{lost.pk} has shown no sign of life" in page
    assert "is retrying" in page
    assert "Unchecked" in page
    assert "Never checked: run the connection check" in page


def test_the_chart_labels_and_marks_each_run_and_links_outside_the_picture(console, make_district):
    district = make_district()
    ok = run_make(district, kind="delta", minutes_ago=300)
    failed = run_make(district, kind="delta", status="failed", minutes_ago=200)
    held = run_make(district, kind="delta", status="held", minutes_ago=100)

    page = body(console, "console:district", district.slug)

    svg = re.search(r"<svg[^>]*role=\"img\".*?</svg>", page, re.S).group(0)
    assert "<a " not in svg  # no link inside a picture
    for run in (ok, failed, held):
        assert f">#{run.pk}</text>" in svg
        assert f'href="{reverse("console:run", args=[run.pk])}"' in page
    assert 'class="mark failed"' in svg
    assert 'class="mark held"' in svg


def test_the_term_preview_groups_courses_and_terms_by_school(console, make_district):
    district = make_district()
    mirror_make(district)
    RosterOrg.objects.create(
        district=district,
        sourced_id="SCH1",
        name="Cedar High",
        type="school",
        content_hash=0,
        last_seen_at=timezone.now(),
    )
    url = reverse("console:district_settings", args=[district.slug])

    page = console.post(url, _settings_data(district, term_mode="as_is")).content.decode()

    assert '<th scope="colgroup" colspan="4">Cedar High</th>' in page
    created = page[page.index('id="terms-created"') : page.index('id="terms-retired"')]
    assert '<h3 class="school">Cedar High</h3>' in created
    retired = page[page.index('id="terms-retired"') :]
    assert '<h3 class="school">All schools</h3>' in retired


def test_forms_explain_the_slug_and_point_only_to_help_that_exists(console, make_district):
    new = body(console, "console:district_new")
    assert "A short name for addresses and file names" in new
    district = make_district()
    for page in (new, body(console, "console:district", district.slug)):
        for target in re.findall(r'aria-describedby="([^"]+)"', page):
            for one in target.split():
                assert f'id="{one}"' in page, one
