"""Verified patients (MEDIQUEUE_PATIENT_AUTH=oidc): who a bearer token says the patient is.

A token is a JWT issued by the clinic's OpenID Connect provider. It is believed only when its
signature checks against a key of the provider's JWKS (RS256 or ES256: never "none", never a
shared secret), it was issued by MEDIQUEUE_OIDC_ISSUER for MEDIQUEUE_OIDC_AUDIENCE, and it has
not expired (exp, nbf and iat within MEDIQUEUE_OIDC_LEEWAY_SECONDS of our clock). The patient
is its subject (``sub``). PyJWT does the checking; its PyJWKClient fetches the JWKS, keeps the
keys for five minutes and fetches again, at most every 30 s, when a token names a key it does
not know (a rotation), so forged key ids cannot make us hammer the provider.

Three ways in, one check: ``token_patient`` for the lean API views (mediqueue.patients),
``PatientBearerAuthentication`` for plain DRF views, and ``PatientOIDCBackend``, the patient
pages' login through mozilla-django-oidc, whose ID tokens get the same check.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jwt
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from rest_framework.authentication import BaseAuthentication

from mediqueue import validation
from mediqueue.errors import ErrorCode, MediQueueError

# Patients' accounts for the pages are named after their subject, apart from staff's names.
PATIENT_USERNAME_PREFIX = "oidc:"
# How long fetching the JWKS may take before the request is answered 503.
JWKS_TIMEOUT_SECONDS = 5


class PatientTokenMissingError(MediQueueError):
    code = ErrorCode.NOT_AUTHENTICATED
    http_status = 401
    default_message = (
        "Sign in first: send your identity provider's token as `Authorization: Bearer <token>`."
    )

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="mediqueue"'}


class PatientTokenRefusedError(MediQueueError):
    code = ErrorCode.AUTHENTICATION_FAILED
    http_status = 401
    default_message = "Your sign-in token was refused; sign in again."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="mediqueue", error="invalid_token"'}


class NotThisPatientError(MediQueueError):
    code = ErrorCode.PERMISSION_DENIED
    http_status = 403
    default_message = "You are signed in as another patient than the userId sent."


class IdentityProviderUnavailableError(MediQueueError):
    code = ErrorCode.UNAVAILABLE
    http_status = 503
    default_message = "Sign-in cannot be checked right now. Please retry."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=JWKS_TIMEOUT_SECONDS)


def verified_claims(token: str, *, audience: str | None = None) -> dict:
    """The claims of ``token`` once its signature, issuer, audience and lifetime check out."""
    try:
        signing_key = _jwks_client(settings.MEDIQUEUE_OIDC_JWKS_URL).get_signing_key_from_jwt(token)
        return jwt.decode(
            token,
            signing_key.key,
            algorithms=settings.MEDIQUEUE_OIDC_ALGORITHMS,
            audience=audience or settings.MEDIQUEUE_OIDC_AUDIENCE,
            issuer=settings.MEDIQUEUE_OIDC_ISSUER,
            leeway=settings.MEDIQUEUE_OIDC_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWKClientConnectionError as error:
        raise IdentityProviderUnavailableError() from error
    except (jwt.PyJWKClientError, jwt.InvalidTokenError) as error:
        raise PatientTokenRefusedError(f"Your sign-in token was refused ({error}).") from error


def patient_of(claims: dict) -> str:
    """The patient id a verified token stands for: its subject, under the same rule as any
    patient id (mediqueue.validation)."""
    try:
        return validation.patient_id(claims["sub"])
    except validation.FieldError as error:
        raise PatientTokenRefusedError(
            f"The token's subject cannot be a patient id: {error.message}"
        ) from error


def token_patient(token: str) -> str:
    return patient_of(verified_claims(token))


def bearer_token(request) -> str | None:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass(frozen=True)
class VerifiedPatient:
    """``request.user`` of a DRF view behind PatientBearerAuthentication."""

    patient_id: str
    is_authenticated: bool = True
    is_staff: bool = False


class PatientBearerAuthentication(BaseAuthentication):
    """For a plain DRF APIView: ``request.user`` is the VerifiedPatient of a valid bearer
    token, ``request.auth`` its claims; an invalid token is 401, no token leaves it to the
    view's permission classes."""

    def authenticate(self, request):
        token = bearer_token(request)
        if token is None:
            return None
        claims = verified_claims(token)
        return VerifiedPatient(patient_of(claims)), claims

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="mediqueue"'


class PatientOIDCBackend(OIDCAuthenticationBackend):
    """The patient pages' login (authorization code + PKCE, by mozilla-django-oidc). The ID
    token gets verified_claims' checks (the library checks only its signature and nonce), and
    the account is the subject's own: never matched by email, never a staff account."""

    def get_payload_data(self, token, key):
        return verified_claims(
            token.decode() if isinstance(token, bytes) else token,
            audience=settings.OIDC_RP_CLIENT_ID,
        )

    def get_userinfo(self, access_token, id_token, payload):
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo is of another subject than the ID token.")
        return userinfo

    def verify_claims(self, claims) -> bool:
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(
            username=self.get_username(claims), is_staff=False, is_superuser=False
        )

    def get_username(self, claims) -> str:
        return PATIENT_USERNAME_PREFIX + patient_of(claims)

    def create_user(self, claims):
        user = self.UserModel.objects.create_user(self.get_username(claims))
        user.set_unusable_password()
        user.save(update_fields=["password"])
        return user

    def update_user(self, user, claims):
        return user


def page_patient(user) -> str | None:
    """The patient id of a signed-in patient page user, or None (anonymous, or staff)."""
    username = getattr(user, "username", "") or ""
    if not getattr(user, "is_authenticated", False) or user.is_staff:
        return None
    if not username.startswith(PATIENT_USERNAME_PREFIX):
        return None
    return username[len(PATIENT_USERNAME_PREFIX) :]
