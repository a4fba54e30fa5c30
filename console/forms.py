"""Console forms. District settings, creation and credentials reuse the admin's forms
(``tenants.forms``): one set of validation rules for both places."""

from __future__ import annotations

from django import forms

from tenants.forms import DistrictCreateForm, DistrictCredentialsForm, DistrictOptionsForm

__all__ = [
    "SETTINGS_GROUPS",
    "ConflictResolveForm",
    "DistrictCreateForm",
    "DistrictCredentialsForm",
    "DistrictOptionsForm",
    "settings_groups",
]

#: How the settings form is laid out on the district page: (title, help, field names).
SETTINGS_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "District",
        "Paused districts keep their data; their schedules stop.",
        ("name", "status", "notification_emails"),
    ),
    (
        "Terms and mapping",
        "Changing the term mode moves courses between Canvas terms; you will see what it "
        "would do before it is saved.",
        (
            "term_mode",
            "user_id_source",
            "login_source",
            "user_drop_status",
            "enrollment_drop_status",
            "publish_courses_on_create",
            "observers_enabled",
        ),
    ),
    (
        "Schedule",
        "Times are in the district's time zone.",
        ("timezone", "delta_time", "full_sync_weekday", "passback_schedule"),
    ),
    (
        "OneRoster source",
        "Usually filled in by the district through an intake link.",
        (
            "oneroster_base_url",
            "oneroster_token_url",
            "oneroster_auth_method",
            "oneroster_client_id",
            "oneroster_concurrency",
            "credentials_received_on",
            "credentials_expire_on",
        ),
    ),
    (
        "Canvas target",
        "The root account; school sub-accounts go under the parent account.",
        ("canvas_base_url", "canvas_account_id", "canvas_parent_account_id"),
    ),
    (
        "Safety guards",
        "A plan that drops more than these shares, or a read where more than the validation "
        "share of a collection fails OneRoster validation, is held for approval.",
        (
            "guard_users_drop_pct",
            "guard_courses_drop_pct",
            "guard_sections_drop_pct",
            "guard_enrollments_drop_pct",
            "guard_school_drop_pct",
            "guard_school_min_count",
            "guard_max_user_removals",
            "guard_validation_pct",
            "guard_validation_min_count",
            "guard_first_write",
        ),
    ),
    (
        "Grade passback",
        "Off until the district turns it on.",
        (
            "passback_enabled",
            "passback_all_graded",
            "lineitem_title_limit",
            "title_overflow",
            "send_missing_as_not_submitted",
            "only_posted_grades",
            "delete_unflagged_lineitems",
            "course_grade_mode",
            "grading_task_title",
        ),
    ),
)


#: Groups shown open on the district page; the others open when one of their fields has
#: an error.
OPEN_GROUPS = ("District", "Terms and mapping", "Schedule")


def settings_groups(form: forms.Form) -> list[tuple[str, str, list[forms.BoundField], bool]]:
    """The form's fields in ``SETTINGS_GROUPS`` order, each group with whether it starts
    open; fields no group names go last."""
    placed: set[str] = set()
    groups = []
    for title, help_text, names in SETTINGS_GROUPS:
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
