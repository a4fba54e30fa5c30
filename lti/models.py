"""The LTI 1.3 registration of a district's Canvas and the tool's signing keys.

One ``LtiPlatform`` per district: what Canvas's developer key and deployment say (issuer,
client_id, deployment_id) and where the platform's endpoints are. The tool's RSA keys
(``LtiKey``) belong to that registration; the newest active one is the current key, older
ones stay published in the JWKS until they are retired, so a platform that cached the old
key set keeps verifying while it refreshes.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from fernet_fields import EncryptedTextField

from tenants.models import District


class LtiPlatform(models.Model):
    """A district's Canvas as an LTI 1.3 platform (change it through ``lti.services``)."""

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="lti_platform")
    issuer = models.CharField(
        max_length=255,
        help_text="The id_token's iss: https://canvas.instructure.com for Canvas cloud.",
    )
    client_id = models.CharField(
        "Client ID",
        max_length=255,
        help_text="The developer key's client ID (the id_token's aud).",
    )
    deployment_id = models.CharField(
        "Deployment ID",
        max_length=255,
        help_text="The deployment ID Canvas shows for the installed tool.",
    )
    auth_login_url = models.URLField(
        "Sign-in (OIDC) URL",
        max_length=500,
        help_text="OIDC authorization endpoint (…/api/lti/authorize_redirect).",
    )
    auth_token_url = models.URLField(
        "Token URL", max_length=500, help_text="OAuth2 token endpoint (…/login/oauth2/token)."
    )
    key_set_url = models.URLField(
        "Key set (JWKS) URL",
        max_length=500,
        help_text="The platform's public JWKS (…/api/lti/security/jwks).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "LTI platform"
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "client_id"], name="ltiplatform_unique_issuer_client"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district.slug}: {self.issuer} ({self.client_id})"


class LtiKey(models.Model):
    """One RSA key pair of the tool for a registration. The private half is encrypted."""

    platform = models.ForeignKey(LtiPlatform, on_delete=models.CASCADE, related_name="keys")
    kid = models.CharField(max_length=64)
    private_key_pem = EncryptedTextField()
    public_key_pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a newer key replaced it; a retired key leaves the JWKS at the next rotation.
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "LTI key"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kid"], name="ltikey_unique_kid"),
            models.UniqueConstraint(
                fields=["platform"],
                condition=Q(retired_at__isnull=True),
                name="ltikey_one_current_per_platform",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({'retired' if self.retired_at else 'current'})"
