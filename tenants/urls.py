from django.urls import path

from tenants import views

app_name = "tenants"
urlpatterns = [
    path("intake/form/", views.intake_form, name="intake_form"),
    path("intake/<str:token>/", views.intake, name="intake"),
    path("accounts/login/", views.accounts_login, name="login"),
    path("accounts/otp/", views.otp_verify, name="otp_verify"),
    path("accounts/otp/setup/", views.otp_enroll, name="otp_enroll"),
]
