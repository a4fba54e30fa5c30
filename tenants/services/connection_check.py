"""The connection check: can we reach the district's SIS and Canvas with what we hold?

Steps run in a fixed order; each ends ok, failed or skipped (``ok=None``) with a reason a
person can act on. A step that depends on a failed one is skipped rather than reported as a
second, confusing failure. The OneRoster and Canvas halves are independent of each other.
Reasons are written here from the error *type*: upstream error messages and bodies never
reach a person, a log line or the database, so a secret an upstream echoes cannot leak.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from integration.canvas.errors import CanvasNotAnApi
from integration.http.errors import (
    RestrictedAddress,
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamNotFound,
    UpstreamPermissionDenied,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from integration.oneroster.errors import OneRosterNotAnApi, VendorKeyRejected
from tenants.models import AuditEvent, District
from tenants.services.audit import audit_record
from tenants.services.clients import district_canvas_client, district_oneroster_client

if TYPE_CHECKING:
    import datetime as dt

    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# Step names, in order. Stored with the result, so keep them stable.
STEP_ONEROSTER_AUTH = "oneroster_auth"
STEP_ONEROSTER_ORG = "oneroster_org"
STEP_ONEROSTER_SESSION = "oneroster_session"
STEP_ONEROSTER_GRADEBOOK = "oneroster_gradebook"
STEP_CANVAS_TOKEN = "canvas_token"  # noqa: S105
STEP_CANVAS_ROOT_ACCOUNT = "canvas_root_account"
STEP_CANVAS_SIS_IMPORT = "canvas_sis_import"

STEP_TITLES = {
    STEP_ONEROSTER_AUTH: "OneRoster sign-in",
    STEP_ONEROSTER_ORG: "Read one org",
    STEP_ONEROSTER_SESSION: "Read one academic session",
    STEP_ONEROSTER_GRADEBOOK: "Gradebook access (categories)",
    STEP_CANVAS_TOKEN: "Canvas API token",
    STEP_CANVAS_ROOT_ACCOUNT: "Canvas root account",
    STEP_CANVAS_SIS_IMPORT: "Canvas SIS import permission",
}

ONEROSTER_NOT_CONFIGURED = (
    "No OneRoster connection yet: send the district an intake link, or set the base URL, "
    "token URL, client key and client secret."
)
CANVAS_NOT_CONFIGURED = "No Canvas connection yet: set the Canvas URL, root account id and token."
SKIPPED_AFTER_FAILURE = "Not run: fix the step above first."
GRADEBOOK_NO_VENDOR_KEY = (
    "Skipped: no gradebook vendor key (neither the deployment's partner key nor a district "
    "override), so grade passback cannot run."
)
GRADEBOOK_VENDOR_KEY_REFUSED = (
    "The SIS refused the gradebook vendor key: check the partner key and secret, and that the "
    "district's connection is a Grade Book Sync connection."
)
ONEROSTER_AUTH_REFUSED = (
    "The SIS refused the client key and secret: check them in Campus (Digital Learning "
    "Applications Configuration); the secret may have expired or been renewed."
)
ONEROSTER_TOKEN_URL_NOT_FOUND = (
    "The token URL answered 404: copy the token URL, including ?appName=…, exactly from Campus."  # noqa: S105
)
ONEROSTER_BASE_URL_NOT_FOUND = (
    "The SIS has nothing at {path}: check the OneRoster base URL (it must be the 1.1 Base URL "
    "from Campus)."
)
ONEROSTER_FORBIDDEN = (
    "The SIS does not let this connection read {what}: check the connection's type and school "
    "scope in Campus."
)
ONEROSTER_EMPTY = "The SIS returned no {what}: the connection may be scoped to no schools."
CANVAS_TOKEN_REFUSED = (
    "Canvas refused the API token: it may be expired or deleted, or belong to another Canvas "  # noqa: S105
    "instance. Generate a new token for an account administrator."
)
CANVAS_ACCOUNT_NOT_FOUND = (
    "Canvas has no account {account} that this token can see: check the account id, and that "
    "the token belongs to an administrator of it."
)
CANVAS_ACCOUNT_FORBIDDEN = "The token's user is not an administrator of Canvas account {account}."
CANVAS_NOT_ROOT = (
    "Account {account} is a sub-account (its root account is {root}): enter the root account id."
)
GRADEBOOK_NOT_FOUND = (
    "The SIS has no gradebook endpoints at this base URL: grade passback needs a Grade Book "
    "Sync connection."
)
CANVAS_REFUSED_REQUEST = (
    "Canvas refused the request for account {account} (HTTP 400): SIS imports may be switched "
    "off for this account, or it is not a root account."
)
CANVAS_NO_SIS_IMPORT = (
    "The token's user may not run SIS imports: give the role the 'SIS Data - import' permission "
    "on the root account."
)


@dataclass(frozen=True)
class CheckStep:
    name: str
    ok: bool | None  # None: skipped
    reason: str

    @property
    def title(self) -> str:
        return STEP_TITLES.get(self.name, self.name)


@dataclass
class CheckReport:
    checked_at: dt.datetime
    steps: list[CheckStep] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every step that ran passed. A skipped gradebook step (no vendor key) is not a fail."""
        return all(step.ok is not False for step in self.steps)

    @property
    def first_failure(self) -> CheckStep | None:
        return next((s for s in self.steps if s.ok is False), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat(),
            "steps": [asdict(step) for step in self.steps],
        }


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _transport_reason(exc: UpstreamError, *, system: str, url: str) -> str | None:
    """Reasons shared by every step for errors about reaching the system at all."""
    host = _host(exc.url or url)
    if isinstance(exc, RestrictedAddress):
        return (
            f"{host} resolves to a private, loopback or link-local address; {system} must be "
            "reachable on the public internet."
        )
    if isinstance(exc, UpstreamTimeout):
        return f"{host} did not answer in time: {system} may be down or blocking our address."
    if isinstance(exc, UpstreamUnreachable):
        return (
            f"Could not connect to {host}: check the address, and that {system} accepts "
            "connections from this service."
        )
    if isinstance(exc, UpstreamRateLimited):
        return f"{system} is rate-limiting us: run the check again in a few minutes."
    if isinstance(exc, OneRosterNotAnApi | CanvasNotAnApi):
        return (
            f"{host} answered, but not the way {system} does: it sent a web page (a sign-in "
            f"page or a proxy's), so check that the address is {system}'s API."
        )
    if isinstance(exc, UpstreamProtocolError):
        return f"{host} answered, but not the way {system} does: check the address."
    return None


def _fallback_reason(exc: UpstreamError, *, system: str) -> str:
    if exc.status:
        return f"{system} answered with HTTP {exc.status}; try again later or check the address."
    return f"{system} could not be used ({type(exc).__name__}); try again later."


class _StepFailed(Exception):
    """A step got an answer, but the answer is wrong (e.g. a sub-account)."""


class _StepSkipped(Exception):
    """A step that does not apply to this district (e.g. gradebook without a vendor key)."""


Explain = Callable[[UpstreamError], str]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class _Step:
    name: str
    action: Callable[[], str]  # returns the success reason, or raises
    explain: Explain


def _run_chain(steps: list[_Step]) -> list[CheckStep]:
    """Run steps in order; after the first failure the rest are skipped."""
    results: list[CheckStep] = []
    failed = False
    for step in steps:
        if failed:
            results.append(CheckStep(step.name, None, SKIPPED_AFTER_FAILURE))
            continue
        try:
            results.append(CheckStep(step.name, True, step.action()))
        except _StepSkipped as exc:
            results.append(CheckStep(step.name, None, str(exc)))
        except _StepFailed as exc:
            results.append(CheckStep(step.name, False, str(exc)))
        except UpstreamError as exc:
            results.append(CheckStep(step.name, False, step.explain(exc)))
        failed = results[-1].ok is False
    return results


def _not_configured(names: list[str], reason: str) -> list[CheckStep]:
    first, *rest = names
    return [CheckStep(first, False, reason)] + [
        CheckStep(name, None, SKIPPED_AFTER_FAILURE) for name in rest
    ]


ONEROSTER_STEPS = [
    STEP_ONEROSTER_AUTH,
    STEP_ONEROSTER_ORG,
    STEP_ONEROSTER_SESSION,
    STEP_ONEROSTER_GRADEBOOK,
]
CANVAS_STEPS = [STEP_CANVAS_TOKEN, STEP_CANVAS_ROOT_ACCOUNT, STEP_CANVAS_SIS_IMPORT]


def _oneroster_configured(district: District) -> bool:
    return bool(
        district.oneroster_base_url
        and district.oneroster_token_url
        and district.oneroster_client_id
        and district.oneroster_client_secret
    )


def _canvas_configured(district: District) -> bool:
    return bool(district.canvas_base_url and district.canvas_account_id and district.canvas_token)


# --- OneRoster -------------------------------------------------------------------------------

SIS = "the SIS"


def _oneroster_explain_auth(district: District) -> Explain:
    def explain(exc: UpstreamError) -> str:
        if isinstance(exc, UpstreamAuthFailed | UpstreamPermissionDenied):
            return ONEROSTER_AUTH_REFUSED
        if isinstance(exc, UpstreamNotFound):
            return ONEROSTER_TOKEN_URL_NOT_FOUND
        return _transport_reason(
            exc, system=SIS, url=district.oneroster_token_url
        ) or _fallback_reason(exc, system=SIS)

    return explain


def _oneroster_explain_read(district: District, *, what: str, collection: str) -> Explain:
    def explain(exc: UpstreamError) -> str:
        if isinstance(exc, UpstreamAuthFailed):
            return ONEROSTER_AUTH_REFUSED
        if isinstance(exc, UpstreamPermissionDenied):
            return ONEROSTER_FORBIDDEN.format(what=what)
        if isinstance(exc, UpstreamNotFound):
            path = urlsplit(district.oneroster_base_url).path.rstrip("/") + "/" + collection
            return ONEROSTER_BASE_URL_NOT_FOUND.format(path=path)
        return _transport_reason(
            exc, system=SIS, url=district.oneroster_base_url
        ) or _fallback_reason(exc, system=SIS)

    return explain


def _oneroster_explain_gradebook(district: District) -> Explain:
    def explain(exc: UpstreamError) -> str:
        if isinstance(exc, VendorKeyRejected | UpstreamAuthFailed):
            return GRADEBOOK_VENDOR_KEY_REFUSED
        if isinstance(exc, UpstreamPermissionDenied):
            return ONEROSTER_FORBIDDEN.format(what="gradebook categories")
        if isinstance(exc, UpstreamNotFound):
            return GRADEBOOK_NOT_FOUND
        return _transport_reason(
            exc, system=SIS, url=district.oneroster_base_url
        ) or _fallback_reason(exc, system=SIS)

    return explain


def oneroster_check(district: District, *, sleep: Sleep) -> list[CheckStep]:
    """The OneRoster steps alone (also run against staged credentials, ``services.staging``)."""
    if not _oneroster_configured(district):
        return _not_configured(ONEROSTER_STEPS, ONEROSTER_NOT_CONFIGURED)
    client = district_oneroster_client(district, sleep=sleep)
    first_records: dict[str, Any] = {}

    def auth() -> str:
        if district.oneroster_auth_method == District.AuthMethod.OAUTH1:
            # OAuth 1.0a has no token: a signed read is the only proof the signature works.
            first_records["orgs"] = client.get_first("orgs")
            return "The SIS accepted our OAuth 1.0a (HMAC-SHA256) signature."
        client.fetch_token()
        return "The SIS issued an access token for the client key and secret."

    def read_first(collection: str, what: str) -> Callable[[], str]:
        def action() -> str:
            if collection in first_records:
                record = first_records[collection]
            else:
                record = client.get_first(collection)
            if record is None:
                raise _StepFailed(ONEROSTER_EMPTY.format(what=what + "s"))
            reasons = getattr(record, "reasons", None)
            if reasons is not None:
                # The connection works; the data problem will surface as a sync conflict.
                return f"Read one {what}; it has a data problem: {'; '.join(map(str, reasons))}"
            label = getattr(record, "name", None) or getattr(record, "title", None)
            return f"Read {what} {label}." if label else f"Read one {what}."

        return action

    def gradebook() -> str:
        if district.vendor_credentials() is None:
            raise _StepSkipped(GRADEBOOK_NO_VENDOR_KEY)
        categories = client.get_categories()
        return f"The SIS accepted the vendor key ({len(categories)} gradebook categories)."

    try:
        return _run_chain(
            [
                _Step(STEP_ONEROSTER_AUTH, auth, _oneroster_explain_auth(district)),
                _Step(
                    STEP_ONEROSTER_ORG,
                    read_first("orgs", "org"),
                    _oneroster_explain_read(district, what="orgs", collection="orgs"),
                ),
                _Step(
                    STEP_ONEROSTER_SESSION,
                    read_first("academicSessions", "academic session"),
                    _oneroster_explain_read(
                        district, what="academic sessions", collection="academicSessions"
                    ),
                ),
                _Step(STEP_ONEROSTER_GRADEBOOK, gradebook, _oneroster_explain_gradebook(district)),
            ]
        )
    finally:
        client.close()


# --- Canvas ----------------------------------------------------------------------------------

CANVAS = "Canvas"


def _canvas_explain(district: District, *, refused: str, forbidden: str) -> Explain:
    account = district.canvas_account_id

    def explain(exc: UpstreamError) -> str:
        if isinstance(exc, UpstreamAuthFailed):
            return refused.format(account=account)
        if isinstance(exc, UpstreamPermissionDenied):
            return forbidden.format(account=account)
        if isinstance(exc, UpstreamNotFound):
            return CANVAS_ACCOUNT_NOT_FOUND.format(account=account)
        if exc.status == 400:
            return CANVAS_REFUSED_REQUEST.format(account=account)
        return _transport_reason(
            exc, system=CANVAS, url=district.canvas_base_url
        ) or _fallback_reason(exc, system=CANVAS)

    return explain


def _canvas_check(district: District, *, sleep: Sleep) -> list[CheckStep]:
    if not _canvas_configured(district):
        return _not_configured(CANVAS_STEPS, CANVAS_NOT_CONFIGURED)
    client = district_canvas_client(district, sleep=sleep)
    account_id = district.canvas_account_id

    def token() -> str:
        user = client.get_self()
        name = user.get("name") or user.get("short_name")
        return f"The token works (it acts as {name})." if name else "The token works."

    def root_account() -> str:
        account = client.get_account(account_id)
        root = account.get("root_account_id")
        if root is not None:
            raise _StepFailed(CANVAS_NOT_ROOT.format(account=account_id, root=root))
        return f"Account {account_id} ({account.get('name', 'unnamed')}) is a root account."

    def sis_import() -> str:
        if not client.can_import_sis(account_id):
            raise _StepFailed(CANVAS_NO_SIS_IMPORT)
        return "The token's user may run SIS imports on the root account."

    try:
        return _run_chain(
            [
                _Step(
                    STEP_CANVAS_TOKEN,
                    token,
                    _canvas_explain(
                        district, refused=CANVAS_TOKEN_REFUSED, forbidden=CANVAS_TOKEN_REFUSED
                    ),
                ),
                _Step(
                    STEP_CANVAS_ROOT_ACCOUNT,
                    root_account,
                    _canvas_explain(
                        district, refused=CANVAS_TOKEN_REFUSED, forbidden=CANVAS_ACCOUNT_FORBIDDEN
                    ),
                ),
                _Step(
                    STEP_CANVAS_SIS_IMPORT,
                    sis_import,
                    _canvas_explain(
                        district, refused=CANVAS_TOKEN_REFUSED, forbidden=CANVAS_NO_SIS_IMPORT
                    ),
                ),
            ]
        )
    finally:
        client.close()


# --- the service -----------------------------------------------------------------------------


def district_check(
    *,
    district: District,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "system",
    sleep: Sleep = time.sleep,
) -> CheckReport:
    """Run every step against the district's SIS and Canvas; store and audit the result.

    Network calls happen outside any transaction; only the result is written, in one short
    transaction with its ``district.check_run`` audit row. Transient failures are retried by
    the clients' usual policy; ``sleep`` is their backoff (tests pass a no-op).
    """
    report = CheckReport(checked_at=timezone.now())
    report.steps.extend(oneroster_check(district, sleep=sleep))
    report.steps.extend(_canvas_check(district, sleep=sleep))
    for step in report.steps:
        logger.info(
            "connection check %s %s: %s",
            district.slug,
            step.name,
            {True: "ok", False: "FAILED", None: "skipped"}[step.ok],
        )
    with transaction.atomic():
        locked = District.objects.select_for_update().get(pk=district.pk)
        before = locked.last_check_ok
        locked.last_check_at = report.checked_at
        locked.last_check_ok = report.ok
        locked.last_check_steps = [asdict(step) for step in report.steps]
        locked.save(update_fields=["last_check_at", "last_check_ok", "last_check_steps"])
        failure = report.first_failure
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action=AuditEvent.Action.CHECK_RUN,
            district=locked,
            target=f"failed at {failure.name}" if failure else "all steps passed",
            changes={"ok": [before, report.ok]},
        )
    district.last_check_at = locked.last_check_at
    district.last_check_ok = locked.last_check_ok
    district.last_check_steps = locked.last_check_steps
    return report
