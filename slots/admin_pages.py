"""The clinic's own admin pages: generate slots, and the overview.

They hang off ``SlotAdmin.get_urls()`` and run behind ``admin_site.admin_view`` (staff login);
each checks the model permission its job needs. Rules stay in services and selectors.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.admin.models import ADDITION, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from mediqueue.errors import MediQueueError
from slots import selectors, services
from slots.forms import OverviewForm, SlotGenerationForm
from slots.models import Slot


def generate_slots(model_admin, request):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = SlotGenerationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        schedule = form.schedule()
        try:
            # The log entries commit with the slots or not at all.
            with transaction.atomic():
                generation = services.slots_generate(**schedule)
                _log_generated(request, generation.created, schedule)
        except MediQueueError as error:
            form.add_error(None, error.message)
        else:
            model_admin.message_user(request, _generation_summary(generation), messages.SUCCESS)
            return redirect(_overview_url(schedule["first_day"], schedule["last_day"]))
    return TemplateResponse(
        request,
        "admin/slots/slot/generate.html",
        {**_context(model_admin, request, "Generate slots"), "form": form},
    )


def _log_generated(request, slots: list[Slot], schedule: dict) -> None:
    if not slots:
        return
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=slots,
        action_flag=ADDITION,
        change_message=(
            f"Generated: {schedule['day_start']:%H:%M} to {schedule['day_end']:%H:%M}, "
            f"{schedule['slot_minutes']} min, {schedule['seats_per_slot']} seats."
        ),
    )


def _generation_summary(generation: services.SlotGeneration) -> str:
    summary = f"Created {len(generation.created)} slot(s)"
    skipped = []
    if generation.skipped_existing:
        skipped.append(f"{generation.skipped_existing} that already existed")
    if generation.skipped_past:
        skipped.append(f"{generation.skipped_past} already in the past")
    return f"{summary}; skipped {' and '.join(skipped)}." if skipped else f"{summary}."


def _overview_url(first_day: date, last_day: date) -> str:
    days = min((last_day - first_day).days + 1, 31)
    query = urlencode({"start": first_day.isoformat(), "days": days})
    return f"{reverse('admin:slots_slot_overview')}?{query}"


def overview(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = OverviewForm(request.GET or None)
    first_day, days = form.window()
    step = timedelta(days=days)
    return TemplateResponse(
        request,
        "admin/slots/slot/overview.html",
        {
            **_context(model_admin, request, "Slots overview"),
            "form": form,
            "days": selectors.slot_overview(first_day=first_day, days=days),
            "earlier_url": _overview_url(first_day - step, first_day - timedelta(days=1)),
            "later_url": _overview_url(first_day + step, first_day + step * 2 - timedelta(days=1)),
            "today": timezone.localdate(),
            "can_generate": model_admin.has_add_permission(request),
        },
    )


def _context(model_admin, request, title: str) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": Slot._meta,
        "title": title,
    }
