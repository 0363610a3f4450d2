"""Middleware every request passes through before any view, and the page-only middleware that
the patients' JSON endpoints skip."""

from __future__ import annotations

import re
import time

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse, JsonResponse
from log_request_id.middleware import RequestIDMiddleware

from mediqueue import metrics
from mediqueue.error_handlers import error_body
from mediqueue.errors import ErrorCode

# What an id from the client may look like to be kept: it goes into every log line of the
# request, so nothing that could forge a line, break a log parser or carry a payload.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class SafeRequestIDMiddleware(RequestIDMiddleware):
    """django-log-request-id, keeping the client's X-Request-ID only when it looks safe."""

    def _get_request_id(self, request) -> str:
        offered = request.META.get(self.request_id_header, "")
        if _SAFE_REQUEST_ID.fullmatch(offered):
            return offered
        return self._generate_id()


class RequestMetricsMiddleware:
    """Time every request spends in Django, by URL name, for Prometheus. First in the chain, so
    that the rest of the middleware is timed too; two clock reads and one histogram update are
    all it costs (~6 us of a booking's ~0.7 ms, mediqueue/metrics.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        endpoint = (match.url_name or match.view_name) if match else "unmatched"
        metrics.request_seconds(endpoint).observe(time.perf_counter() - started)
        return response


class RefuseChunkedBodiesMiddleware:
    """411 for a body sent in chunks: Django reads exactly CONTENT_LENGTH bytes of a body, so a
    chunked one (no Content-Length) would be read as empty and the request misjudged. Behind
    the nginx of deploy/ this never happens: nginx buffers the body and forwards its length."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            message = "Send the request body with a Content-Length, not in chunks."
            if request.path.startswith("/api/"):
                return JsonResponse(error_body(ErrorCode.LENGTH_REQUIRED, message), status=411)
            return HttpResponse(message, status=411, content_type="text/plain")
        return self.get_response(request)


# The patients' JSON endpoints (the URLs CORS opens) have no session, login, CSRF token, flash
# message or HTML page to give a Content-Security-Policy: the middleware for those would only
# cost them time, so they skip it. Measured (docs/performance.md, the ablation): with Django's
# and csp's middleware as listed, the refusals ran at 0.62x their rate and the cached listing
# at 0.82x, at +64 % and +55 % CPU per answer; csp's header alone adds half to a listing's
# CPU. Subclasses, not a wrapper of the list: Django's admin checks for these classes by name.
# WhiteNoise's and CommonMiddleware cost the API nothing measurable, so they run as they are.
_PUBLIC_API = re.compile(settings.CORS_URLS_REGEX)


class _SkippedByThePublicApi:
    def __call__(self, request):
        if _PUBLIC_API.match(request.path_info):
            return self.get_response(request)
        return super().__call__(request)


class PageCSPMiddleware(_SkippedByThePublicApi, CSPMiddleware):
    pass


class PageSessionMiddleware(_SkippedByThePublicApi, SessionMiddleware):
    pass


class PageAuthenticationMiddleware(_SkippedByThePublicApi, AuthenticationMiddleware):
    pass


class PageMessageMiddleware(_SkippedByThePublicApi, MessageMiddleware):
    pass
