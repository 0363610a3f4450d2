from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from booking import selectors, services
from booking.serializers import BookingAnswerSerializer, BookInputSerializer, booking_answer
from mediqueue.schema import error
from slots.api import PublicAPIView

_MESSAGES = {
    "booked": "Booking confirmed.",
    "already_booked": "You already hold a seat in this slot; no second seat was taken.",
    "cancelled": "Booking cancelled; the seat is free again.",
    "already_cancelled": "This booking was already cancelled.",
    "found": "Booking found.",
}


def _answer(booking, slot, message_key: str, http_status=status.HTTP_200_OK) -> Response:
    body = booking_answer(message=_MESSAGES[message_key], booking=booking, slot=slot)
    return Response(body, status=http_status)


class BookApi(PublicAPIView):
    @extend_schema(
        operation_id="book",
        request=BookInputSerializer,
        responses={
            201: BookingAnswerSerializer,
            200: BookingAnswerSerializer,
            400: error(
                "invalid: missing, wrong type, empty or too long userId; bad slotId; "
                "malformed JSON."
            ),
            404: error("slot_not_found"),
            409: error("slot_full or slot_closed (the slot already started)."),
            415: error("unsupported_media_type: the body is not JSON."),
            503: error("busy: the slot is contended; retry after the Retry-After seconds."),
        },
        description=(
            "Book one seat. 201 when a seat was taken; 200 with the same booking when this "
            "patient already holds a seat in the slot."
        ),
    )
    def post(self, request):
        data = BookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.book(
            slot_id=data.validated_data["slotId"], user_id=data.validated_data["userId"]
        )
        if outcome.changed:
            return _answer(outcome.booking, outcome.slot, "booked", status.HTTP_201_CREATED)
        return _answer(outcome.booking, outcome.slot, "already_booked")


class BookingDetailApi(PublicAPIView):
    @extend_schema(
        operation_id="bookings_retrieve",
        responses={200: BookingAnswerSerializer, 404: error("booking_not_found")},
    )
    def get(self, request, reference: str):
        booking = selectors.booking_get(reference=reference)
        return _answer(booking, booking.slot, "found")


class BookingCancelApi(PublicAPIView):
    @extend_schema(
        operation_id="bookings_cancel",
        request=None,
        responses={
            200: BookingAnswerSerializer,
            404: error("booking_not_found"),
            409: error("slot_closed: the slot already started."),
            503: error("busy"),
        },
        description="Cancel a booking; the seat is free at once. Repeating it is a no-op 200.",
    )
    def post(self, request, reference: str):
        outcome = services.cancel(reference=reference)
        key = "cancelled" if outcome.changed else "already_cancelled"
        return _answer(outcome.booking, outcome.slot, key)
