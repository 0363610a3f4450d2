"""HEAD answers exactly as GET would, without the body.

Django answers HEAD through the GET view and leaves removing the body to the server (its own
runserver and test client do). gunicorn drops the body too, but logs a WARNING for every such
answer ("WSGI app sent body bytes on a no-body response"), so an uptime checker polling with
HEAD would fill the log. This middleware, the outermost, removes the body before gunicorn sees
it and keeps the Content-Length the GET answer would carry (RFC 9110, 9.3.2).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase


class HeadWithoutBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.method != "HEAD":
            return response
        if response.streaming:
            # A file or a generator: nothing of it is read; the server's close() of the
            # response still closes the file.
            response.streaming_content = []
            return response
        if "Content-Length" not in response:
            response["Content-Length"] = str(len(response.content))
        response.content = b""
        return response
