from django.contrib import admin, messages
from django.urls import path

from booking import admin_pages, services
from booking.models import Booking
from mediqueue.audit import AuditedAdmin
from mediqueue.errors import MediQueueError
from slots.admin import SlotAdmin
from slots.models import Slot


@admin.register(Booking)
class BookingAdmin(AuditedAdmin):
    """Bookings are read here and cancelled through the service; never added or edited by
    hand, since that would change seats without the slot's lock."""

    list_display = ["reference", "slot", "user_id", "status", "created_at", "cancelled_at"]
    list_filter = ["status", "slot__doctor"]
    list_select_related = ["slot__doctor"]
    search_fields = ["reference", "user_id"]
    readonly_fields = ["reference", "slot", "user_id", "status", "created_at", "cancelled_at"]
    actions = ["cancel_bookings"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Cancel selected bookings", permissions=["change"])
    def cancel_bookings(self, request, queryset):
        cancelled = unchanged = 0
        failures = []
        for reference in queryset.values_list("reference", flat=True):
            try:
                outcome = services.cancel(reference=reference)
            except MediQueueError as error:
                failures.append(f"{reference}: {error.message}")
                continue
            if outcome.changed:
                cancelled += 1
                self.log_change(request, outcome.booking, "Cancelled through the admin action.")
            else:
                unchanged += 1
        self.message_user(
            request,
            f"Cancelled {cancelled} booking(s); {unchanged} were already cancelled.",
            messages.SUCCESS,
        )
        for failure in failures:
            self.message_user(request, f"Not cancelled: {failure}", messages.ERROR)


class BookingInline(admin.TabularInline):
    """The slot's bookings, for reading: seats change only through booking.services."""

    model = Booking
    fields = ["reference", "user_id", "status", "created_at", "cancelled_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


# Slots know nothing of bookings (layers only point down), so the slot's page gains its bookings
# and their CSV exports here, by re-registering the slots' admin with them.
admin.site.unregister(Slot)


@admin.register(Slot)
class SlotWithBookingsAdmin(SlotAdmin):
    inlines = [BookingInline]

    def get_urls(self):
        page = self.admin_page
        return [
            path(
                "<int:slot_id>/bookings.csv",
                page(admin_pages.slot_bookings_csv),
                name="slots_slot_bookings_csv",
            ),
            path(
                "day/<str:day>/bookings.csv",
                page(admin_pages.day_bookings_csv),
                name="slots_slot_day_bookings_csv",
            ),
            *super().get_urls(),
        ]
