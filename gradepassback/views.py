"""The HTTP trigger: ``POST /api/passback/<slug>/courses/<sis_course_id>``.

For a Canvas-side "sync grades" button (or any district script): authenticated by the
district's passback trigger token as ``Authorization: Bearer <token>``, it queues a
passback of that one course through Celery and answers 202 with the run id. ``?full=1``
reads every score and re-sends what the SIS refused earlier (e.g. once a grading window
opened); otherwise only what changed is sent. The token is
per district; the course must be one the service provisioned. Unknown districts and bad
tokens get the same 401, so the endpoint does not reveal which slugs exist.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gradepassback.errors import CourseNotProvisioned, PassbackDisabled
from gradepassback.services.tokens import passback_trigger_token_check
from runs.models import SyncRun
from runs.services.launch import StartRefused, start_run
from runs.services.lifecycle import SyncRunAlreadyActive
from tenants.models import District

UNAUTHORIZED = "A valid passback trigger token is required (Authorization: Bearer …)."


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@csrf_exempt
@require_POST
def course_passback_trigger(request: HttpRequest, slug: str, sis_course_id: str) -> JsonResponse:
    district = District.objects.filter(slug=slug).first()
    if district is None or not passback_trigger_token_check(
        district=district, token=_bearer(request)
    ):
        response = JsonResponse({"error": UNAUTHORIZED}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="passback"'
        return response
    try:
        run = start_run(
            district=district,
            kind=SyncRun.Kind.PASSBACK,
            trigger=SyncRun.Trigger.API,
            actor_label="api (passback trigger token)",
            course_sis_ids=[sis_course_id],
            full=request.GET.get("full", "") in ("1", "true", "yes"),
        )
    except (PassbackDisabled, StartRefused) as exc:
        # Passback off, or the district lacks what it needs: nothing was queued.
        return JsonResponse({"error": str(exc)}, status=403)
    except CourseNotProvisioned as exc:
        return JsonResponse({"error": str(exc)}, status=404)
    except SyncRunAlreadyActive as exc:
        active = exc.active
        response = JsonResponse(
            {"error": str(exc), "active_run_id": active.pk if active else None}, status=409
        )
        response["Retry-After"] = "60"
        return response
    return JsonResponse(
        {
            "run_id": run.pk,
            "status": run.status,
            "course": sis_course_id,
            "full": run.passback.full,
        },
        status=202,
    )
