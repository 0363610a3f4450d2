from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = "Bookings"

    def ready(self):
        from booking import waitlist
        from slots.signals import seats_added

        seats_added.connect(waitlist.seats_added, dispatch_uid="booking.waitlist.seats_added")
