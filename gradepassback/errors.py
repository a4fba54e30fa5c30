"""Typed passback errors and the messages people read (tests assert on the constants)."""

from __future__ import annotations

from runs.services.lifecycle import SyncRunError

#: What a run says when the SIS refuses the gradebook vendor key (x-vendor-authorization).
VENDOR_KEY_REFUSED = "the SIS refused the gradebook vendor key"
PASSBACK_DISABLED = "Grade passback is off for district {district} (passback_enabled)."
COURSE_NOT_PROVISIONED = "{course} is not a course this service provisioned for {district}."
COURSE_NOT_IN_CANVAS = "Canvas has no course with SIS id {course}."
COURSES_FAILED = "{failed} of {total} courses failed; first: {course}: {error}"
CANCELLED_BY_RUN = "The run stopped before this course: {error}"


class PassbackError(SyncRunError):
    """Base class of passback errors (a run error: the launcher's callers catch one type)."""


class PassbackDisabled(PassbackError):
    """The district has passback turned off."""


class CourseNotProvisioned(PassbackError):
    """The course SIS id is not one of the district's provisioned courses."""


class CourseUnavailable(PassbackError):
    """The course cannot be passed back this time (e.g. Canvas does not have it)."""


class RunStopped(PassbackError):
    """The run failed or was closed while this worker worked on one of its courses."""
