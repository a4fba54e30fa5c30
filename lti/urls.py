from django.urls import path

from lti import console, views

app_name = "lti"
urlpatterns = [
    path("console/districts/<slug:slug>/lti/", console.platform_page, name="console"),
    path("lti/sync/", views.sync_page, name="sync"),
    path("lti/sync/now/", views.sync_now, name="sync-now"),
    path("lti/sync/status/", views.sync_status, name="sync-status"),
    path("lti/<slug:slug>/login/", views.login, name="login"),
    path("lti/<slug:slug>/launch/", views.launch, name="launch"),
    path("lti/<slug:slug>/jwks/", views.jwks, name="jwks"),
    path("lti/<slug:slug>/config.json", views.tool_config, name="config"),
]
