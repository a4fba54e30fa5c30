from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:districts"), name="home"),
    path("admin/", admin.site.urls),
    path("console/", include("console.urls")),
    path("", include("tenants.urls")),
    path("", include("provisioning.urls")),
    path("", include("gradepassback.urls")),
    path("", include("lti.urls")),
]
