"""The patient pages' sign-in (mozilla-django-oidc's views, under /oidc/), with verified
patients only: in open mode these URLs answer 404."""

from django.urls import path
from mozilla_django_oidc import views

from pages.identity import only_when_verified

urlpatterns = [
    path(
        "authenticate/",
        only_when_verified(views.OIDCAuthenticationRequestView.as_view()),
        name="oidc_authentication_init",
    ),
    path(
        "callback/",
        only_when_verified(views.OIDCAuthenticationCallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
    path("logout/", only_when_verified(views.OIDCLogoutView.as_view()), name="oidc_logout"),
]
