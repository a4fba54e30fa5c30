from django.urls import path

from console import views

app_name = "console"
urlpatterns = [
    path("", views.districts, name="districts"),
    path("districts/new/", views.district_new, name="district_new"),
    path("districts/<slug:slug>/", views.district_detail, name="district"),
    path("districts/<slug:slug>/settings/", views.district_settings, name="district_settings"),
    path(
        "districts/<slug:slug>/credentials/",
        views.district_credentials,
        name="district_credentials",
    ),
    path("districts/<slug:slug>/check/", views.district_check, name="district_check"),
    path(
        "districts/<slug:slug>/check.json",
        views.district_check_status,
        name="district_check_status",
    ),
    path("districts/<slug:slug>/intake/", views.district_intake, name="district_intake"),
    path("districts/<slug:slug>/runs/", views.district_run_start, name="district_run_start"),
    path("runs/", views.runs, name="runs"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/progress.json", views.run_progress, name="run_progress"),
    path(
        "runs/<int:run_id>/approve/",
        views.run_decide,
        {"decision": "approve"},
        name="run_approve",
    ),
    path(
        "runs/<int:run_id>/discard/",
        views.run_decide,
        {"decision": "discard"},
        name="run_discard",
    ),
    path("runs/<int:run_id>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:run_id>/dry-run.zip", views.run_zip, name="run_zip"),
    path("conflicts/", views.conflicts, name="conflicts"),
    path(
        "conflicts/<int:conflict_id>/resolve/",
        views.conflict_resolve,
        name="conflict_resolve",
    ),
    path("evaluations/<int:run_id>/", views.evaluation_detail, name="evaluation"),
    path("evaluations/<int:run_id>/detail.csv", views.evaluation_csv, name="evaluation_csv"),
    path(
        "evaluations/<int:run_id>/change_sis_id.csv",
        views.evaluation_change_sis_id,
        name="evaluation_change_sis_id",
    ),
    path("audit/", views.audit, name="audit"),
]
