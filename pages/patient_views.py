"""A signed-in patient's own pages (verified patients only): "My bookings"."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from booking import identity as booking_identity
from pages import identity


@never_cache  # it lists the patient's references
@require_GET
@identity.only_when_verified
def my_bookings(request: HttpRequest) -> HttpResponse:
    if (sign_in := identity.sign_in_first(request)) is not None:
        return sign_in
    patient = identity.signed_in_patient(request)
    bookings = booking_identity.bookings_of_patient(patient=patient)
    return render(request, "pages/my_bookings.html", {"bookings": bookings, "patient": patient})
