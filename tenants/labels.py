"""How district settings are named and grouped for people: one place for the console, the
admin and the audit trail, so a setting reads the same everywhere.

Labels use sentence case and spell the products as they spell themselves ("OneRoster",
"Canvas", "ID").
"""

from __future__ import annotations

DISTRICT_FIELD_LABELS: dict[str, str] = {
    "slug": "Slug",
    "name": "Name",
    "status": "Status",
    "notification_emails": "Notification e-mail addresses",
    "oneroster_base_url": "OneRoster base URL",
    "oneroster_token_url": "OneRoster token URL",
    "oneroster_auth_method": "OneRoster sign-in method",
    "oneroster_client_id": "OneRoster client ID",
    "oneroster_client_secret": "OneRoster client secret",
    "oneroster_vendor_key": "Gradebook vendor key (district override)",
    "oneroster_vendor_secret": "Gradebook vendor secret (district override)",
    "oneroster_concurrency": "OneRoster requests at a time",
    "canvas_base_url": "Canvas URL",
    "canvas_account_id": "Canvas account ID",
    "canvas_token": "Canvas API token",
    "canvas_parent_account_id": "Canvas parent account ID",
    "term_mode": "Term mode",
    "user_id_source": "User ID source",
    "login_source": "Login source",
    "user_drop_status": "What a dropped user becomes",
    "enrollment_drop_status": "What a dropped enrollment becomes",
    "publish_courses_on_create": "Publish courses when they are created",
    "observers_enabled": "Send observers (parents)",
    "timezone": "Time zone",
    "delta_time": "Nightly delta sync at",
    "full_sync_weekday": "Weekly full sync on",
    "passback_schedule": "Grade passback schedule",
    "guard_users_drop_pct": "Hold if more users than this share are dropped (%)",
    "guard_courses_drop_pct": "Hold if more courses than this share are dropped (%)",
    "guard_sections_drop_pct": "Hold if more sections than this share are dropped (%)",
    "guard_enrollments_drop_pct": "Hold if more enrollments than this share are dropped (%)",
    "guard_school_drop_pct": "Hold if one school loses more than this share (%)",
    "guard_school_min_count": "Smallest school the school guard looks at",
    "guard_max_user_removals": "Hold if more users than this are removed",
    "guard_first_write": "Hold the first write into Canvas for approval",
    "guard_validation_pct": "Hold if more records than this share fail validation (%)",
    "guard_validation_min_count": "Smallest collection the validation guard looks at",
    "passback_enabled": "Grade passback on",
    "passback_all_graded": "Send every graded assignment",
    "lineitem_title_limit": "Longest assignment title the SIS accepts",
    "title_overflow": "When a title is too long",
    "send_missing_as_not_submitted": "Send missing work as not submitted",
    "only_posted_grades": "Send only posted grades",
    "delete_unflagged_lineitems": "Delete assignments no longer flagged for the SIS",
    "course_grade_mode": "Course grade mode",
    "grading_task_title": "Grading task title",
    "credentials_received_on": "OneRoster key received on",
    "credentials_expire_on": "OneRoster key expires on",
    "last_check_at": "Last connection check",
    "last_check_ok": "Connection check passing",
}

#: How the settings form is laid out, in the console and the admin: (title, help, fields).
DISTRICT_SETTINGS_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
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


def district_field_label(name: str) -> str:
    """The words for a district setting; an unknown name reads as a sentence of its parts."""
    if name in DISTRICT_FIELD_LABELS:
        return DISTRICT_FIELD_LABELS[name]
    return name.replace("_", " ").strip().capitalize()
