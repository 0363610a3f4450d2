"""The patient's waiting-list endpoints: join a full slot's list, look an entry up, leave.

Lean views like booking's (``mediqueue.api.LeanAPIView``), with the same Idempotency-Key, rate
limits and CORS as ``POST /api/book``. Every answer carries the entry's reference (the key to
it), so none may be stored by a cache.
"""

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status

from booking import idempotency, identity, messages, throttles, waitlist
from booking.api import (
    IDEMPOTENCY_ERRORS,
    IDEMPOTENCY_KEY_PARAMETER,
    patient_request,
    respond_once,
)
from booking.idempotency import Answer
from booking.serializers import (
    WaitlistAnswerSerializer,
    WaitlistJoinInputSerializer,
    waiting_answer,
)
from mediqueue import patients
from mediqueue.api import LeanAPIView, json_answer, read_json
from mediqueue.schema import error

_LEAVE_MESSAGES = {
    (True, waitlist.Status.LEFT): messages.LEFT,
    (False, waitlist.Status.LEFT): messages.ALREADY_LEFT,
}
_STATUS_MESSAGES = {
    waitlist.Status.WAITING: messages.WAITING,
    waitlist.Status.BOOKED: messages.PROMOTED,
    waitlist.Status.LEFT: messages.ALREADY_LEFT,
    waitlist.Status.EXPIRED: messages.EXPIRED,
    waitlist.Status.PASSED: messages.PASSED_OVER,
}


class WaitlistJoinApi(LeanAPIView):
    @extend_schema(
        operation_id="waitlist_join",
        request=WaitlistJoinInputSerializer,
        responses={
            201: WaitlistAnswerSerializer,
            400: error("invalid: a bad userId, email or Idempotency-Key; malformed JSON."),
            404: error("slot_not_found"),
            409: error(
                "seats_available (book instead); with verified patients only, already_booked "
                "(you hold a seat) or already_waiting (the answer never carries that entry); "
                "slot_closed (the slot started), or idempotency_in_progress."
            ),
            413: error("payload_too_large"),
            415: error("unsupported_media_type: the body is not JSON."),
            **IDEMPOTENCY_ERRORS,
            429: error("throttled: see Retry-After."),
            503: error("busy or unavailable: retry after the Retry-After seconds."),
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description=(
            "Join a full slot's waiting list. A freed seat goes to the earliest patient "
            "waiting, at once: the entry becomes BOOKED, with its booking."
        ),
    )
    def post(self, request: HttpRequest, slot_id: int) -> HttpResponse:
        data = patients.with_verified_patient(request, read_json(request))
        fields = patient_request(request, data, WaitlistJoinInputSerializer)
        user_id, email = fields["userId"], fields.get("email", "")
        throttles.check_booking(request, patient=user_id)

        def join() -> Answer:
            waiting = waitlist.waitlist_join(slot_id=slot_id, user_id=user_id, email=email)
            body = waiting_answer(message=messages.WAITING, waiting=waiting)
            return Answer(status.HTTP_201_CREATED, body)

        scope = idempotency.key_scope("waitlist-join", str(slot_id), user_id)
        return respond_once(request, join, scope=scope, payload=data)


class WaitlistEntryApi(LeanAPIView):
    @extend_schema(
        operation_id="waitlist_retrieve",
        responses={200: WaitlistAnswerSerializer, 404: error("waitlist_entry_not_found")},
        description=(
            "An entry: WAITING with its position (1 is next), BOOKED with its booking, LEFT, "
            "EXPIRED (the slot started first), or PASSED (its patient held a seat when its "
            "turn came)."
        ),
    )
    def get(self, request: HttpRequest, reference: str) -> HttpResponse:
        identity.check_entry_holder(request, reference)
        waiting = waitlist.waitlist_entry_get(reference=reference)
        body = waiting_answer(message=_STATUS_MESSAGES[waiting.status], waiting=waiting)
        return json_answer(body, never_store=True)


class WaitlistLeaveApi(LeanAPIView):
    @extend_schema(
        operation_id="waitlist_leave",
        request=None,
        responses={
            200: WaitlistAnswerSerializer,
            400: error("invalid: a malformed Idempotency-Key."),
            404: error("waitlist_entry_not_found"),
            409: error("already_promoted (cancel the booking instead) or idempotency_in_progress."),
            **IDEMPOTENCY_ERRORS,
            429: error("throttled: see Retry-After."),
            503: error("busy"),
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description="Leave the waiting list. Repeating it is a no-op 200.",
    )
    def post(self, request: HttpRequest, reference: str) -> HttpResponse:
        throttles.check_cancel(request)
        identity.check_entry_holder(request, reference)

        def leave() -> Answer:
            left = waitlist.waitlist_leave(reference=reference)
            message = _LEAVE_MESSAGES.get(
                (left.changed, left.waiting.status), _STATUS_MESSAGES[left.waiting.status]
            )
            return Answer(status.HTTP_200_OK, waiting_answer(message=message, waiting=left.waiting))

        scope = idempotency.key_scope("waitlist-leave", reference)
        return respond_once(request, leave, scope=scope, payload=None)
