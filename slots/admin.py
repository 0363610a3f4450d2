from functools import partial

from django import forms
from django.contrib import admin, messages
from django.db.models import F
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone

from mediqueue import validation
from mediqueue.admin_display import clinic_time
from mediqueue.audit import AuditedAdmin
from mediqueue.errors import MediQueueError
from slots import admin_pages, services
from slots.locks import lock_slot
from slots.models import Doctor, Slot


def clean_text_field(form: forms.Form, name: str) -> str:
    """A field whose text reaches patients' mail and calendar files: the same rule as the admin
    API's (no control characters, which could start a line of their own there)."""
    value = form.cleaned_data[name]
    if value and not validation.is_clean_text(value):
        raise forms.ValidationError(validation.UNCLEAN_TEXT)
    return value


class DoctorAdminForm(forms.ModelForm):
    class Meta:
        model = Doctor
        fields = ["name", "specialty"]

    def clean_name(self) -> str:
        return clean_text_field(self, "name")

    def clean_specialty(self) -> str:
        return clean_text_field(self, "specialty")


@admin.register(Doctor)
class DoctorAdmin(AuditedAdmin):
    form = DoctorAdminForm
    list_display = ["name", "specialty"]
    search_fields = ["name", "specialty"]


class SlotAdminForm(forms.ModelForm):
    class Meta:
        model = Slot
        fields = ["doctor", "start_time", "duration_minutes", "total_seats"]

    def clean_start_time(self):
        start_time = self.cleaned_data["start_time"]
        if start_time > timezone.now() + services.BOOKING_HORIZON:
            raise forms.ValidationError("A slot can start at most ten years from now.")
        return start_time

    def clean(self):
        """Check the change against the slot as it is under its lock, held from here until the
        admin's transaction (which also writes the log entry) commits: no booking can land
        between this check and the save."""
        cleaned = super().clean()
        if self.instance.pk is None or self.errors:
            return cleaned
        if "start_time" not in self.changed_data:
            # The form shows whole seconds: an unchanged start keeps the stored one, microseconds
            # and all, rather than counting as a move.
            cleaned["start_time"] = self.instance.start_time
        try:
            services.check_slot_change(
                lock_slot(self.instance.pk),
                doctor_id=cleaned["doctor"].pk,
                start_time=cleaned["start_time"],
                duration_minutes=cleaned["duration_minutes"],
                total_seats=cleaned["total_seats"],
            )
        except MediQueueError as error:
            raise forms.ValidationError(error.message) from error
        return cleaned


class _ChangeRefused(Exception):
    """Raised out of save_model so that the admin's transaction rolls back, log entry and all."""

    def __init__(self, error: MediQueueError):
        self.error = error


@admin.register(Slot)
class SlotAdmin(AuditedAdmin):
    form = SlotAdminForm
    # Short columns, each a word wide, so that the list fits a 1,280 px screen beside its
    # filters (e2e/tests/admin-lists.test.mjs checks no column is clipped).
    list_display = ["starts", "doctor_name", "length", "seats", "available"]
    list_filter = ["doctor", ("start_time", admin.DateFieldListFilter)]
    list_select_related = ["doctor"]
    search_fields = ["doctor__name", "doctor__specialty"]
    date_hierarchy = "start_time"
    readonly_fields = ["booked_seats", "created_at"]

    def admin_page(self, view):
        """A page of this admin's own (``view(model_admin, request, …)``), behind staff login."""
        return self.admin_site.admin_view(partial(view, self))

    def get_urls(self):
        page = self.admin_page

        return [
            path("generate/", page(admin_pages.generate_slots), name="slots_slot_generate"),
            path("overview/", page(admin_pages.overview), name="slots_slot_overview"),
            *super().get_urls(),
        ]

    class Media:
        css = {"all": ["mediqueue/admin.css"]}

    @admin.display(description="Starts", ordering="start_time")
    def starts(self, slot: Slot) -> str:
        return clinic_time(slot.start_time)

    @admin.display(description="Doctor", ordering="doctor__name")
    def doctor_name(self, slot: Slot) -> str:
        return slot.doctor.name

    @admin.display(description="Length", ordering="duration_minutes")
    def length(self, slot: Slot) -> str:
        return f"{slot.duration_minutes} min"

    @admin.display(description="Booked", ordering="booked_seats")
    def seats(self, slot: Slot) -> str:
        return f"{slot.booked_seats} of {slot.total_seats}"

    @admin.display(description="Free", ordering=F("total_seats") - F("booked_seats"))
    def available(self, slot: Slot) -> str:
        return "Full" if slot.is_full else str(slot.available_seats)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _ChangeRefused as refused:
            # The transaction rolled back: nothing saved, nothing logged. Show the slot as it is.
            messages.error(request, f"Nothing was saved: {refused.error.message}")
            return redirect(request.path)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        try:
            services.slot_update(
                slot_id=obj.pk,
                doctor_id=obj.doctor_id,
                start_time=obj.start_time,
                duration_minutes=obj.duration_minutes,
                total_seats=obj.total_seats,
            )
        except MediQueueError as error:
            # The form checked under the slot's lock, so this should not happen; if it does,
            # the whole change must fail rather than be logged as a success.
            raise _ChangeRefused(error) from error
