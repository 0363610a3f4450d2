"""Which patients the service believes: MEDIQUEUE_PATIENT_AUTH (docs/security.md).

- ``open`` (the default, the original client's contract): ``userId`` is whatever the client
  sends. Anyone can book, cancel or queue in any patient's name, so no answer may tell whether
  a given userId holds a seat beyond what booking itself must say.
- ``oidc``: the patient is the subject of a bearer token from the clinic's OpenID Connect
  provider (mediqueue.oidc); a patient may then be told their own state.
"""

from django.conf import settings

from mediqueue import oidc, validation

OPEN = "open"
OIDC = "oidc"
MODES = (OPEN, OIDC)


def patients_verified() -> bool:
    return settings.MEDIQUEUE_PATIENT_AUTH == OIDC


def request_patient(request) -> str | None:
    """The verified patient of an API request: None in open mode; with verified patients, the
    subject of its bearer token (401 without a valid one)."""
    if not patients_verified():
        return None
    token = oidc.bearer_token(request)
    if token is None:
        raise oidc.PatientTokenMissingError()
    return oidc.token_patient(token)


def with_verified_patient(request, data: dict) -> dict:
    """A patient request's body with the patient it may act for: as sent in open mode; with
    verified patients, ``userId`` is the token's subject, and a body naming another is 403."""
    patient = request_patient(request)
    if patient is None or not isinstance(data, dict):
        return data  # open mode; or not a JSON object, which the endpoint's serializer refuses
    claimed = data.get("userId")
    if claimed is not None:
        try:
            same = validation.patient_id(claimed) == patient
        except validation.FieldError:
            same = False
        if not same:
            raise oidc.NotThisPatientError()
    return {**data, "userId": patient}
