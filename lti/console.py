"""The console's LTI page of a district: its Canvas registration (editable) and the
configuration JSON to paste into Canvas's developer key.

The console's rules, through ``tenants.permissions`` (the one permission check the console
and the admin share): active staff with a verified second factor when ``OTP_REQUIRED``;
seeing the page needs ``view_districts``, saving ``change_district``; a district the staff
member is not assigned to does not exist for them.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from console.access import staff_gate
from lti.models import LtiPlatform
from lti.services.platforms import (
    PLATFORM_FIELDS,
    canvas_platform_urls,
    canvas_tool_config,
    lti_platform_save,
)
from tenants import permissions
from tenants.models import District


class PlatformForm(forms.ModelForm):
    class Meta:
        model = LtiPlatform
        fields = PLATFORM_FIELDS


@never_cache
def platform_page(request: HttpRequest, slug: str) -> HttpResponse:
    if (detour := staff_gate(request)) is not None:
        return detour
    user = request.user
    permissions.require(user, "view_districts")
    district = District.objects.filter(slug=slug).first()
    if district is None or not permissions.district_visible(user, district):
        raise Http404("No such district.")
    platform = LtiPlatform.objects.filter(district=district).first()
    if request.method == "POST":
        permissions.require(user, "change_district")
        form = PlatformForm(request.POST, instance=platform)
        if form.is_valid():
            try:
                lti_platform_save(
                    district=district,
                    actor=request.user,
                    values={name: form.cleaned_data[name] for name in PLATFORM_FIELDS},
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "LTI registration saved.")
                return redirect("lti:console", slug=district.slug)
    else:
        initial = {} if platform else canvas_platform_urls(district.canvas_base_url or "")
        form = PlatformForm(instance=platform, initial=initial)
    context = {
        "section": "districts",
        "district": district,
        "platform": platform,
        "form": form,
        "keys": platform.keys.all() if platform else [],
        "config_json": json.dumps(canvas_tool_config(district), indent=2),
    }
    return render(request, "lti/console.html", context)
