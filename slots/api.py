from functools import lru_cache

from django.http import HttpResponse, QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import DjangoModelPermissions, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from mediqueue.api import LeanAPIView, json_answer, parse
from mediqueue.schema import error
from slots import selectors, services
from slots.models import Doctor, Slot
from slots.representation import slot_representation
from slots.serializers import (
    DoctorCreateInputSerializer,
    DoctorOutputSerializer,
    SlotCreateInputSerializer,
    SlotListQuerySerializer,
    SlotOutputSerializer,
)


class SlotListApi(LeanAPIView):
    @extend_schema(
        operation_id="slots_list",
        parameters=[SlotListQuerySerializer],
        responses={200: SlotOutputSerializer(many=True), 400: error("Bad filter.")},
        description=(
            "Slots ordered by start time. Without from/to/date only slots not yet started are "
            'listed. When more slots follow, a `Link: <…>; rel="next"` header points to them.'
        ),
    )
    def get(self, request):
        params = _listing_query(request.META.get("QUERY_STRING", ""))
        body, has_more = selectors.slot_list_json(
            filters=selectors.SlotFilters(
                doctor_id=params.get("doctor"),
                day=params.get("date"),
                start_from=params.get("from"),
                start_to=params.get("to"),
                only_available=params["available"],
            ),
            offset=params["offset"],
            limit=params["limit"],
        )
        response = HttpResponse(body, content_type="application/json")
        if has_more:
            next_query = request.GET.copy()
            next_query["offset"] = str(params["offset"] + params["limit"])
            next_url = request.build_absolute_uri(f"{request.path}?{next_query.urlencode()}")
            response["Link"] = f'<{next_url}>; rel="next"'
        return response


@lru_cache(maxsize=256)
def _listing_query(query_string: str) -> dict:
    """A listing's query string, parsed once: a browsing crowd sends the same few thousands of
    times, and parsing costs a tenth of a cached answer. The result depends on the string alone
    ("no time filter" means "not started yet" in SQL, not here); one that does not parse raises
    anew each time (lru_cache keeps no exception)."""
    return parse(SlotListQuerySerializer, QueryDict(query_string))


class SlotDetailApi(LeanAPIView):
    @extend_schema(
        operation_id="slots_retrieve",
        responses={200: SlotOutputSerializer, 404: error("slot_not_found")},
    )
    def get(self, request, slot_id: int):
        return json_answer(slot_representation(selectors.listed_slot(slot_id=slot_id)))


class DoctorListApi(LeanAPIView):
    @extend_schema(operation_id="doctors_list", responses={200: DoctorOutputSerializer(many=True)})
    def get(self, request):
        doctors = DoctorOutputSerializer(selectors.listed_doctors(), many=True).data
        return json_answer(doctors)


_ADMIN_ERRORS = {
    400: error("invalid: a field is missing or wrong."),
    401: error("not_authenticated: no credentials."),
    403: error("permission_denied: not staff, or without the admin's permission to add it."),
    415: error("unsupported_media_type: the body is not JSON."),
}


# Staff, and the model permission the Django admin asks for the same change (slots.add_doctor,
# slots.add_slot): a staff account without it is refused here as it is there.
ADMIN_PERMISSIONS = (IsAdminUser, DjangoModelPermissions)


class AdminDoctorCreateApi(APIView):
    permission_classes = ADMIN_PERMISSIONS
    queryset = Doctor.objects.none()  # the model whose permissions DjangoModelPermissions asks

    @extend_schema(
        operation_id="admin_doctors_create",
        request=DoctorCreateInputSerializer,
        responses={201: DoctorOutputSerializer, **_ADMIN_ERRORS},
    )
    def post(self, request):
        data = DoctorCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doctor = services.doctor_create(**data.validated_data)
        return Response(DoctorOutputSerializer(doctor).data, status=status.HTTP_201_CREATED)


class AdminSlotCreateApi(APIView):
    permission_classes = ADMIN_PERMISSIONS
    queryset = Slot.objects.none()

    @extend_schema(
        operation_id="admin_slots_create",
        request=SlotCreateInputSerializer,
        responses={
            201: SlotOutputSerializer,
            **_ADMIN_ERRORS,
            404: error("doctor_not_found"),
            409: error("slot_exists: the doctor already has a slot at that time."),
        },
    )
    def post(self, request):
        data = SlotCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        slot = services.slot_create(
            doctor_id=data.validated_data["doctorId"],
            start_time=data.validated_data["startTime"],
            total_seats=data.validated_data["totalSeats"],
            duration_minutes=data.validated_data["durationMinutes"],
        )
        return Response(slot_representation(slot), status=status.HTTP_201_CREATED)
