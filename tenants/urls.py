from django.urls import include, path
from django.views.generic import RedirectView

from tenants import views

app_name = "tenants"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tenants:console:districts"), name="home"),
    path("console/", include("tenants.console.urls")),
    path("intake/form/", views.intake_form, name="intake_form"),
    path("intake/<str:token>/", views.intake, name="intake"),
    path("accounts/login/", views.accounts_login, name="login"),
    path("accounts/otp/", views.otp_verify, name="otp_verify"),
    path("accounts/otp/setup/", views.otp_enroll, name="otp_enroll"),
]
