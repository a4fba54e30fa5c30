"""The Celery app: Redis broker, Django settings under the ``CELERY_`` prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.settings.base")

app = Celery("integration")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
