from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("tenants.urls")),
    path("", include("provisioning.urls")),
    path("", include("gradepassback.urls")),
    path("", include("lti.urls")),
]
