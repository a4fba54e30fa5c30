"""Settings of the Celery worker the browser tests start: the test settings, polling Canvas
imports quickly (the simulated Canvas finishes a small import in well under a second)."""

from integration.settings.test import *  # noqa: F403

PROVISIONING_IMPORT_POLL_MAX = 0.2
PROVISIONING_CANVAS_BUSY_WAIT = 5
