"""The patient pages with verified patients (MEDIQUEUE_PATIENT_AUTH=oidc).

Patients sign in through the clinic's OpenID Connect provider (the authorization-code flow, by
mozilla-django-oidc: /oidc/authenticate/, /oidc/callback/, /oidc/logout/), and the pages act
for the signed-in patient only: the forms book for them (no name to type), a booking or entry
page opens for its own patient, and "My bookings" lists theirs. A visitor who is not signed in
is sent to sign in and brought back; a signed-in patient who opens someone else's booking sees
the same "not found" as for an unknown reference. In open mode none of this applies.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from mediqueue.oidc import page_patient
from mediqueue.patients import patients_verified


def signed_in_patient(request: HttpRequest) -> str | None:
    """The signed-in patient (verified mode), or None."""
    return page_patient(request.user) if patients_verified() else None


def sign_in_first(request: HttpRequest) -> HttpResponse | None:
    """A redirect to sign in when the pages need a patient and none is signed in, else None."""
    if patients_verified() and signed_in_patient(request) is None:
        return redirect_to_login(request.get_full_path())
    return None


def holder_only(request: HttpRequest, holder: str, *, not_found) -> HttpResponse | None:
    """None when the page may show what belongs to ``holder``: always in open mode (the
    reference is the key); with verified patients, only to that patient. Else a redirect to
    sign in, or ``not_found(error)``'s page for another patient."""
    if not patients_verified():
        return None
    if (redirect := sign_in_first(request)) is not None:
        return redirect
    if signed_in_patient(request) != holder:
        return not_found()
    return None


def only_when_verified(view):
    """A view that exists only with verified patients (404 in open mode)."""

    def wrapped(request, *args, **kwargs):
        if not patients_verified():
            raise Http404("Patients do not sign in here.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = getattr(view, "__name__", "view")
    return wrapped


def patient_context(request: HttpRequest) -> dict:
    """Template context processor: the header's sign-in state."""
    verified = patients_verified()
    return {
        "patients_verified": verified,
        "signed_in_patient": signed_in_patient(request) if verified else None,
    }
