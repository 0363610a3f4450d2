from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import path
from django.utils.html import format_html, format_html_join

from booking import admin_pages, services
from booking.models import Booking, BookingRequest, Notice, WaitlistEntry
from mediqueue.admin_display import clinic_time
from mediqueue.audit import AuditedAdmin
from mediqueue.errors import MediQueueError
from slots.admin import SlotAdmin
from slots.models import Slot


class EntryColumns:
    """The columns of a list of bookings or waiting-list entries: the slot as two short ones
    (doctor, start in the clinic's time zone) and the patient."""

    @admin.display(description="Doctor", ordering="slot__doctor__name")
    def doctor(self, entry) -> str:
        return entry.slot.doctor.name

    @admin.display(description="Slot starts", ordering="slot__start_time")
    def slot_starts(self, entry) -> str:
        return clinic_time(entry.slot.start_time)

    @admin.display(description="Patient", ordering="user_id")
    def patient(self, entry) -> str:
        return entry.user_id


SLOT_COLUMNS = ["doctor", "slot_starts"]


@admin.register(Booking)
class BookingAdmin(EntryColumns, AuditedAdmin):
    """Bookings are read here and cancelled through the service; never added or edited by
    hand, since that would change seats without the slot's lock."""

    # Columns a word wide (SlotAdmin's habit): the whole list fits a 1,280 px screen. The
    # reference is a secret: the list shows its start, enough to tell bookings apart; search
    # takes the whole of it.
    list_display = ["short_reference", *SLOT_COLUMNS, "patient", "status", "since"]
    list_filter = ["status", "slot__doctor"]
    list_select_related = ["slot__doctor"]
    search_fields = ["reference", "user_id"]
    readonly_fields = ["reference", "slot", "user_id", "status", "booked_at", "cancelled"]
    exclude = ["email", "created_at", "cancelled_at"]  # email: personal data, for notices only
    actions = ["cancel_bookings"]

    class Media:
        css = {"all": ["mediqueue/admin.css"]}

    @admin.display(description="Reference", ordering="reference")
    def short_reference(self, booking: Booking) -> str:
        return f"{booking.reference[:8]}…"

    @admin.display(description="Booked at", ordering="created_at")
    def booked_at(self, booking: Booking) -> str:
        return clinic_time(booking.created_at)

    @admin.display(description="Cancelled at", ordering="cancelled_at")
    def cancelled(self, booking: Booking) -> str:
        return clinic_time(booking.cancelled_at)

    @admin.display(description="Since", ordering="created_at")
    def since(self, booking: Booking) -> str:
        """When the booking got its status: booked, or cancelled."""
        return clinic_time(booking.cancelled_at or booking.created_at)

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
                log_promotions(self, request, outcome.promoted, "a booking was cancelled")
            else:
                unchanged += 1
        self.message_user(
            request,
            f"Cancelled {cancelled} booking(s); {unchanged} were already cancelled.",
            messages.SUCCESS,
        )
        for failure in failures:
            self.message_user(request, f"Not cancelled: {failure}", messages.ERROR)


def log_promotions(model_admin, request, bookings, why: str) -> None:
    """Each promotion into the admin log, as the addition of its booking, saying why."""
    for booking in bookings:
        model_admin.log_addition(
            request, booking, f"Promoted from the waiting list: {why} (entry of {booking.user_id})."
        )


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
    readonly_fields = [*SlotAdmin.readonly_fields, "waiting_list"]
    list_display = [*SlotAdmin.list_display, "waiting"]

    def get_queryset(self, request):
        waiting = Q(waitlist_entries__status=WaitlistEntry.Status.WAITING)
        return super().get_queryset(request).annotate(waiting_count=Count("pk", filter=waiting))

    @admin.display(description="Waiting", ordering="waiting_count")
    def waiting(self, slot: Slot) -> int:
        return slot.waiting_count

    @admin.display(description="Waiting list, in join order")
    def waiting_list(self, slot: Slot) -> str:
        """Read only (entries change through booking.waitlist): who waits, in the order seats
        go to them, then who was promoted, left or expired."""
        entries = WaitlistEntry.objects.filter(slot=slot).order_by("id") if slot.pk else []
        if not entries:
            return "Nobody has joined."
        return format_html(
            '<ol class="waiting-list">{}</ol>',
            format_html_join(
                "",
                '<li data-status="{}">{} — {} since {}</li>',
                (
                    (
                        e.status,
                        e.user_id,
                        e.get_status_display(),
                        clinic_time(e.closed_at or e.created_at),
                    )
                    for e in entries
                ),
            ),
        )

    def save_model(self, request, obj, form, change):
        """Seats an admin adds go to the waiting list (booking.waitlist, through the signal
        slots.services sends); each promotion is logged as this admin's."""
        if not change:
            super().save_model(request, obj, form, change)  # a new slot has nobody waiting
            return
        promoted_before = set(_promoted(obj))
        super().save_model(request, obj, form, change)
        new = Booking.objects.filter(pk__in=set(_promoted(obj)) - promoted_before)
        log_promotions(self, request, new, "seats were added")

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


def _promoted(slot: Slot):
    return WaitlistEntry.objects.filter(slot=slot, status=WaitlistEntry.Status.BOOKED).values_list(
        "booking_id", flat=True
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows staff may read but never write: they change only through their services."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(EntryColumns, ReadOnlyAdmin):
    """Read only: entries change through booking.waitlist, under the slot's lock."""

    list_display = [*SLOT_COLUMNS, "patient", "status", "joined", "closed"]
    list_filter = ["status", "slot__doctor"]
    list_select_related = ["slot__doctor"]
    search_fields = ["user_id"]
    readonly_fields = ["slot", "user_id", "status", "joined", "closed", "booking"]
    exclude = ["reference", "email", "created_at", "closed_at"]

    class Media:
        css = {"all": ["mediqueue/admin.css"]}

    @admin.display(description="Joined", ordering="created_at")
    def joined(self, entry: WaitlistEntry) -> str:
        return clinic_time(entry.created_at)

    @admin.display(description="Closed", ordering="closed_at")
    def closed(self, entry: WaitlistEntry) -> str:
        """When the patient stopped waiting: promoted, left, or the slot started."""
        return clinic_time(entry.closed_at)


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """The outbox: what was sent, what waits (PENDING: queued or retrying) and what failed, with
    the error. Read only; the address is not shown (personal data, kept only as needed)."""

    list_display = ["kind", "status", "attempts", "created_at", "sent_at", "short_error"]
    list_filter = ["status", "kind"]
    readonly_fields = [
        "kind", "status", "attempts", "last_error", "created_at", "sent_at", "booking",
        "waitlist_entry",
    ]  # fmt: skip
    exclude = ["key", "recipient"]

    @admin.display(description="Last error")
    def short_error(self, notice: Notice) -> str:
        return notice.last_error[:120]


@admin.register(BookingRequest)
class BookingRequestAdmin(ReadOnlyAdmin):
    """The booking queue's outcomes, in the order of record (the order seats were given in).
    Read only: the allocator writes them. The ticket is a key to the booking: not shown."""

    list_display = ["id", "slot", "user_id", "status", "reason", "accepted", "decided", "in_line"]
    list_filter = ["status", "reason"]
    list_select_related = ["slot__doctor"]
    search_fields = ["user_id"]
    readonly_fields = ["slot", "user_id", "status", "reason", "accepted", "decided", "in_line"]
    exclude = ["ticket", "booking", "accepted_at", "decided_at"]

    @admin.display(description="Accepted (202)", ordering="accepted_at")
    def accepted(self, outcome: BookingRequest) -> str:
        return clinic_time(outcome.accepted_at)

    @admin.display(description="Decided", ordering="decided_at")
    def decided(self, outcome: BookingRequest) -> str:
        return clinic_time(outcome.decided_at)

    @admin.display(description="Time in line")
    def in_line(self, outcome: BookingRequest) -> str:
        return f"{(outcome.decided_at - outcome.accepted_at).total_seconds():.3f} s"
