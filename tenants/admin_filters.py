"""Admin list filters that respect district scoping: a staff member assigned to some districts
is offered only those in a "By district" filter, as in the console's own filters."""

from __future__ import annotations

from django.contrib import admin

from tenants import permissions
from tenants.models import District


class AssignedDistrictFilter(admin.RelatedFieldListFilter):
    """Django's related-field filter lists every district; this one lists the visible ones."""

    def field_choices(self, field, request, model_admin):
        districts = permissions.scoped(request.user, District.objects.order_by("name"))
        return [(district.pk, str(district)) for district in districts.only("pk", "name")]
