"""The patient's booking endpoints: book, look a booking up, cancel it.

Lean views (``mediqueue.api.LeanAPIView``): DRF describes them for the schema, the request path
is plain Django. Every answer carries the booking reference, the key to the booking, so none may
be stored by a cache.
"""

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.serializers import Serializer

from booking import (
    idempotency,
    identity,
    messages,
    queue,
    queue_api,
    selectors,
    services,
    throttles,
)
from booking.idempotency import Answer
from booking.serializers import (
    BookingAnswerSerializer,
    BookInputSerializer,
    booked_answer,
    booking_answer,
)
from mediqueue import metrics, patients
from mediqueue.api import LeanAPIView, json_answer, parse, preferences, read_json
from mediqueue.schema import error

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
IDEMPOTENCY_ERRORS = {
    422: error("idempotency_mismatch: the key was used with a different request."),
}


def patient_request(request: HttpRequest, data, serializer_class: type[Serializer]) -> dict:
    """``data`` parsed by ``serializer_class``; an invalid request counts against its client's
    rate limit too, its patient unknown, before it is refused."""
    try:
        return parse(serializer_class, data)
    except ValidationError:
        throttles.check_booking(request, patient=None)
        raise


def respond_once(
    request: HttpRequest, action, *, scope: str, payload, headers=None
) -> HttpResponse:
    """Run ``action`` (returning an Answer), once per Idempotency-Key of ``scope`` when the
    header is sent; ``headers(answer)`` adds the headers an answer (first or replayed) needs."""
    raw_key = request.headers.get("Idempotency-Key")
    if raw_key is None:
        answer = action()
    else:
        answer = idempotency.answer_once(
            scope=scope,
            key=idempotency.valid_key(raw_key),
            fingerprint=idempotency.request_fingerprint(
                method=request.method, path=request.path, payload=payload
            ),
            action=action,
        )
    response = json_answer(answer.body, status=answer.status, never_store=True)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    for name, value in (headers(answer) if headers else {}).items():
        response[name] = value
    return response


class BookApi(LeanAPIView):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().dispatch(request, *args, **kwargs)
        if response.has_header("Idempotent-Replayed"):
            outcome = "replayed"  # the first answer again: no new seat
        elif response.status_code == status.HTTP_201_CREATED:
            outcome = "confirmed"
        elif response.status_code == status.HTTP_202_ACCEPTED:
            outcome = "queued"
        else:
            outcome = getattr(response, "error_code", None) or str(response.status_code)
        metrics.bookings(outcome).inc()
        return response

    @extend_schema(
        operation_id="book",
        request=BookInputSerializer,
        responses={
            201: BookingAnswerSerializer,
            202: queue_api.QueuedAnswerSerializer,
            400: error(
                "invalid: missing, wrong type, empty or too long userId; bad slotId; bad "
                "email; bad Idempotency-Key; malformed JSON."
            ),
            404: error("slot_not_found"),
            415: error("unsupported_media_type: the body is not JSON."),
            409: error(
                "slot_full, slot_closed (the slot already started), already_booked (this "
                "patient holds a seat in the slot; the answer never carries that booking), or "
                "idempotency_in_progress."
            ),
            413: error("payload_too_large"),
            **IDEMPOTENCY_ERRORS,
            429: error(
                "throttled: too many requests from this client, or for this patient from this "
                "client; see Retry-After."
            ),
            503: error(
                "busy (the slot is contended) or unavailable (the database is restarting): "
                "retry after the Retry-After seconds."
            ),
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER, queue_api.PREFER_ASYNC_PARAMETER],
        description=(
            "Book one seat. 201 with the booking and its reference (the only key to view or "
            "cancel it) when a seat was taken. A patient who already holds a seat in the slot "
            "gets 409 already_booked, without the booking; a full slot answers slot_full to "
            "everyone, its seat holders included. With the booking queue switched on, "
            "'Prefer: respond-async' queues the request instead: 202 with a ticket once the "
            "queue holds it durably, the outcome at Location (GET /api/book/requests/{ticket})."
        ),
    )
    def post(self, request: HttpRequest) -> HttpResponse:
        data = patients.with_verified_patient(request, read_json(request))
        fields = patient_request(request, data, BookInputSerializer)
        user_id, slot_id, email = fields["userId"], fields["slotId"], fields.get("email", "")
        scope = idempotency.key_scope("book", user_id)
        if queue.enabled() and "respond-async" in preferences(request):
            # Validated, limited and made idempotent exactly as a direct booking; the seat is
            # then decided in line (booking.allocator). The fingerprint tells the two apart: a
            # key sent once each way is a mismatch, not a replay of the other's answer.
            throttles.check_booking(request, patient=user_id)
            return respond_once(
                request,
                lambda: queue_api.queue_booking(slot_id=slot_id, user_id=user_id, email=email),
                scope=scope,
                payload={"respond-async": data},
                headers=queue_api.queued_headers,
            )
        limits = throttles.booking_limits(request, patient=user_id)

        def book() -> Answer:
            # The limits are counted with the booking, in its one round trip (or in Redis).
            booked = services.book(slot_id=slot_id, user_id=user_id, email=email, limits=limits)
            body = booked_answer(message=messages.BOOKED, booked=booked)
            return Answer(status.HTTP_201_CREATED, body)

        return respond_once(request, book, scope=scope, payload=data)


class BookingDetailApi(LeanAPIView):
    @extend_schema(
        operation_id="bookings_retrieve",
        responses={200: BookingAnswerSerializer, 404: error("booking_not_found")},
    )
    def get(self, request: HttpRequest, reference: str) -> HttpResponse:
        identity.check_booking_holder(request, reference)
        booking = selectors.booking_get(reference=reference)
        body = booking_answer(message=messages.FOUND, booking=booking, slot=booking.slot)
        return json_answer(body, never_store=True)


class BookingCancelApi(LeanAPIView):
    @extend_schema(
        operation_id="bookings_cancel",
        request=None,
        responses={
            200: BookingAnswerSerializer,
            404: error("booking_not_found"),
            400: error("invalid: a malformed Idempotency-Key."),
            409: error("slot_closed (the slot already started) or idempotency_in_progress."),
            **IDEMPOTENCY_ERRORS,
            429: error("throttled: too many requests from this client; see Retry-After."),
            503: error("busy"),
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description="Cancel a booking; the seat is free at once. Repeating it is a no-op 200.",
    )
    def post(self, request: HttpRequest, reference: str) -> HttpResponse:
        throttles.check_cancel(request)
        identity.check_booking_holder(request, reference)

        def cancel() -> Answer:
            outcome = services.cancel(reference=reference)
            message = messages.CANCELLED if outcome.changed else messages.ALREADY_CANCELLED
            body = booking_answer(message=message, booking=outcome.booking, slot=outcome.slot)
            return Answer(status.HTTP_200_OK, body)

        scope = idempotency.key_scope("cancel", reference)
        return respond_once(request, cancel, scope=scope, payload=None)
