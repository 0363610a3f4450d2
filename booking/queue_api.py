"""The queued booking's API (issue 25): the 202 of ``POST /api/book`` with ``Prefer:
respond-async`` (booking.api) and ``GET /api/book/requests/{ticket}``, its outcome.

A ticket is a secret like a reference: its outcome carries the booking's reference. Every answer
is ``no-store``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status

from booking import messages, queue, selectors
from booking.errors import BookingRequestNotFoundError
from booking.idempotency import Answer
from booking.models import BookingRequest
from booking.serializers import BookingSerializer, booking_json_of
from mediqueue.api import LeanAPIView, json_answer, preferences
from mediqueue.patients import request_patient
from mediqueue.schema import error
from slots.representation import slot_representation
from slots.serializers import SlotOutputSerializer

PREFER_ASYNC_PARAMETER = OpenApiParameter(
    name="Prefer",
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "respond-async (RFC 7240): queue the booking and answer 202 with a ticket, when the "
        "booking queue is switched on (else the preference is ignored and the booking is "
        "direct). On GET /api/book/requests/{ticket}: wait=N, wait up to N seconds for the "
        "outcome (at most MEDIQUEUE_BOOKING_WAIT_MAX_SECONDS)."
    ),
)


class QueuedAnswerSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["QUEUED", "CONFIRMED", "FAILED"])
    message = serializers.CharField()
    ticket = serializers.CharField(help_text="The only key to the outcome: keep it secret.")
    position = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text="Always null: the line's order is the broker's, not counted per request.",
    )
    code = serializers.CharField(required=False, help_text="FAILED: why, as POST /api/book.")
    booking = BookingSerializer(required=False, help_text="CONFIRMED: the booking.")
    slot = SlotOutputSerializer(required=False)


def queue_booking(*, slot_id: int, user_id: str, email: str) -> Answer:
    queued = queue.accept(slot_id=slot_id, user_id=user_id, email=email)
    return Answer(status.HTTP_202_ACCEPTED, _queued_body(queued.ticket))


def queued_headers(answer: Answer) -> dict[str, str]:
    if answer.status != status.HTTP_202_ACCEPTED:
        return {}
    return {
        "Preference-Applied": "respond-async",
        "Location": reverse("booking-request", args=[answer.body["ticket"]]),
    }


def _queued_body(ticket: str) -> dict:
    return {"status": "QUEUED", "message": messages.QUEUED, "ticket": ticket, "position": None}


def outcome_body(ticket: str, outcome: BookingRequest | None) -> dict:
    if outcome is None:
        return _queued_body(ticket)
    if outcome.status == BookingRequest.Status.CONFIRMED:
        return {
            "status": "CONFIRMED",
            "message": messages.BOOKED,
            "ticket": ticket,
            "booking": booking_json_of(outcome.booking),
            "slot": slot_representation(outcome.slot),
        }
    refusal = selectors.booking_request_refusal(outcome)
    return {"status": "FAILED", "code": refusal.code, "message": refusal.message, "ticket": ticket}


class BookingRequestApi(LeanAPIView):
    @extend_schema(
        operation_id="book_requests_retrieve",
        parameters=[PREFER_ASYNC_PARAMETER],
        responses={200: QueuedAnswerSerializer, 404: error("booking_request_not_found")},
        description=(
            "The outcome of a queued booking: QUEUED (ask again after Retry-After, or send "
            "'Prefer: wait=N'), CONFIRMED with the booking and its reference, or FAILED with "
            "the code POST /api/book would have answered (slot_full, slot_closed, "
            "already_booked, slot_not_found)."
        ),
    )
    def get(self, request: HttpRequest, ticket: str) -> HttpResponse:
        wait = _wait_seconds(preferences(request).get("wait"))
        outcome = selectors.booking_request_outcome(ticket=ticket, wait_seconds=wait)
        patient = request_patient(request)
        if outcome is not None and patient is not None and outcome.user_id != patient:
            raise BookingRequestNotFoundError()  # another patient's: as if it did not exist
        response = json_answer(outcome_body(ticket, outcome), never_store=True)
        if outcome is None:
            response["Retry-After"] = "1"
        if wait:
            response["Preference-Applied"] = f"wait={wait:g}"
        return response


def _wait_seconds(value: str | None) -> float:
    """``Prefer: wait=N`` bounded by the setting; a value that is no number is ignored, as
    RFC 7240 asks of a preference a server does not understand."""
    try:
        wait = float(value) if value else 0.0
    except ValueError:
        return 0.0
    if wait != wait or wait <= 0:  # NaN or not positive
        return 0.0
    return min(wait, settings.MEDIQUEUE_BOOKING_WAIT_MAX_SECONDS)
