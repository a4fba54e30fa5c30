"""Registering a district's Canvas as an LTI platform, and the tool's configuration JSON.

Changes are audited like the district's other settings (``district.settings_changed``,
target ``lti``). The configuration JSON is what a Canvas admin pastes into a new LTI
developer key ("Paste JSON"); it names the tool's per-district URLs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from lti.models import LtiPlatform
from lti.services.keys import lti_key_current
from tenants.models import AuditEvent
from tenants.services.audit import audit_changes, audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from tenants.models import District

PLATFORM_FIELDS = (
    "issuer",
    "client_id",
    "deployment_id",
    "auth_login_url",
    "auth_token_url",
    "key_set_url",
)
TOOL_TITLE = "Grade sync (RosterBridge)"
TOOL_ID = "rosterbridge-grade-sync"


def canvas_platform_urls(canvas_base_url: str) -> dict[str, str]:
    """Canvas's own endpoints under an instance's base URL (a self-hosted Canvas, or the
    sandbox). Canvas cloud uses ``https://sso.canvaslms.com`` for these instead."""
    base = canvas_base_url.rstrip("/")
    return {
        "auth_login_url": f"{base}/api/lti/authorize_redirect",
        "auth_token_url": f"{base}/login/oauth2/token",
        "key_set_url": f"{base}/api/lti/security/jwks",
    }


def lti_platform_save(
    *,
    district: District,
    actor: AbstractBaseUser | None,
    actor_label: str = "",
    values: dict[str, str],
) -> LtiPlatform:
    """Create or change the district's registration (audited); make sure it has a key."""
    with transaction.atomic():
        platform = LtiPlatform.objects.select_for_update().filter(district=district).first()
        before = {name: getattr(platform, name) for name in PLATFORM_FIELDS} if platform else {}
        if platform is None:
            platform = LtiPlatform(district=district)
        for name in PLATFORM_FIELDS:
            if name in values:
                setattr(platform, name, str(values[name]).strip())
        platform.full_clean(exclude=["district"])
        platform.save()
        after = {name: getattr(platform, name) for name in PLATFORM_FIELDS}
        changes = audit_changes(before, after)
        if changes:
            audit_record(
                actor=actor,
                actor_label=actor_label,
                action=AuditEvent.Action.SETTINGS_CHANGED,
                district=district,
                target="lti",
                changes=changes,
            )
        lti_key_current(platform=platform)
    return platform


def tool_base_url() -> str:
    return (settings.LTI_TOOL_BASE_URL or settings.CONSOLE_BASE_URL).rstrip("/")


def tool_urls(district: District) -> dict[str, str]:
    base = tool_base_url()
    return {
        "oidc_initiation_url": base + reverse("lti:login", args=[district.slug]),
        "target_link_uri": base + reverse("lti:launch", args=[district.slug]),
        "public_jwk_url": base + reverse("lti:jwks", args=[district.slug]),
    }


def canvas_tool_config(district: District) -> dict[str, Any]:
    """The developer key JSON for Canvas.

    ``privacy_level`` is ``public`` because the tool must learn the teacher's SIS id
    (``lis.person_sourcedid``) and name; ``scopes`` is empty because the tool calls no LTI
    service (it reads Canvas with the district's API token and writes only to the SIS).
    The course navigation link is hidden until a teacher or admin enables it.
    """
    urls = tool_urls(district)
    launch = urls["target_link_uri"]
    return {
        "title": TOOL_TITLE,
        "description": (
            "See which assignments went to the SIS and why the others did not, and send "
            "this course's grades now."
        ),
        "oidc_initiation_url": urls["oidc_initiation_url"],
        "target_link_uri": launch,
        "public_jwk_url": urls["public_jwk_url"],
        "scopes": [],
        "extensions": [
            {
                "domain": urlsplit(launch).hostname or "",
                "tool_id": TOOL_ID,
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {
                    "text": "Grade sync",
                    "placements": [
                        {
                            "placement": "post_grades",
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": launch,
                            "text": "Sync grades to the SIS",
                        },
                        {
                            "placement": "course_navigation",
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": launch,
                            "text": "Grade sync",
                            "default": "disabled",
                        },
                    ],
                },
            }
        ],
        "custom_fields": {
            "sis_user_id": "$Canvas.user.sisIntegrationId",
            "sis_user_source_id": "$Canvas.user.sisSourceId",
            "sis_course_id": "$Canvas.course.sisSourceId",
        },
    }
