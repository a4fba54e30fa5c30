"""The connection check against the sandbox (simulated Infinite Campus and Canvas)."""

from __future__ import annotations

import pytest

import tenants.services.connection_check as cc
from sandbox.oneroster.faults import FaultRule
from sandbox.server import start_sandbox
from tenants.models import District
from tenants.services.connection_check import district_check
from tenants.services.districts import partner_credentials_set

pytestmark = pytest.mark.django_db


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def sandbox():
    running = start_sandbox(schools=2, students=30, seed=1)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _clear_faults(sandbox):
    yield
    sandbox.oneroster.faults.clear()


@pytest.fixture
def sandbox_district(make_district, sandbox):
    def make(**overrides) -> District:
        info = sandbox.info
        fields = {
            "oneroster_base_url": info["oneroster_url"],
            "oneroster_token_url": info["token_url"],
            "oneroster_client_id": info["client_id"],
            "oneroster_client_secret": info["client_secret"],
            "oneroster_vendor_key": info["vendor_key"],
            "oneroster_vendor_secret": info["vendor_secret"],
            "canvas_base_url": info["canvas_url"],
            "canvas_account_id": str(info["canvas_account_id"]),
            "canvas_token": info["canvas_token"],
        }
        fields.update(overrides)
        return make_district(**fields)

    return make


def steps_of(district: District) -> tuple[cc.CheckReport, dict[str, cc.CheckStep]]:
    report = district_check(district=district, actor=None, actor_label="test", sleep=no_sleep)
    return report, {step.name: step for step in report.steps}


def test_every_step_passes_against_the_sandbox(sandbox_district):
    report, steps = steps_of(sandbox_district())
    assert report.ok, [(s.name, s.reason) for s in report.steps]
    assert all(step.ok for step in steps.values())


def test_the_partner_key_serves_a_district_without_its_own(sandbox_district, sandbox):
    partner_credentials_set(
        actor=None,
        actor_label="test",
        vendor_key=sandbox.info["vendor_key"],
        vendor_secret=sandbox.info["vendor_secret"],
    )
    district = sandbox_district(oneroster_vendor_key=None, oneroster_vendor_secret=None)
    _report, steps = steps_of(district)
    assert steps[cc.STEP_ONEROSTER_GRADEBOOK].ok is True


def test_a_wrong_client_secret(sandbox_district):
    _report, steps = steps_of(sandbox_district(oneroster_client_secret="wrong-secret-value-1"))
    assert steps[cc.STEP_ONEROSTER_AUTH].reason == cc.ONEROSTER_AUTH_REFUSED
    assert steps[cc.STEP_CANVAS_SIS_IMPORT].ok is True


def test_a_wrong_vendor_secret(sandbox_district):
    report, steps = steps_of(sandbox_district(oneroster_vendor_secret="wrong-vendor-secret-1"))
    assert not report.ok
    assert steps[cc.STEP_ONEROSTER_SESSION].ok is True
    assert steps[cc.STEP_ONEROSTER_GRADEBOOK].reason == cc.GRADEBOOK_VENDOR_KEY_REFUSED


def test_a_wrong_canvas_token(sandbox_district):
    _report, steps = steps_of(sandbox_district(canvas_token="wrong-canvas-token-1"))
    assert steps[cc.STEP_CANVAS_TOKEN].reason == cc.CANVAS_TOKEN_REFUSED
    assert steps[cc.STEP_CANVAS_ROOT_ACCOUNT].ok is None


def test_an_unknown_canvas_account(sandbox_district):
    _report, steps = steps_of(sandbox_district(canvas_account_id="999999"))
    assert steps[cc.STEP_CANVAS_TOKEN].ok is True
    assert steps[cc.STEP_CANVAS_ROOT_ACCOUNT].ok is False


def test_a_forbidden_collection(sandbox_district, sandbox):
    sandbox.oneroster.faults.add(FaultRule(kind="status", status=403, match="orgs", count=-1))
    _report, steps = steps_of(sandbox_district())
    assert steps[cc.STEP_ONEROSTER_ORG].reason == cc.ONEROSTER_FORBIDDEN.format(what="orgs")


def test_a_malformed_answer(sandbox_district, sandbox):
    sandbox.oneroster.faults.add(FaultRule(kind="malformed", match="academicSessions", count=-1))
    _report, steps = steps_of(sandbox_district())
    assert steps[cc.STEP_ONEROSTER_ORG].ok is True
    assert "answered, but not the way the SIS does" in steps[cc.STEP_ONEROSTER_SESSION].reason


def test_a_provider_that_stays_unavailable(sandbox_district, sandbox):
    sandbox.oneroster.faults.add(FaultRule(kind="status", status=503, match="orgs", count=-1))
    _report, steps = steps_of(sandbox_district())
    assert "HTTP 503" in steps[cc.STEP_ONEROSTER_ORG].reason
