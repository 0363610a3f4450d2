"""What the API views of every app share."""

from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


class PublicAPIView(APIView):
    """Anyone may call it; no session is read, so no CSRF token is needed."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
