from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = "Bookings"

    def ready(self):
        from booking import services
        from slots.signals import seats_added

        seats_added.connect(services.seats_added, dispatch_uid="booking.services.seats_added")
