"""A OneRoster answer past ``HTTP_MAX_RESPONSE_BYTES`` fails the run with a clear reason, and
the same process runs the next sync normally."""

from __future__ import annotations

import pytest

from provisioning.models import SyncRun
from tests.provisioning.runs import sync

# A live database (autocommit, as in production): the oversize page ends a COPY mid-stream.
pytestmark = pytest.mark.django_db(transaction=True)


def test_an_oversize_page_fails_the_run_with_its_reason(sandbox, sandbox_district, settings):
    settings.HTTP_MAX_RESPONSE_BYTES = 4096  # a 60-student page is ~40 kB
    run = sync(sandbox_district)
    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("OneRoster sent more than 4,096 bytes for http")
    assert run.error.endswith(
        "(not retried). If the system's answers are legitimately this "
        "large, lower ONEROSTER_PAGE_SIZE (records per page) or raise HTTP_MAX_RESPONSE_BYTES."
    )

    settings.HTTP_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
    assert sync(sandbox_district).status == SyncRun.Status.SUCCEEDED
