"""'View the email': with mail written to files (the default of make run, where no mail server
is set up), a patient's pages link to the messages sent to them."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from booking.models import Notice, is_well_formed_reference
from booking.notice_mail import message_id
from mediqueue.mail import message_file


def mail_in_files() -> bool:
    return settings.EMAIL_BACKEND == "mediqueue.mail.MessageFileBackend"


def sent_mail(notices: Iterable[Notice]) -> list[dict]:
    """The messages of these notices there are files of, oldest first: label and link."""
    if not mail_in_files():
        return []
    return [
        {"label": notice.get_kind_display(), "url": reverse("pages:mail", args=[notice.key])}
        for notice in sorted(notices, key=lambda notice: notice.pk)
        if notice.status == Notice.Status.SENT and message_file(message_id(notice)).exists()
    ]


@never_cache  # it carries the patient's booking reference
@require_safe
def view_mail(request: HttpRequest, key: str) -> HttpResponse:
    """The message as it was sent, headers and all; its key is as secret as a reference, and
    only the patient's own pages link to it."""
    notice = None
    if mail_in_files() and is_well_formed_reference(key):
        notice = Notice.objects.filter(key=key).first()
    path = message_file(message_id(notice)) if notice is not None else None
    if path is None or not path.exists():
        raise Http404("No such message.")
    return HttpResponse(path.read_bytes(), content_type="text/plain; charset=utf-8")
