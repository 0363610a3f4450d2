from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from booking import idempotency, messages, selectors, services, throttles
from booking.idempotency import Answer
from booking.serializers import BookingAnswerSerializer, BookInputSerializer, booking_answer
from mediqueue.api import PublicAPIView
from mediqueue.schema import error


def _answer(booking, slot, message: str, http_status=status.HTTP_200_OK) -> Answer:
    return Answer(http_status, booking_answer(message=message, booking=booking, slot=slot))


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    pattern=idempotency.KEY_PATTERN,
    description=(
        "1 to 255 printable characters, best a random UUID. A key belongs to the patient "
        "(booking) or the booking (cancel): a retry with the same key and the same request "
        "gets the first answer again (header Idempotent-Replayed: true), for 24 hours."
    ),
)
_IDEMPOTENCY_ERRORS = {
    422: error("idempotency_mismatch: the key was used with a different request."),
}


def _respond(request, action, *, scope: str) -> Response:
    """Run ``action`` (returning an Answer), once per Idempotency-Key of ``scope`` when the
    header is sent."""
    raw_key = request.headers.get("Idempotency-Key")
    if raw_key is None:
        answer = action()
    else:
        answer = idempotency.answer_once(
            scope=scope,
            key=idempotency.valid_key(raw_key),
            fingerprint=idempotency.request_fingerprint(
                method=request.method, path=request.path, payload=request.data
            ),
            action=action,
        )
    response = Response(answer.body, status=answer.status)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


# Answers of these endpoints carry the booking reference, the key to the booking: no cache,
# shared or private, may keep one.
_NEVER_STORED = method_decorator(never_cache, name="dispatch")


@_NEVER_STORED
class BookApi(PublicAPIView):
    @extend_schema(
        operation_id="book",
        request=BookInputSerializer,
        responses={
            201: BookingAnswerSerializer,
            400: error(
                "invalid: missing, wrong type, empty or too long userId; bad slotId; bad "
                "Idempotency-Key; "
                "malformed JSON."
            ),
            404: error("slot_not_found"),
            415: error("unsupported_media_type: the body is not JSON."),
            409: error(
                "slot_full, slot_closed (the slot already started), already_booked (this "
                "patient holds a seat in the slot; the answer never carries that booking), or "
                "idempotency_in_progress."
            ),
            413: error("payload_too_large"),
            **_IDEMPOTENCY_ERRORS,
            429: error(
                "throttled: too many requests from this client, or for this patient from this "
                "client; see Retry-After."
            ),
            503: error(
                "busy (the slot is contended) or unavailable (the database is restarting): "
                "retry after the Retry-After seconds."
            ),
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description=(
            "Book one seat. 201 with the booking and its reference (the only key to view or "
            "cancel it) when a seat was taken. A patient who already holds a seat in the slot "
            "gets 409 already_booked, without the booking; a full slot answers slot_full to "
            "everyone, its seat holders included."
        ),
    )
    def post(self, request):
        data = BookInputSerializer(data=request.data)
        valid = data.is_valid()
        # An invalid request counts against its client's limit too (its patient is unknown).
        throttles.check_booking(request, patient=data.validated_data.get("userId"))
        if not valid:
            raise ValidationError(data.errors)

        def book() -> Answer:
            outcome = services.book(
                slot_id=data.validated_data["slotId"], user_id=data.validated_data["userId"]
            )
            return _answer(outcome.booking, outcome.slot, messages.BOOKED, status.HTTP_201_CREATED)

        return _respond(
            request, book, scope=idempotency.key_scope("book", data.validated_data["userId"])
        )


@_NEVER_STORED
class BookingDetailApi(PublicAPIView):
    @extend_schema(
        operation_id="bookings_retrieve",
        responses={200: BookingAnswerSerializer, 404: error("booking_not_found")},
    )
    def get(self, request, reference: str):
        booking = selectors.booking_get(reference=reference)
        answer = _answer(booking, booking.slot, messages.FOUND)
        return Response(answer.body, status=answer.status)


@_NEVER_STORED
class BookingCancelApi(PublicAPIView):
    @extend_schema(
        operation_id="bookings_cancel",
        request=None,
        responses={
            200: BookingAnswerSerializer,
            404: error("booking_not_found"),
            400: error("invalid: a malformed Idempotency-Key."),
            409: error("slot_closed (the slot already started) or idempotency_in_progress."),
            **_IDEMPOTENCY_ERRORS,
            429: error("throttled: too many requests from this client; see Retry-After."),
            503: error("busy"),
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description="Cancel a booking; the seat is free at once. Repeating it is a no-op 200.",
    )
    def post(self, request, reference: str):
        throttles.check_cancel(request)

        def cancel() -> Answer:
            outcome = services.cancel(reference=reference)
            message = messages.CANCELLED if outcome.changed else messages.ALREADY_CANCELLED
            return _answer(outcome.booking, outcome.slot, message)

        return _respond(request, cancel, scope=idempotency.key_scope("cancel", reference))
