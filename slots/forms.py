"""Forms of the clinic's admin pages. They check shapes only; the rules live in slots.services."""

from datetime import date, time, timedelta

from django import forms
from django.utils import timezone

from slots.models import Doctor

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _time_input():
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class SlotGenerationForm(forms.Form):
    doctor = forms.ModelChoiceField(queryset=Doctor.objects.order_by("name", "id"))
    first_day = forms.DateField(widget=_date_input())
    last_day = forms.DateField(widget=_date_input())
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    day_start = forms.TimeField(label="Day starts at", widget=_time_input())
    day_end = forms.TimeField(
        label="Day ends at", widget=_time_input(), help_text="The last slot ends by then."
    )
    slot_minutes = forms.IntegerField(label="Slot length (minutes)", min_value=1)
    seats_per_slot = forms.IntegerField(min_value=1)

    def __init__(self, *args, **kwargs):
        tomorrow = timezone.localdate() + timedelta(days=1)
        kwargs.setdefault(
            "initial",
            {
                "first_day": tomorrow,
                "last_day": tomorrow + timedelta(days=6),
                "weekdays": [0, 1, 2, 3, 4],
                "day_start": time(9, 0),
                "day_end": time(17, 0),
                "slot_minutes": 30,
                "seats_per_slot": 10,
            },
        )
        super().__init__(*args, **kwargs)

    def schedule(self) -> dict:
        """The cleaned values as keyword arguments of ``slots.services.slots_generate``."""
        data = dict(self.cleaned_data)
        data["doctor_id"] = data.pop("doctor").pk
        return data


class OverviewForm(forms.Form):
    start = forms.DateField(required=False, widget=_date_input(), label="From")
    DEFAULT_DAYS = 7

    def clean_start(self):
        start = self.cleaned_data["start"]
        # Far dates would overflow the window's arithmetic; nothing is planned that far anyway.
        if start is not None and not date(1970, 1, 1) <= start <= date(9000, 1, 1):
            raise forms.ValidationError("Pick a date between 1970 and 9000.")
        return start

    days = forms.IntegerField(
        required=False, min_value=1, max_value=31, label="Days", initial=DEFAULT_DAYS
    )

    def window(self) -> tuple:
        """First day and number of days to show: today and the next six unless chosen."""
        start, days = timezone.localdate(), self.DEFAULT_DAYS
        if self.is_valid():
            start = self.cleaned_data["start"] or start
            days = self.cleaned_data["days"] or days
        return start, days
