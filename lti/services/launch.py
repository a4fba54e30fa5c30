"""From a validated LTI launch to the teacher's view: who, which course, which role.

The launch's claims are read tolerantly: the SIS user id from ``lis.person_sourcedid``,
else the custom ``sis_user_id`` (``$Canvas.user.sisIntegrationId``); the course from the
custom ``sis_course_id`` (``$Canvas.course.sisSourceId``), else
``lis.course_offering_sourcedid``. Canvas sends a variable's own name when it cannot
fill it in (a user or course without SIS id), so such values count as absent.

The session the page runs on is a short-lived signed launch token (``LaunchSession``),
carried in the page's URL and forms, never in a cookie: Canvas shows the tool in an
iframe, where the browser may refuse third-party cookies.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping
from typing import Any

from django.core import signing

from provisioning.selectors import canvas_course_sis_ids, canvas_user_sourced_id
from tenants.models import District

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
#: How long a Grade sync page works after its launch; then the teacher launches again.
LAUNCH_TOKEN_SECONDS = 3600
LAUNCH_SALT = "lti.launch"
CSRF_SALT = "lti.sync-now"

ROLE_TEACHER = "teacher"
ROLE_TA = "ta"

# Refusals, in a teacher's words (tests assert on them).
NOT_TEACHER = (
    "Grade sync is for the course's teachers and TAs. Your role in this course does not "
    "allow it; ask the course's teacher."
)
NO_SIS_USER = (
    "Canvas did not send your SIS id (lis person_sourcedid or $Canvas.user.sisIntegrationId), "
    "so this service cannot tell who you are in the SIS. Ask the district's Canvas admin to "
    "check the tool's privacy level."
)
UNKNOWN_SIS_USER = (
    "Your SIS id {sis_user_id} is not a user this service provisioned for {district}."
)
NO_SIS_COURSE = (
    "This Canvas course has no SIS id, so it did not come from the SIS and has no grades "
    "to send there."
)
COURSE_NOT_PROVISIONED = (
    "Course {course} was not provisioned by this service for {district}, so its grades "
    "are not sent to the SIS from here."
)


class LaunchRefused(Exception):
    """The launch is genuine but may not open the page; ``str()`` says why to the person."""

    def __init__(self, message: str, *, title: str = "Grade sync is not available") -> None:
        super().__init__(message)
        self.title = title


@dataclasses.dataclass(frozen=True, slots=True)
class LaunchSession:
    """What the page needs from its launch; signed into the launch token."""

    district_id: int
    sis_course_id: str
    user_sourced_id: str
    sis_user_id: str
    role: str
    name: str
    subject: str
    issuer: str
    course_title: str = ""

    @property
    def identity(self) -> str:
        """Who the teacher is, for the audit log: LTI subject and SIS id, and the name."""
        name = f"{self.name} " if self.name else ""
        return f"LTI {self.role} {name}(sub {self.subject}, SIS {self.sis_user_id})"[:150]


def _filled(value: Any) -> str:
    text = str(value or "").strip()
    return "" if text.startswith("$Canvas.") else text


def claims_sis_user_id(claims: Mapping[str, Any]) -> str:
    lis = claims.get(CLAIM + "lis") or {}
    custom = claims.get(CLAIM + "custom") or {}
    return (
        _filled(lis.get("person_sourcedid"))
        or _filled(custom.get("sis_user_id"))
        or _filled(custom.get("sis_user_source_id"))
    )


def claims_sis_course_id(claims: Mapping[str, Any]) -> str:
    lis = claims.get(CLAIM + "lis") or {}
    custom = claims.get(CLAIM + "custom") or {}
    return _filled(custom.get("sis_course_id")) or _filled(lis.get("course_offering_sourcedid"))


def launch_session_build(
    *, district: District, claims: Mapping[str, Any], is_teacher: bool, is_ta: bool
) -> LaunchSession:
    """The page's session for a validated launch, or ``LaunchRefused`` saying why not."""
    if not (is_teacher or is_ta):
        raise LaunchRefused(NOT_TEACHER, title="Only teachers and TAs can sync grades")
    sis_user_id = claims_sis_user_id(claims)
    if not sis_user_id:
        raise LaunchRefused(NO_SIS_USER)
    sourced_id = canvas_user_sourced_id(district=district, sis_user_id=sis_user_id)
    if sourced_id is None:
        raise LaunchRefused(
            UNKNOWN_SIS_USER.format(sis_user_id=sis_user_id, district=district.name)
        )
    sis_course_id = claims_sis_course_id(claims)
    if not sis_course_id:
        raise LaunchRefused(NO_SIS_COURSE, title="This course is not from the SIS")
    if not canvas_course_sis_ids(district=district, course_sis_ids=[sis_course_id]):
        raise LaunchRefused(
            COURSE_NOT_PROVISIONED.format(course=sis_course_id, district=district.name),
            title="This course is not provisioned",
        )
    context = claims.get(CLAIM + "context") or {}
    return LaunchSession(
        district_id=district.pk,
        sis_course_id=sis_course_id,
        user_sourced_id=sourced_id,
        sis_user_id=sis_user_id,
        role=ROLE_TEACHER if is_teacher else ROLE_TA,
        name=str(claims.get("name") or "")[:100],
        subject=str(claims.get("sub") or "")[:100],
        issuer=str(claims.get("iss") or ""),
        course_title=str(context.get("title") or "")[:200],
    )


def launch_token_issue(session: LaunchSession) -> str:
    return signing.dumps(dataclasses.asdict(session), salt=LAUNCH_SALT, compress=True)


def launch_token_read(token: str) -> LaunchSession | None:
    """The session of a genuine, unexpired token; ``None`` otherwise."""
    try:
        data = signing.loads(token, salt=LAUNCH_SALT, max_age=LAUNCH_TOKEN_SECONDS)
        return LaunchSession(**data)
    except (signing.BadSignature, TypeError):
        return None


def sync_csrf_token(token: str) -> str:
    """The Sync now form's CSRF value: a keyed hash of the launch token. A cross-site page
    cannot read the launch token (it is in the tool's own page only), so it cannot post."""
    return signing.Signer(salt=CSRF_SALT).signature(token)


def sync_csrf_check(token: str, value: str) -> bool:
    return hmac.compare_digest(sync_csrf_token(token), value or "")
