"""Which patients the service believes: MEDIQUEUE_PATIENT_AUTH (docs/security.md).

- ``open`` (the default, the original client's contract): ``userId`` is whatever the client
  sends. Anyone can book, cancel or queue in any patient's name, so no answer may tell whether
  a given userId holds a seat beyond what booking itself must say.
- ``oidc``: the patient is the subject of a bearer token from the clinic's OpenID Connect
  provider (mediqueue.oidc); a patient may then be told their own state.
"""

from django.conf import settings

OPEN = "open"
OIDC = "oidc"
MODES = (OPEN, OIDC)


def patients_verified() -> bool:
    return settings.MEDIQUEUE_PATIENT_AUTH == OIDC
