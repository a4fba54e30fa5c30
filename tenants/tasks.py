"""Celery tasks for districts: thin adapters that load by id and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tenants.district_check", ignore_result=True, acks_late=True)
def district_check(district_id: int, actor_id: int | None = None) -> None:
    """Run the connection check. Takes ids only: secrets never enter the broker."""
    from django.contrib.auth import get_user_model

    from tenants.models import District
    from tenants.services.audit import actor_label_for
    from tenants.services.connection_check import district_check as district_check_service

    district = District.objects.filter(pk=district_id).first()
    if district is None:
        # Deleted between queueing and running: nothing left to check.
        return
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    district_check_service(district=district, actor=actor, actor_label=actor_label_for(actor))


@shared_task(name="tenants.staged_credentials_check", ignore_result=True, acks_late=True)
def staged_credentials_check(staged_id: int) -> None:
    """Run the connection check against staged credentials. Takes the id only."""
    from tenants.models import StagedCredentials
    from tenants.services.staging import staged_credentials_check as check_service

    staged = StagedCredentials.objects.filter(
        pk=staged_id, status=StagedCredentials.Status.PENDING
    ).first()
    if staged is None:
        # Decided or superseded before the worker got to it: nothing left to check.
        return
    check_service(staged=staged)
