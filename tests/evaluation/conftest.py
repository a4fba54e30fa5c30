"""A loopback sandbox and a district wired to it, with a "previous SIS" in its Canvas."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from sandbox.canvas.coursework import previous_sis_seed
from sandbox.server import start_sandbox
from tenants.services.districts import district_create

_numbers = itertools.count(1)
PROVISIONED_ROLES = ("student", "teacher", "administrator")


@pytest.fixture
def sandbox():
    running = start_sandbox(schools=2, students=40, seed=11)
    try:
        yield running
    finally:
        running.canvas.close()
        running.stop()


def sandbox_district(sandbox, **fields):
    info = sandbox.info
    n = next(_numbers)
    values = {
        "slug": f"eval-{n}",
        "name": f"Evaluation District {n}",
        "oneroster_base_url": info["oneroster_url"],
        "oneroster_token_url": info["token_url"],
        "oneroster_client_id": info["client_id"],
        "oneroster_client_secret": info["client_secret"],
        "canvas_base_url": info["canvas_url"],
        "canvas_account_id": info["canvas_account_id"],
        "canvas_token": info["canvas_token"],
        **fields,
    }
    return district_create(actor=None, actor_label="test", **values)


@pytest.fixture
def district(db, sandbox):
    return sandbox_district(sandbox)


def provisioned_users(sandbox) -> list[dict]:
    """The generated users the first import would send (no guardians: observers are off)."""
    return [
        {
            "sourcedId": u.sourced_id,
            "username": u.username,
            "email": u.email,
            "givenName": u.given_name,
            "familyName": u.family_name,
        }
        for u in sandbox.generated.iter_users()
        if u.role in PROVISIONED_ROLES and u.status == "active"
    ]


def classes(sandbox) -> list[dict]:
    return [
        dataclasses.asdict(c) | {"sourcedId": c.sourced_id}
        for c in sandbox.generated.iter_classes()
    ]


@pytest.fixture
def previous_sis(sandbox):
    """Seed the previous SIS's users and courses; returns which ids went in which group."""
    return previous_sis_seed(
        sandbox.canvas, users=provisioned_users(sandbox), classes=classes(sandbox), seed=3
    )
