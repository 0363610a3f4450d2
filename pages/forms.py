from django import forms

from mediqueue import validation
from slots.models import Doctor
from slots.selectors import SlotFilters, doctor_list


class SlotFilterForm(forms.Form):
    doctor = forms.ModelChoiceField(
        queryset=Doctor.objects.none(), required=False, empty_label="All doctors"
    )
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.fields["doctor"].queryset = doctor_list()

    def slot_filters(self) -> SlotFilters:
        """The filters chosen; none when the form is invalid (its errors say why)."""
        if not self.is_valid():
            return SlotFilters()
        doctor = self.cleaned_data["doctor"]
        return SlotFilters(doctor_id=doctor.pk if doctor else None, day=self.cleaned_data["date"])


class BookingForm(forms.Form):
    patient = forms.CharField(
        label="Your name or patient number",
        help_text="Use the same one every time: it is how the clinic finds your booking.",
        widget=forms.TextInput(attrs={"autocomplete": "name", "maxlength": 64}),
    )

    email = forms.EmailField(
        label="Email (optional)",
        required=False,
        max_length=validation.EMAIL_MAX_LENGTH,
        help_text="For your confirmation, with a calendar file, and any later news of it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, verified_patient: str | None = None, **kwargs):
        """``verified_patient``: the signed-in patient (MEDIQUEUE_PATIENT_AUTH=oidc), who is
        the patient of the form; there is then no name to type."""
        super().__init__(*args, label_suffix="", **kwargs)
        self.verified_patient = verified_patient
        if verified_patient is not None:
            del self.fields["patient"]

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.verified_patient is not None:
            cleaned["patient"] = self.verified_patient
        return cleaned

    def clean_patient(self) -> str:
        # What a patient id may be is defined once (mediqueue.validation); the page reuses it.
        try:
            return validation.patient_id(self.cleaned_data["patient"])
        except validation.FieldError as error:
            raise forms.ValidationError(error.message) from error
