from __future__ import annotations

import itertools

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model

from tenants.services.districts import district_create

_counter = itertools.count(1)

# Generated test values: long enough that mask_secret shows the last 4, and distinctive so a
# leak is easy to find in any output.
CLIENT_SECRET = "test-client-secret-Q7ZK1"
CANVAS_TOKEN = "test-canvas-token-M3XW9"
VENDOR_KEY = "test-vendor-key-P2LB6"
VENDOR_SECRET = "test-vendor-secret-R8NC4"
ALL_SECRETS = (CLIENT_SECRET, CANVAS_TOKEN, VENDOR_KEY, VENDOR_SECRET)


def assert_no_secret(text: str, secrets=ALL_SECRETS) -> None:
    for secret in secrets:
        assert secret not in text
        # The masked form shows the last 4 only; nothing longer may appear.
        assert secret[:-4] not in text


@pytest.fixture
def make_district(db):
    def make(**fields):
        n = next(_counter)
        values = {
            "slug": f"district-{n}",
            "name": f"District {n}",
            "oneroster_base_url": f"https://sis{n}.example.org/campus/api/oneroster/v1p1/d{n}"
            "/ims/oneroster/v1p1",
            "oneroster_token_url": f"https://sis{n}.example.org/campus/oauth2/token?appName=d{n}",
            "oneroster_client_id": f"client-{n}",
            "oneroster_client_secret": CLIENT_SECRET,
            "canvas_base_url": f"https://d{n}.instructure.example",
            "canvas_account_id": "1",
            "canvas_token": CANVAS_TOKEN,
        }
        values.update(fields)
        return district_create(actor=None, actor_label="test", **values)

    return make


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user(
        username="csm", password="correct horse battery staple", is_staff=True
    )


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(
        username="root", password="correct horse battery staple", email="root@example.org"
    )


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.REDIS_URL)
    # The broker keeps its keys in the deployment namespace (global_keyprefix).
    queue = (
        settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
        + settings.CELERY_TASK_DEFAULT_QUEUE
    )
    client.delete(queue)
    yield client, queue
    client.delete(queue)
