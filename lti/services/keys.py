"""The tool's RSA keys: one current key per registration, rotated by command, published as JWKS.

Canvas fetches the tool's JWKS when the tool signs something for it (service tokens, deep
linking). A rotation makes a fresh key current and retires the previous one; the retired
key stays in the JWKS until the next rotation, so a platform that cached the old set keeps
verifying while it refreshes. Older keys are deleted.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.utils import timezone
from jwcrypto.jwk import JWK

from lti.models import LtiKey, LtiPlatform

KEY_BITS = 2048


def _generate() -> tuple[str, str, str]:
    """(kid, private PEM, public PEM) of a fresh RSA key; the kid is its RFC 7638 thumbprint."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    kid = JWK.from_pem(public_pem.encode()).thumbprint()
    return kid, private_pem, public_pem


def lti_key_rotate(*, platform: LtiPlatform) -> LtiKey:
    """Make a new current key; retire the current one; delete keys retired before it."""
    kid, private_pem, public_pem = _generate()
    with transaction.atomic():
        LtiPlatform.objects.select_for_update().get(pk=platform.pk)
        LtiKey.objects.filter(platform=platform, retired_at__isnull=False).delete()
        LtiKey.objects.filter(platform=platform, retired_at__isnull=True).update(
            retired_at=timezone.now()
        )
        return LtiKey.objects.create(
            platform=platform, kid=kid, private_key_pem=private_pem, public_key_pem=public_pem
        )


def lti_key_current(*, platform: LtiPlatform) -> LtiKey:
    """The registration's current key, created on first use."""
    key = LtiKey.objects.filter(platform=platform, retired_at__isnull=True).first()
    return key if key is not None else lti_key_rotate(platform=platform)


def public_jwk(key: LtiKey) -> dict[str, Any]:
    jwk = json.loads(JWK.from_pem(key.public_key_pem.encode()).export_public())
    jwk.update(kid=key.kid, alg="RS256", use="sig")
    return jwk


def platform_jwks(*, platform: LtiPlatform) -> dict[str, list[dict[str, Any]]]:
    """The JWKS of a registration: its current key and the one it replaced."""
    lti_key_current(platform=platform)
    return {"keys": [public_jwk(key) for key in platform.keys.order_by("-created_at", "-id")]}
