"""Console forms. District settings, creation and credentials reuse the admin's forms
(``tenants.forms``): one set of validation rules for both places."""

from __future__ import annotations

from django import forms

from tenants.forms import DistrictCreateForm, DistrictCredentialsForm, DistrictOptionsForm
from tenants.labels import DISTRICT_SETTINGS_GROUPS

__all__ = [
    "ConflictResolveForm",
    "DistrictCreateForm",
    "DistrictCredentialsForm",
    "DistrictOptionsForm",
    "settings_groups",
]

#: Groups shown open on the district page; the others open when one of their fields has
#: an error.
OPEN_GROUPS = ("District", "Terms and mapping", "Schedule")


def settings_groups(form: forms.Form) -> list[tuple[str, str, list[forms.BoundField], bool]]:
    """The form's fields in ``DISTRICT_SETTINGS_GROUPS`` order (the admin's too), each group
    with whether it starts open; fields no group names go last."""
    placed: set[str] = set()
    groups = []
    for title, help_text, names in DISTRICT_SETTINGS_GROUPS:
        fields = [form[name] for name in names if name in form.fields]
        placed.update(names)
        open_ = title in OPEN_GROUPS or any(field.errors for field in fields)
        groups.append((title, help_text, fields, open_))
    rest = [form[name] for name in form.fields if name not in placed]
    if rest:
        groups.append(("Other", "", rest, True))
    return groups


class ConflictResolveForm(forms.Form):
    note = forms.CharField(
        label="Resolution note",
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "e.g. fixed in Campus, re-check tonight"}),
    )
