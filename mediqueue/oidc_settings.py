"""Settings of verified patients (MEDIQUEUE_PATIENT_AUTH=oidc), from the environment, merged
into mediqueue.settings. Nothing here is needed, or read, in open mode.

- ``MEDIQUEUE_OIDC_ISSUER``: the provider's issuer (the ``iss`` every token must carry);
- ``MEDIQUEUE_OIDC_AUDIENCE``: what the API's bearer tokens must be issued for (``aud``);
  by default the pages' client id;
- ``MEDIQUEUE_OIDC_JWKS_URL``, ``MEDIQUEUE_OIDC_AUTHORIZATION_URL``, ``MEDIQUEUE_OIDC_TOKEN_URL``,
  ``MEDIQUEUE_OIDC_USERINFO_URL``: the provider's endpoints (its discovery document lists them);
- ``MEDIQUEUE_OIDC_CLIENT_ID``, ``MEDIQUEUE_OIDC_CLIENT_SECRET``: the pages' client, for the
  authorization-code flow (mozilla-django-oidc);
- ``MEDIQUEUE_OIDC_LEEWAY_SECONDS``: clock skew allowed on exp/nbf/iat (default 30, at most 120).
"""

from __future__ import annotations

import environ
from django.core.exceptions import ImproperlyConfigured

MAX_LEEWAY_SECONDS = 120
# Asymmetric only: a shared-secret (HS*) token could be made by anyone holding the secret, and
# "none" by anyone at all.
ALGORITHMS = ["RS256", "ES256"]


def oidc_settings(env: environ.Env, *, patient_auth: str) -> dict:
    if patient_auth not in ("open", "oidc"):
        raise ImproperlyConfigured(
            f'MEDIQUEUE_PATIENT_AUTH must be "open" or "oidc", not "{patient_auth}".'
        )
    if patient_auth != "oidc":
        return {"MEDIQUEUE_PATIENT_BACKENDS": []}
    required = {
        name: env.str(f"MEDIQUEUE_OIDC_{name}", default="")
        for name in (
            "ISSUER",
            "JWKS_URL",
            "AUTHORIZATION_URL",
            "TOKEN_URL",
            "USERINFO_URL",
            "CLIENT_ID",
            "CLIENT_SECRET",
        )
    }
    missing = [f"MEDIQUEUE_OIDC_{name}" for name, value in required.items() if not value]
    if missing:
        raise ImproperlyConfigured(
            f"MEDIQUEUE_PATIENT_AUTH=oidc needs {', '.join(missing)} (docs/security.md)."
        )
    leeway = env.int("MEDIQUEUE_OIDC_LEEWAY_SECONDS", default=30)
    if not 0 <= leeway <= MAX_LEEWAY_SECONDS:
        raise ImproperlyConfigured(
            f"MEDIQUEUE_OIDC_LEEWAY_SECONDS must be between 0 and {MAX_LEEWAY_SECONDS}."
        )
    return {
        "MEDIQUEUE_OIDC_ISSUER": required["ISSUER"],
        "MEDIQUEUE_OIDC_AUDIENCE": env.str(
            "MEDIQUEUE_OIDC_AUDIENCE", default=required["CLIENT_ID"]
        ),
        "MEDIQUEUE_OIDC_JWKS_URL": required["JWKS_URL"],
        "MEDIQUEUE_OIDC_LEEWAY_SECONDS": leeway,
        "MEDIQUEUE_OIDC_ALGORITHMS": ALGORITHMS,
        "MEDIQUEUE_PATIENT_BACKENDS": ["mediqueue.oidc.PatientOIDCBackend"],
        # mozilla-django-oidc, for the patient pages' login (authorization code + PKCE).
        "OIDC_RP_CLIENT_ID": required["CLIENT_ID"],
        "OIDC_RP_CLIENT_SECRET": required["CLIENT_SECRET"],
        "OIDC_OP_AUTHORIZATION_ENDPOINT": required["AUTHORIZATION_URL"],
        "OIDC_OP_TOKEN_ENDPOINT": required["TOKEN_URL"],
        "OIDC_OP_USER_ENDPOINT": required["USERINFO_URL"],
        "OIDC_OP_JWKS_ENDPOINT": required["JWKS_URL"],
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": "openid",
        "OIDC_USE_PKCE": True,
        "LOGIN_URL": "/oidc/authenticate/",
        "LOGIN_REDIRECT_URL": "/me/bookings",
        "LOGOUT_REDIRECT_URL": "/",
        "OIDC_STORE_ID_TOKEN": False,
    }
