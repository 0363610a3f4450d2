"""OpenAPI pieces shared by the API views."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "status": serializers.CharField(default="FAILED"),
        "code": serializers.CharField(help_text="Stable machine code, e.g. slot_full."),
        "message": serializers.CharField(help_text="Human-readable explanation."),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Per-field messages, for code 'invalid'.",
        ),
    },
)


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)
