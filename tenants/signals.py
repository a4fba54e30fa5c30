"""Signals tenants sends; the apps above it receive them, so tenants never imports them."""

from django.dispatch import Signal

#: Beat schedules must follow the settings: sent with ``district`` (its settings were saved,
#: inside the saving transaction) or with ``district=None`` (the deployment-wide schedules,
#: ``manage.py setup_periodic_tasks``). Provisioning and grade passback own the schedules and
#: connect receivers in their ``AppConfig.ready``; tenants never imports them.
schedules_sync = Signal()
