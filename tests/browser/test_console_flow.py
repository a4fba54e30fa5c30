"""The console end to end in headless Chromium, against the loopback sandbox and a real
Celery worker: sign-in with two factors, a new district, its intake link used by the
district's contact, the connection check, the term mode, a full sync watched live, a held
sync approved, and a conversion evaluation with its CSV. Screenshots of the main pages go
to ``test-artifacts/``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from runs.models import SyncRun
from sandbox.canvas.coursework import previous_sis_seed
from tenants.models import AuditEvent, District
from tests.browser.conftest import PASSWORD
from tests.tenants.test_admin import totp_token

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Long enough for a worker to read, plan and import the small sandbox district.
RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def flow(
    django_db_setup,
    browser,
    live_server,
    sandbox,
    worker,
    staff_with_device,
    artifacts,
    settings,
):
    settings.OTP_REQUIRED = True
    settings.CONSOLE_BASE_URL = live_server.url
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    # Confirmation dialogs (full sync, approve) are accepted, as a person would.
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        yield page
    finally:
        context.close()


def shoot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def submit_intake(contact, form, base_url: str, values: dict[str, str]) -> None:
    """Fill and send the intake form as its page does; the browser's own submission must pass
    Django's CSRF origin check (the intake pages' Referrer-Policy decides what Origin it sends)."""
    for name, value in values.items():
        form.fill(f"#id_{name}", value)
    with form.expect_response("**/intake/form/") as posted:
        form.click("button[type=submit]")
    assert posted.value.status != 403, "the browser's intake submission was refused (CSRF)"


def districts_in_other_states() -> None:
    """A district in trouble and one being onboarded, as test data, for the overview."""
    import datetime as dt

    from django.utils import timezone

    from tests.console.conftest import conflict_make, run_make

    troubled = District.objects.create(
        slug="maple-grove",
        name="Maple Grove ISD",
        status=District.Status.ACTIVE,
        last_check_ok=False,
        last_check_at=timezone.now() - dt.timedelta(hours=5),
        credentials_expire_on=timezone.localdate() + dt.timedelta(days=12),
    )
    run_make(troubled, kind="full", minutes_ago=60 * 50, took=1400)
    run_make(troubled, kind="delta", status="failed", minutes_ago=600, error="UpstreamTimeout")
    run_make(troubled, kind="delta", status="held", minutes_ago=30, held_reason="Mass drop.")
    for _ in range(3):
        conflict_make(troubled)
    District.objects.create(slug="pine-ridge", name="Pine Ridge Schools")


def wait_for_status(page, label: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#run-status")).to_have_text(label, timeout=RUN_TIMEOUT_MS)


def test_a_csm_onboards_a_district_and_runs_it_from_the_console(
    flow, live_server, sandbox, staff_with_device, artifacts, browser
):
    from playwright.sync_api import expect

    page = flow
    user, device = staff_with_device
    info = sandbox.info

    # --- sign in: password, then the authenticator code --------------------------------
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_have_text("Two-factor sign-in")
    page.fill("input[name=otp_token]", totp_token(device))
    page.click("button[type=submit]:has-text('Verify')")
    expect(page.locator("h1")).to_have_text("Districts")
    expect(page.locator(".empty")).to_contain_text("No districts yet.")
    shoot(page, artifacts, "01-districts-empty")

    # --- a new district --------------------------------------------------------------------
    page.click("text=+ New district")
    page.fill("#id_name", "Cedar Valley Schools")
    page.fill("#id_slug", "cedar-valley")
    page.fill("#id_canvas_base_url", info["canvas_url"])
    page.fill("#id_canvas_account_id", info["canvas_account_id"])
    page.select_option("#id_term_mode", "consolidated")
    page.fill("#id_notification_emails", "it@cedar-valley.example.org")
    shoot(page, artifacts, "02-district-new")
    page.click("button:has-text('Create district')")
    expect(page.locator("h1")).to_contain_text("Cedar Valley Schools")

    # The Canvas token is a secret: write-only, with a fresh second-factor code.
    page.click("text=Replace credentials")
    page.fill("#id_canvas_token", info["canvas_token"])
    page.fill("#id_otp_token", totp_token(device, steps_ahead=1))
    page.click("button:has-text('Save credentials')")
    expect(page.locator(".messages")).to_contain_text("Credentials replaced.")

    # --- the intake link, used by the district's IT contact ----------------------------
    page.click("button:has-text('Create intake link')")
    expect(page.locator("h1")).to_have_text("Intake link created")
    intake_url = page.input_value("#intake-url")
    assert intake_url.startswith(f"{live_server.url}/intake/")
    shoot(page, artifacts, "03-intake-link")

    contact = browser.new_context()
    form = contact.new_page()
    form.goto(intake_url)
    expect(form.locator("h1")).to_have_text("Cedar Valley Schools")
    shoot(form, artifacts, "04-intake-form")
    submit_intake(
        contact,
        form,
        live_server.url,
        {
            "oneroster_base_url": info["oneroster_url"],
            "oneroster_token_url": info["token_url"],
            "oneroster_client_id": info["client_id"],
            "oneroster_client_secret": info["client_secret"],
        },
    )
    expect(form.locator("body")).to_contain_text("Thank you")
    shoot(form, artifacts, "05-intake-submitted")
    contact.close()

    # --- the connection check the submission queued, shown when the worker is done ------
    page.goto(f"{live_server.url}/console/districts/cedar-valley/")
    expect(page.locator("#check")).to_contain_text("passing", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#check-steps")).to_contain_text("OneRoster sign-in")
    expect(page.locator("#check-steps")).to_contain_text("Canvas SIS import permission")
    shoot(page, artifacts, "06-district-checked")

    # --- term mode: the switch shows what it would do, then saves -----------------------
    page.select_option("#id_term_mode", "as_is")
    page.select_option("#id_status", "active")
    page.click("button:has-text('Save settings')")
    expect(page.locator("h1")).to_have_text("Switch the term mode?")
    expect(page.locator("body")).to_contain_text("nothing moves")
    shoot(page, artifacts, "07-term-mode-preview")
    page.click("button:has-text('Switch to')")
    expect(page.locator(".messages")).to_contain_text("Term mode")
    district = District.objects.get(slug="cedar-valley")
    assert district.term_mode == District.TermMode.AS_IS
    assert district.status == District.Status.ACTIVE

    # --- a full sync, watched live: the first write into Canvas waits for approval ------
    page.click("button[data-kind=full]")
    expect(page.locator("h1")).to_contain_text("Full #")
    page.evaluate("window.__notReloaded = true")
    shoot(page, artifacts, "08a-run-in-progress")
    wait_for_status(page, "Held for approval")
    # The page followed the run by polling: same document, no reload.
    assert page.evaluate("window.__notReloaded === true")
    expect(page.locator("#held")).to_contain_text(
        "First write into this district's Canvas: creates"
    )
    page.click("button:has-text('Approve and apply')")
    wait_for_status(page, "Succeeded")
    expect(page.locator("#run-counts")).to_contain_text("Users")
    expect(page.locator("#run-log")).to_contain_text("Canvas SIS import")
    users_created = page.locator("#run-counts tr:has-text('Users') td").nth(0).inner_text()
    assert int(users_created.replace(",", "")) > 0
    shoot(page, artifacts, "08-run-succeeded")

    # Switching back now would move every course: the preview says so, and is cancelled.
    page.goto(f"{live_server.url}/console/districts/cedar-valley/")
    page.select_option("#id_term_mode", "consolidated")
    page.click("button:has-text('Save settings')")
    expect(page.locator("h1")).to_have_text("Switch the term mode?")
    expect(page.locator("#course-moves")).to_contain_text("cedar-valley-sy")
    expect(page.locator("body")).to_contain_text("held for approval")
    shoot(page, artifacts, "08b-term-mode-preview-with-moves")
    page.click("text=Cancel")
    district.refresh_from_db()
    assert district.term_mode == District.TermMode.AS_IS

    # --- a mass drop trips a guard; the held run is approved ------------------------------
    sandbox.oneroster.scenario("mass_drop", share=0.6)
    page.goto(f"{live_server.url}/console/districts/cedar-valley/")
    page.click("button[data-kind=full]")
    wait_for_status(page, "Held for approval")
    expect(page.locator("#held")).to_contain_text("would be dropped")
    shoot(page, artifacts, "09-run-held")
    page.click("button:has-text('Approve and apply')")
    expect(page.locator(".messages")).to_contain_text("approved")
    wait_for_status(page, "Succeeded")
    held = SyncRun.objects.filter(
        district=district, decided_by=user, held_reason__contains="would be dropped"
    ).get()
    assert held.status == SyncRun.Status.SUCCEEDED
    # The first write and the mass drop, each approved once.
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SYNC_APPROVED).count() == 2

    # --- a conversion evaluation, its report and its CSV ------------------------------------
    previous_sis_seed(sandbox.canvas, users=[], classes=[], seed=1, orphans=3)
    page.goto(f"{live_server.url}/console/districts/cedar-valley/")
    shoot(page, artifacts, "10-district-after-runs")
    page.click("button[data-kind=evaluation]")
    wait_for_status(page, "Succeeded")
    page.click("text=Open the evaluation report")
    expect(page.locator("h1")).to_contain_text("Conversion evaluation #")
    expect(page.locator("#summary-users")).to_contain_text("Same SIS id")
    expect(page.locator("#risks")).to_contain_text("3 Canvas accounts from the previous SIS")
    shoot(page, artifacts, "11-evaluation-report")
    with page.expect_download() as download_info:
        page.click("text=Download the detail (CSV)")
    download = download_info.value
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:2] == ["object_type", "match"]
    assert {row[1] for row in rows[1:]} >= {"matched_sis_id", "orphan"}
    assert sum(1 for row in rows[1:] if row[1] == "orphan" and row[0] == "user") == 3

    # --- the other main pages, with two more districts in other states -------------------
    districts_in_other_states()
    page.goto(f"{live_server.url}/console/")
    expect(page.locator("#districts")).to_contain_text("Cedar Valley Schools")
    shoot(page, artifacts, "12-districts")
    page.goto(f"{live_server.url}/console/runs/")
    shoot(page, artifacts, "13-runs")
    page.goto(f"{live_server.url}/console/conflicts/?state=all")
    shoot(page, artifacts, "14-conflicts")
