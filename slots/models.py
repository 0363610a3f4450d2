from datetime import timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Doctor(models.Model):
    name = models.CharField(max_length=200)
    specialty = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.specialty})" if self.specialty else self.name


class Slot(models.Model):
    """A time with a doctor that a fixed number of patients can book.

    ``booked_seats`` is a counter kept by ``booking.services`` under the slot's row lock; the
    CHECK constraints make an overbooking impossible to commit even if that code had a bug.
    """

    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="slots")
    start_time = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(default=30)
    total_seats = models.PositiveIntegerField()
    booked_seats = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start_time", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_seats__gte=1), name="slot_total_seats_positive"
            ),
            models.CheckConstraint(
                condition=Q(booked_seats__gte=0) & Q(booked_seats__lte=F("total_seats")),
                name="slot_booked_seats_within_total",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1) & Q(duration_minutes__lte=24 * 60),
                name="slot_duration_within_a_day",
            ),
            models.UniqueConstraint(
                fields=["doctor", "start_time"], name="slot_unique_doctor_start"
            ),
        ]
        indexes = [models.Index(fields=["start_time", "id"], name="slot_start_time_id")]

    def __str__(self) -> str:
        return f"{self.doctor.name} at {self.start_time:%Y-%m-%d %H:%M}"

    @property
    def end_time(self):
        return self.start_time + timedelta(minutes=self.duration_minutes)

    @property
    def available_seats(self) -> int:
        return self.total_seats - self.booked_seats

    # The two facts below are for showing a slot; booking.services decides under the slot's
    # lock and is the only authority on whether a seat can still be had.
    @property
    def is_full(self) -> bool:
        return self.booked_seats >= self.total_seats

    @property
    def has_started(self) -> bool:
        return self.start_time <= timezone.now()
