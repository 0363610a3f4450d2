from django.conf import settings
from rest_framework import exceptions, parsers


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class BoundedJSONParser(parsers.JSONParser):
    """JSON parser that refuses oversized bodies before reading them.

    DRF streams the body straight into ``json.load``, bypassing Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` check, so the same limit is applied here.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise PayloadTooLarge()
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            # json.loads gives up on deeply nested arrays with RecursionError, which DRF's
            # parser does not catch: a few kilobytes of "[[[[..." would otherwise be a 500.
            raise exceptions.ParseError("JSON nested too deeply.") from error
