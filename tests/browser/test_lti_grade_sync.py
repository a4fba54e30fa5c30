"""The teacher's Grade sync tool end to end in headless Chromium: launched from the
simulated Canvas gradebook (Canvas shows it in an iframe, on another site than the tool),
through OIDC login, authorization and the id_token form post, against a real Celery
worker. A teacher sees why two assignments were not sent, fixes one in Canvas, presses
Sync now, watches the progress and sees it sent; a student is refused. Screenshots go to
``test-artifacts/`` (the ones in ``docs/lti/`` come from here)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from sandbox.canvas.coursework import LONG_NAME
from sandbox.server import start_sandbox
from tests.gradepassback.conftest import AS_OF
from tests.gradepassback.helpers import course_assignments
from tests.lti.conftest import lti_launch, member, ready_district

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def sandbox():
    running = start_sandbox(schools=1, students=12, seed=5, as_of=AS_OF)
    try:
        yield running
    finally:
        running.canvas.close()
        running.stop()


def _without_open(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "open"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _set_due_date(running, course: str, name: str, like: str) -> None:
    """What a teacher does in Canvas: give the assignment the due date of another one."""
    state = running.canvas
    assignments = course_assignments(running, course)
    with state.lock:
        assignments[name].due_at = assignments[like].due_at
        state.touch()


def test_a_teacher_syncs_grades_from_the_gradebook(
    django_db_setup, browser, live_server, sandbox, worker, artifacts, settings
):
    from playwright.sync_api import expect

    settings.CONSOLE_BASE_URL = live_server.url
    settings.PROVISIONING_IMPORT_POLL_MAX = 0.2
    district, course = ready_district(sandbox)
    teacher = member(sandbox, course, "TeacherEnrollment")
    launch = lti_launch(district.slug, course, teacher, "instructor")
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        # --- the gradebook's "Sync Grades" opens the tool in an iframe ------------------
        page.goto(_without_open(launch["launch_url"]))
        expect(page.locator("header")).to_contain_text("Gradebook")
        page.click("#sync-grades")
        tool = page.frame_locator("#tool")
        expect(tool.locator("h1")).to_have_text("Grade sync")
        participation = tool.locator("tr:has-text('Class Participation')")
        expect(participation).to_have_attribute("data-state", "not_sent")
        expect(participation).to_contain_text("No due date")
        long_title = tool.locator(f"tr:has-text('{LONG_NAME[:30]}')")
        expect(long_title).to_have_attribute("data-state", "not_sent")
        expect(long_title).to_contain_text("Title too long")
        expect(tool.locator("tr:has-text('Essay: Causes and Effects')")).to_have_attribute(
            "data-state", "sent"
        )
        page.screenshot(path=str(artifacts / "lti-01-grade-sync-in-gradebook.png"), full_page=True)
        frame = page.frame(url=lambda url: "/lti/sync/" in url)
        assert frame is not None
        # The tool runs without cookies of its own.
        assert not [c for c in context.cookies() if "localhost" in c["domain"]]

        # --- the teacher gives the assignment a due date in Canvas, then syncs ---------
        _set_due_date(sandbox, course, "Class Participation", like="Essay: Causes and Effects")
        tool.locator("#sync-now").click()
        expect(tool.locator("#progress")).to_contain_text("Sync #")
        page.screenshot(path=str(artifacts / "lti-02-sync-in-progress.png"), full_page=True)
        expect(participation).to_have_attribute("data-state", "sent", timeout=RUN_TIMEOUT_MS)
        expect(tool.locator("#progress")).to_contain_text("Succeeded")
        expect(long_title).to_have_attribute("data-state", "not_sent")
        page.screenshot(path=str(artifacts / "lti-03-synced.png"), full_page=True)

        # --- a student's launch is refused -----------------------------------------------
        student = member(sandbox, course, "StudentEnrollment")
        refused = lti_launch(district.slug, course, student, "student")
        page.goto(refused["launch_url"])
        expect(page.frame_locator("#tool").locator("#refused-title")).to_have_text(
            "Only teachers and TAs can sync grades"
        )
        page.screenshot(path=str(artifacts / "lti-04-student-refused.png"), full_page=True)
    finally:
        context.close()
