"""Every console page (and the sign-in and a few admin pages) in headless Chromium, with
seeded data: axe-core finds no serious or critical violation, the keyboard reaches the skip
link first and sees where it is, and each page is kept as a screenshot in
``test-artifacts/``."""

from __future__ import annotations

import datetime as dt

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from evaluation.models import EvaluationReport, EvaluationRow
from gradepassback.models import PassbackCourse, PassbackRun
from runs.models import SyncRun, SyncRunLog
from tenants.models import AuditEvent, District
from tenants.services.audit import audit_record
from tests.browser.conftest import PASSWORD
from tests.console.conftest import conflict_make, mirror_make, run_make

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNTS = {
    "users": {"create": 1280, "update": 14, "drop": 3, "keep": 8716},
    "courses": {"create": 96, "keep": 410},
    "enrollments": {"create": 4210, "update": 2, "drop": 40, "keep": 30114},
}
MATCHES = dict.fromkeys(
    ("matched_sis_id", "matched_login", "matched_email", "ambiguous", "new", "orphan"), 0
)


def seed() -> dict[str, object]:
    """A district after a few weeks of syncs: finished, failed and held runs, a dry run, a
    passback of 300 courses, an evaluation, conflicts and audit rows; and two more districts."""
    district = District.objects.create(
        slug="cedar-valley",
        name="Cedar Valley Schools",
        status=District.Status.ACTIVE,
        term_mode=District.TermMode.CONSOLIDATED,
        oneroster_base_url="https://sis.cedar-valley.example.org/ims/oneroster/v1p1",
        oneroster_token_url="https://sis.cedar-valley.example.org/oauth2/token",
        oneroster_client_id="cedar-client",
        canvas_base_url="https://cedar-valley.instructure.example",
        canvas_account_id="1",
        notification_emails="it@cedar-valley.example.org",
    )
    mirror_make(district)
    runs: dict[str, SyncRun] = {}
    for day in (9, 8, 7, 6, 5, 4, 3, 2):
        runs["delta"] = run_make(
            district,
            kind="delta",
            minutes_ago=day * 1440,
            took=60 + day * 7,
            counts={"users": {"create": day * 3, "update": day}, "enrollments": {"create": 11}},
            canvas_import_id=str(100 + day),
            canvas_import_state="imported",
        )
    runs["failed"] = run_make(
        district, kind="delta", status="failed", minutes_ago=1300, error="The SIS timed out."
    )
    runs["full"] = run_make(
        district,
        kind="full",
        minutes_ago=600,
        took=141,
        full_read=True,
        counts=COUNTS,
        canvas_import_id="211",
        canvas_import_state="imported",
        plan_summary={"by_school": {"SCH1": {"name": "Cedar High", "files": COUNTS}}},
    )
    SyncRun.objects.filter(pk=runs["full"].pk).update(
        decided_at=runs["full"].started_at + dt.timedelta(seconds=90)
    )
    runs["nochange"] = run_make(district, kind="delta", minutes_ago=300, took=12, counts={})
    runs["discarded"] = run_make(
        district, kind="full", status="discarded", minutes_ago=200, counts=COUNTS
    )
    runs["dry_run"] = run_make(district, kind="dry_run", minutes_ago=150, counts=COUNTS)
    runs["passback"] = run_make(
        district, kind="passback", minutes_ago=100, counts={"results": {"pushed": 1774}}
    )
    passback = PassbackRun.objects.create(run=runs["passback"], courses_total=300, courses_done=300)
    PassbackCourse.objects.bulk_create(
        PassbackCourse(
            passback_run=passback,
            sis_course_id=f"C{n:04d}",
            status="failed" if n % 50 == 0 else "succeeded",
            pushed=n % 17,
            unchanged=n % 5,
            error="Canvas refused the request." if n % 50 == 0 else "",
        )
        for n in range(1, 301)
    )
    runs["held"] = run_make(
        district,
        kind="delta",
        status="held",
        minutes_ago=20,
        counts=COUNTS,
        held_reason="3,100 enrollments would be dropped (12% of them, above the 5% guard).",
    )
    held_at = runs["held"].started_at + dt.timedelta(seconds=48)
    SyncRun.objects.filter(pk=runs["held"].pk).update(progress={"held_at": held_at.isoformat()})
    for message in ("Read 12 pages from OneRoster.", "Held for approval."):
        SyncRunLog.objects.create(run=runs["held"], message=message)
    report = EvaluationReport.objects.create(
        run=run_make(district, kind="evaluation", minutes_ago=5000),
        district=district,
        summary={
            "users": {**MATCHES, "matched_sis_id": 900, "matched_login": 12, "orphan": 3},
            "courses": {**MATCHES, "matched_sis_id": 80, "new": 16},
            "sections": {**MATCHES, "matched_sis_id": 80, "new": 16},
            "checks": {"users": {"login_changes": 2}},
            "change_sis_id": {"users": 12},
        },
        risks=[{"level": "medium", "text": "3 Canvas accounts from the previous SIS match."}],
    )
    EvaluationRow.objects.create(
        report=report, object_type="user", match="orphan", canvas_id=6, canvas_sis_id="OLD-6"
    )
    for _ in range(4):
        conflict_make(district, run=runs["full"], school="SCH1")
    audit_record(
        actor=None,
        actor_label="csm",
        action=AuditEvent.Action.SETTINGS_CHANGED,
        district=district,
        target=district.slug,
        changes={"course_grade_mode": ["task", "own_lineitem"], "observers_enabled": [False, True]},
    )
    audit_record(
        actor=None,
        actor_label="csm",
        action=AuditEvent.Action.SYNC_APPROVED,
        district=district,
        target=f"run {runs['full'].pk}",
        changes={"held_reason": "First write.", "counts": COUNTS},
    )
    troubled = District.objects.create(
        slug="maple-grove",
        name="Maple Grove ISD",
        status=District.Status.ACTIVE,
        last_check_ok=False,
        last_check_at=timezone.now() - dt.timedelta(hours=5),
    )
    run_make(troubled, kind="delta", status="failed", minutes_ago=600, error="UpstreamTimeout")
    runs["reading"] = run_make(
        troubled,
        kind="full",
        status="running",
        minutes_ago=2,
        phase="reading",
        progress={
            "pages_read": 30,
            "pages_total": 120,
            "records_read": 29500,
            "records_total": 118000,
        },
    )
    District.objects.create(slug="pine-ridge", name="Pine Ridge Schools")
    return {"district": district, "runs": runs, "report": report}


def violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page, one line each."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def keyboard_check(page) -> None:
    """The first Tab stop is the skip link, it shows where the focus is (an outline of at
    least 3 px) and it leads to the content."""
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => {
            const el = document.activeElement, style = getComputedStyle(el);
            return {cls: el.className, href: el.getAttribute('href'), text: el.textContent,
                    outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
                    top: el.getBoundingClientRect().top};
        }"""
    )
    assert "skip-link" in focused["cls"], focused
    assert focused["href"] == "#main"
    assert focused["outline"] != "none"
    assert focused["width"] >= 3
    assert focused["top"] >= 0  # on screen once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab stop is in the content, past the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('main')")
    color = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    assert contrast(color, "rgb(255, 255, 255)") >= 3
    assert contrast(color, "rgb(245, 246, 248)") >= 3


def contrast(one: str, other: str) -> float:
    """WCAG contrast ratio of two ``rgb(r, g, b)`` colours."""

    def luminance(rgb: str) -> float:
        channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def structure_problems(page) -> list[str]:
    """Headings that skip a level, a page without one h1, header cells without a scope."""
    return page.evaluate(
        """() => {
            const problems = [];
            const levels = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
                .filter(h => h.offsetParent !== null || h.closest('details'))
                .map(h => Number(h.tagName[1]));
            if (levels.filter(l => l === 1).length !== 1) problems.push('h1 count');
            levels.forEach((level, i) => {
                const before = levels[i - 1];
                if (i && level > before + 1) problems.push(`h${before} then h${level}`);
            });
            document.querySelectorAll('main table').forEach(table => {
                if (!table.querySelector('th')) problems.push('table without headers');
                table.querySelectorAll('th:not([scope])').forEach(th =>
                    problems.push('th without scope: ' + th.textContent.trim().slice(0, 30)));
            });
            return problems;
        }"""
    )


@pytest.fixture
def signed_in(django_db_setup, browser, live_server, staff_with_device, artifacts):
    user, _ = staff_with_device
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"{live_server.url}/admin/login/")
    assert page.locator("h1").inner_text() == "Sign in"
    assert violations(page) == []
    # The sign-in page starts in the username field: the form is the content.
    assert page.evaluate("document.activeElement.id") == "id_username"
    page.screenshot(path=str(artifacts / "pages-sign-in.png"), full_page=True)
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_url("**/admin/")
    try:
        yield page
    finally:
        context.close()
    assert missing == [], missing  # no favicon (or other) 404


def console_pages(data: dict[str, object]) -> list[tuple[str, str]]:
    runs = data["runs"]
    slug = data["district"].slug
    return [
        ("overview", "/console/"),
        ("overview-attention", "/console/?attention=1"),
        ("district-new", "/console/districts/new/"),
        ("district", f"/console/districts/{slug}/"),
        ("district-credentials", f"/console/districts/{slug}/credentials/"),
        ("run", f"/console/runs/{runs['full'].pk}/"),
        ("run-held", f"/console/runs/{runs['held'].pk}/"),
        ("run-discarded", f"/console/runs/{runs['discarded'].pk}/"),
        ("run-no-change", f"/console/runs/{runs['nochange'].pk}/"),
        ("run-dry-run", f"/console/runs/{runs['dry_run'].pk}/"),
        ("run-passback", f"/console/runs/{runs['passback'].pk}/"),
        ("run-failed", f"/console/runs/{runs['failed'].pk}/"),
        ("run-reading", f"/console/runs/{runs['reading'].pk}/"),
        ("runs", "/console/runs/"),
        ("conflicts", "/console/conflicts/?state=all"),
        ("audit", "/console/audit/"),
        ("evaluation", f"/console/evaluations/{data['report'].pk}/"),
        ("lti", f"/console/districts/{slug}/lti/"),
    ]


ADMIN_PAGES = [
    ("admin-index", "/admin/"),
    ("admin-districts", "/admin/tenants/district/"),
    ("admin-partner-key", "/admin/tenants/partnercredential/"),
]


def test_every_console_page_passes_axe_and_works_by_keyboard(signed_in, live_server, artifacts):
    data = seed()
    page = signed_in
    found = {}
    for name, path in console_pages(data):
        page.goto(live_server.url + path)
        page.screenshot(path=str(artifacts / f"pages-{name}.png"), full_page=True)
        found[name] = violations(page) + structure_problems(page)
        keyboard_check(page)
    assert found == {name: [] for name, _ in console_pages(data)}


def test_the_admin_pages_have_no_serious_violations_and_one_name_per_thing(
    signed_in, live_server, artifacts, staff_with_device
):
    seed()
    user, _ = staff_with_device
    # The operator who holds the deployment's keys sees every admin page.
    type(user).objects.filter(pk=user.pk).update(is_superuser=True)
    page = signed_in
    passback = SyncRun.objects.get(kind="passback")
    pages = [*ADMIN_PAGES, ("admin-passback", f"/admin/gradepassback/passbackrun/{passback.pk}/")]
    found = {}
    for name, path in pages:
        page.goto(live_server.url + path)
        found[name] = violations(page)
        page.screenshot(path=str(artifacts / f"pages-{name}.png"), full_page=True)
    assert found == {name: [] for name, _ in pages}
    page.goto(live_server.url + pages[-1][1])
    assert "Page 1 of 6 (300 courses)" in page.locator("#content").inner_text()
    page.goto(live_server.url + "/admin/")
    index = page.locator("#content-main").inner_text()
    assert "Gradebook partner key" in index
    assert "Partner credentials" not in index
    assert "LTI platforms" in index
    page.goto(live_server.url + "/admin/tenants/district/")
    page.click("text=Cedar Valley Schools")
    # The change form's last group is on the page: read the form once it has all loaded.
    expect(page.locator("#content-main")).to_contain_text("OneRoster client ID")
    form = page.locator("#content-main").inner_text()
    assert "Oneroster client id" not in form


def test_the_run_page_in_a_browser_shows_progress_and_the_chart_links(
    signed_in, live_server, artifacts
):
    data = seed()
    page = signed_in
    page.goto(f"{live_server.url}/console/districts/{data['district'].slug}/")
    chart = page.locator("#run-chart")
    assert chart.locator("svg a").count() == 0
    held = data["runs"]["held"]
    chart.locator(f"nav a:has-text('#{held.pk}')").click()
    page.wait_for_url(f"**/console/runs/{held.pk}/")
    assert "Held for approval" in page.locator("#held h2").inner_text()
