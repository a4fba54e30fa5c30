"""Forms for the intake page, the admin and two-factor sign-in.

Secret fields are write-only everywhere: rendered empty, never pre-filled, and a blank
submission means "keep what is stored".
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django_otp.forms import OTPTokenForm

from tenants.labels import DISTRICT_FIELD_LABELS
from tenants.models import SECRET_FIELDS, District
from tenants.services.districts import (
    URL_FIELDS,
    district_option_fields,
    mask_secret,
)
from tenants.services.validation import UrlKind, timezone_validate, upstream_url_validate

VENDOR_PAIR_INCOMPLETE = "Enter both the vendor key and the vendor secret, or neither."
OTP_STEP_UP_REQUIRED = "Enter a current code from your authenticator app to change secrets."
OTP_STEP_UP_INVALID = "That code is not valid (each code works once). Wait for the next one."


def _secret_input() -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


class IntakeForm(forms.Form):
    """What a district's IT contact enters on the one-time intake page."""

    oneroster_base_url = forms.CharField(
        label="OneRoster 1.1 base URL",
        max_length=500,
        help_text="Ends with /ims/oneroster/v1p1. Copy it from Campus.",
        widget=forms.URLInput(attrs={"autocomplete": "off"}),
    )
    oneroster_token_url = forms.CharField(
        label="Token URL",
        max_length=500,
        help_text="Includes ?appName=…",
        widget=forms.URLInput(attrs={"autocomplete": "off"}),
    )
    oneroster_client_id = forms.CharField(
        label="Client key", max_length=300, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    oneroster_client_secret = forms.CharField(
        label="Client secret", max_length=1000, widget=_secret_input()
    )
    oneroster_vendor_key = forms.CharField(
        label="Gradebook vendor key (optional)",
        max_length=1000,
        required=False,
        help_text="Only if your district holds its own gradebook partner key.",
        widget=_secret_input(),
    )
    oneroster_vendor_secret = forms.CharField(
        label="Gradebook vendor secret (optional)",
        max_length=1000,
        required=False,
        widget=_secret_input(),
    )

    def clean_oneroster_base_url(self) -> str:
        return upstream_url_validate(
            self.cleaned_data["oneroster_base_url"], kind=UrlKind.ONEROSTER_BASE
        )

    def clean_oneroster_token_url(self) -> str:
        return upstream_url_validate(
            self.cleaned_data["oneroster_token_url"], kind=UrlKind.ONEROSTER_TOKEN
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if bool(cleaned.get("oneroster_vendor_key")) != bool(
            cleaned.get("oneroster_vendor_secret")
        ):
            raise ValidationError(VENDOR_PAIR_INCOMPLETE, code="vendor_pair")
        return cleaned

    def credential_values(self) -> dict[str, str]:
        """The submitted values, without the optional ones left blank."""
        return {name: value for name, value in self.cleaned_data.items() if value}


def _clean_upstream_fields(form: forms.Form, names: list[str] | tuple[str, ...]) -> None:
    for name in names:
        value = form.cleaned_data.get(name)
        if name in URL_FIELDS and value:
            try:
                form.cleaned_data[name] = upstream_url_validate(value, kind=URL_FIELDS[name])
            except ValidationError as exc:
                form.add_error(name, exc)
    if form.cleaned_data.get("timezone"):
        try:
            timezone_validate(form.cleaned_data["timezone"])
        except ValidationError as exc:
            form.add_error("timezone", exc)


def _url_field(label: str) -> forms.CharField:
    # A CharField: the upstream rules (https, path, address) live in upstream_url_validate.
    return forms.CharField(
        label=label, max_length=500, required=False, widget=forms.URLInput(attrs={"size": 80})
    )


class DistrictOptionsForm(forms.ModelForm):
    """Every non-secret setting. Saved through ``district_update`` by the admin."""

    oneroster_base_url = _url_field(DISTRICT_FIELD_LABELS["oneroster_base_url"])
    oneroster_token_url = _url_field(DISTRICT_FIELD_LABELS["oneroster_token_url"])
    canvas_base_url = _url_field(DISTRICT_FIELD_LABELS["canvas_base_url"])

    class Meta:
        model = District
        fields = district_option_fields()
        labels = DISTRICT_FIELD_LABELS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _clean_upstream_fields(self, list(self.fields))
        return cleaned


class DistrictCreateForm(forms.ModelForm):
    """The few fields a new district needs; credentials come later (intake link or form)."""

    canvas_base_url = _url_field("Canvas URL")

    class Meta:
        model = District
        fields = (
            "name",
            "slug",
            "canvas_base_url",
            "canvas_account_id",
            "term_mode",
            "timezone",
            "notification_emails",
        )
        labels = DISTRICT_FIELD_LABELS
        help_texts = {
            "slug": "A short name for addresses and file names, e.g. cedar-valley: lower-case "
            "letters, digits and dashes; it cannot change later.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _clean_upstream_fields(self, list(self.fields))
        return cleaned


class OtpStepUpMixin:
    """A fresh second-factor code before secrets change (ASVS 3.7.1), when OTP is required.

    The code is checked against the device that verified this session; TOTP refuses a code
    it has already accepted, so a code seen over someone's shoulder at sign-in is useless.
    """

    def add_otp_field(self, user) -> None:
        self.user = user
        if settings.OTP_REQUIRED:
            self.fields["otp_token"] = forms.CharField(
                label="Authenticator code",
                max_length=16,
                widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
            )

    def clean_otp_token(self) -> str:
        token = self.cleaned_data.get("otp_token", "").strip()
        device = getattr(self.user, "otp_device", None)
        if not token or device is None:
            raise ValidationError(OTP_STEP_UP_REQUIRED, code="otp_required")
        if not device.verify_token(token):
            raise ValidationError(OTP_STEP_UP_INVALID, code="otp_invalid")
        return token


class DistrictCredentialsForm(OtpStepUpMixin, forms.Form):
    """Replace a district's secrets. Shows only the last 4 characters of what is stored."""

    oneroster_client_secret = forms.CharField(
        label="OneRoster client secret", required=False, widget=_secret_input()
    )
    oneroster_vendor_key = forms.CharField(
        label="Gradebook vendor key (district override)", required=False, widget=_secret_input()
    )
    oneroster_vendor_secret = forms.CharField(
        label="Gradebook vendor secret (district override)",
        required=False,
        widget=_secret_input(),
    )
    clear_vendor_override = forms.BooleanField(
        label="Remove the district's vendor key override (use the partner key)", required=False
    )
    canvas_token = forms.CharField(label="Canvas API token", required=False, widget=_secret_input())
    credentials_received_on = forms.DateField(
        label="OneRoster key received on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    credentials_expire_on = forms.DateField(
        label="OneRoster key expires on",
        required=False,
        help_text="Blank with a new client secret: one year from today.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, district: District, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.district = district
        for name in SECRET_FIELDS:
            current = mask_secret(getattr(district, name))
            self.fields[name].help_text = (
                f"Stored: {current}. Leave blank to keep it." if current else "Not set."
            )
        self.fields["credentials_received_on"].initial = district.credentials_received_on
        self.fields["credentials_expire_on"].initial = district.credentials_expire_on
        self.add_otp_field(user)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("clear_vendor_override") and bool(
            cleaned.get("oneroster_vendor_key")
        ) != bool(cleaned.get("oneroster_vendor_secret")):
            raise ValidationError(VENDOR_PAIR_INCOMPLETE, code="vendor_pair")
        return cleaned

    def credential_values(self) -> dict[str, Any]:
        """Only what the person changed: blank secrets and unchanged dates are left out."""
        data = self.cleaned_data
        values: dict[str, Any] = {name: data[name] for name in SECRET_FIELDS if data.get(name)}
        if data.get("clear_vendor_override"):
            values["oneroster_vendor_key"] = None
            values["oneroster_vendor_secret"] = None
        for name in ("credentials_received_on", "credentials_expire_on"):
            # A blank date is "not given", so a new secret gets fresh default dates.
            if data.get(name) and data[name] != getattr(self.district, name):
                values[name] = data[name]
        return values


class PartnerCredentialForm(OtpStepUpMixin, forms.Form):
    """The deployment-wide gradebook vendor key, write-only."""

    vendor_key = forms.CharField(label="Vendor key", widget=_secret_input())
    vendor_secret = forms.CharField(label="Vendor secret", widget=_secret_input())

    def __init__(self, *args: Any, current_key: str | None, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        masked = mask_secret(current_key)
        self.fields["vendor_key"].help_text = f"Stored: {masked}." if masked else "Not set."
        self.add_otp_field(user)


class OtpTokenField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Authenticator code")
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
            ),
        )
        super().__init__(**kwargs)


class OtpEnrollForm(forms.Form):
    otp_token = OtpTokenField(help_text="The 6-digit code your app shows for this account.")


class OtpVerifyForm(OTPTokenForm):
    """django-otp's token form (throttling, failure signal), preset to the user's first device."""

    def __init__(self, user, request=None, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, request, *args, **kwargs)
        devices = [choice for choice in self.fields["otp_device"].choices if choice[0]]
        self.fields["otp_device"].label = "Device"
        if devices:
            self.fields["otp_device"].initial = devices[0][0]
        if len(devices) == 1:
            self.fields["otp_device"].widget = forms.HiddenInput()
        self.fields["otp_token"] = OtpTokenField(required=False)
        self.fields["otp_challenge"].widget = forms.HiddenInput()
