"""No booking or waiting-list reference in any log line (security review 2, finding 3): not in
Django's CSRF warnings, not in the request logger's 5xx errors, not in gunicorn's access log,
whether the path was sent plainly or percent-encoded."""

import json
import urllib.error
import urllib.request

import pytest

from booking import services, waitlist

pytestmark = pytest.mark.django_db(transaction=True)


def send(base_url: str, method: str, path: str, body: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=data if method == "POST" else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_no_reference_in_csrf_warnings_busy_errors_or_the_access_log(
    make_slot, tmp_path, live_gunicorn, slot_lock_held_elsewhere
):
    slot = make_slot(seats=1)
    reference = services.book(slot_id=slot.pk, user_id="holder").reference
    entry = waitlist.waitlist_join(slot_id=slot.pk, user_id="waiter").entry.reference
    encoded = "".join(f"%{ord(c):02X}" for c in reference)
    log_path, access_log = tmp_path / "app.log", tmp_path / "access.log"

    with live_gunicorn(
        workers=1,
        log_path=log_path,
        DJANGO_LOG_FORMAT="json",
        MEDIQUEUE_LOCK_TIMEOUT_MS="200",
        GUNICORN_ACCESSLOG=str(access_log),
    ) as server:
        # CSRF failures of the pages' forms (no cookie sent): Django warns with the path.
        csrf = [
            send(server.base_url, "POST", f"/bookings/{reference}/cancel"),
            send(server.base_url, "POST", f"/waitlist/{entry}/leave"),
            send(server.base_url, "POST", f"/%62ookings/{reference}/cancel"),
            send(server.base_url, "POST", f"/bookings%2F{encoded}/cancel"),
        ]
        # 503 busy: the request logger writes an ERROR with the path and the request.
        with slot_lock_held_elsewhere(slot.pk):
            busy = [
                send(server.base_url, "POST", f"/api/bookings/{reference}/cancel"),
                send(server.base_url, "POST", f"/api/waitlist/{entry}/leave"),
                send(server.base_url, "POST", f"/api/%62ookings/{encoded}/cancel"),
            ]

    assert csrf[:3] == [403, 403, 403]
    assert busy == [503, 503, 503]
    app_log = log_path.read_text()
    assert "CSRF" in app_log and "Service Unavailable" in app_log  # the lines were written
    assert reference not in app_log and entry not in app_log
    assert encoded not in app_log
    gunicorn_access = access_log.read_text()
    assert "/cancel" in gunicorn_access
    assert reference not in gunicorn_access and entry not in gunicorn_access
    assert encoded not in gunicorn_access
