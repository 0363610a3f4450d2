"""``GET /api/me/bookings``: a verified patient's own bookings, without holding references.

Only with verified patients (MEDIQUEUE_PATIENT_AUTH=oidc): in open mode nobody is anybody, so
the endpoint answers 404, as if it did not exist. The answer carries references (the patient's
own), so no cache may keep it.
"""

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers

from booking import identity
from booking.serializers import BookingSerializer, booking_json_of
from mediqueue.api import LeanAPIView, json_answer
from mediqueue.errors import NotFoundError
from mediqueue.patients import request_patient
from mediqueue.schema import error
from slots.representation import slot_representation
from slots.serializers import SlotOutputSerializer

MY_BOOKINGS = "Your bookings, the latest appointment first."


class PatientsNotVerifiedError(NotFoundError):
    default_message = (
        "This endpoint needs verified patients (MEDIQUEUE_PATIENT_AUTH=oidc): in open mode "
        "a booking is reached by its reference."
    )


class MyBookingsApi(LeanAPIView):
    @extend_schema(
        operation_id="me_bookings",
        responses={
            200: inline_serializer(
                "MyBookingsAnswer",
                {
                    "message": serializers.CharField(),
                    "bookings": inline_serializer(
                        "MyBooking",
                        {"booking": BookingSerializer(), "slot": SlotOutputSerializer()},
                        many=True,
                    ),
                },
            ),
            401: error("not_authenticated or authentication_failed: no valid bearer token."),
            404: error("not_found: patients are not verified here (open mode)."),
            503: error("unavailable: the identity provider's keys could not be fetched."),
        },
        description=(
            "The signed-in patient's bookings, confirmed and cancelled, with their references. "
            "Needs `Authorization: Bearer <token>` from the clinic's OpenID Connect provider."
        ),
    )
    def get(self, request: HttpRequest) -> HttpResponse:
        patient = request_patient(request)
        if patient is None:
            raise PatientsNotVerifiedError()
        bookings = [
            {"booking": booking_json_of(b), "slot": slot_representation(b.slot)}
            for b in identity.bookings_of_patient(patient=patient)
        ]
        return json_answer({"message": MY_BOOKINGS, "bookings": bookings}, never_store=True)
