from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from mediqueue import error_handlers, health

urlpatterns = [
    path("api/", include("slots.urls")),
    path("api/", include("booking.urls")),
    path("api/schema", SpectacularJSONAPIView.as_view(), name="schema"),
    path(
        "api/docs",
        # Split: Swagger UI's start-up script comes from a URL of its own, not inline; only its
        # page's <style> block needs the policy relaxed, and only for styles.
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # For Prometheus, scraping each app node directly; nginx does not pass it to the public.
    path("metrics", ExportToDjangoView, name="metrics"),
    path("admin/", admin.site.urls),
    # Patients' sign-in, with verified patients only (MEDIQUEUE_PATIENT_AUTH=oidc).
    path("oidc/", include("pages.oidc_urls")),
    path("", include("pages.urls")),
    # Anything else under /api/ answers the JSON envelope, in DEBUG too.
    re_path(r"^api/", csrf_exempt(error_handlers.page_not_found)),
]

handler400 = "mediqueue.error_handlers.bad_request"
handler403 = "mediqueue.error_handlers.permission_denied"
handler404 = "mediqueue.error_handlers.page_not_found"
handler500 = "mediqueue.error_handlers.server_error"
