"""HEAD answers like GET without a body, on every page and probe, through gunicorn as production
runs it, and without the WARNING gunicorn logs when an application sends a body anyway (an
uptime checker polling with HEAD would otherwise fill the log)."""

import http.client
from urllib.parse import urlsplit

import pytest

from booking import services, waitlist

pytestmark = pytest.mark.django_db(transaction=True)

GUNICORN_BODY_WARNING = "no-body response"


def fetch(base_url: str, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture
def paths(make_slot):
    """Every kind of page and probe a patient, an admin or a checker reaches with GET."""
    full = make_slot(seats=1)
    booking = services.book(slot_id=full.pk, user_id="head-patient-1").booking
    waiting = waitlist.waitlist_join(slot_id=full.pk, user_id="head-patient-2", email="")
    return [
        "/",
        "/healthz",
        "/readyz",
        f"/slots/{full.pk}/book",
        f"/slots/{full.pk}/waitlist",
        f"/bookings/{booking.reference}",
        f"/waitlist/{waiting.entry.reference}",
        "/api/slots",
        f"/api/slots/{full.pk}",
        "/api/doctors",
        f"/api/bookings/{booking.reference}",
        "/api/schema",
        "/api/docs",
        "/admin/login/",
    ]


def test_head_answers_as_get_without_a_body_and_without_a_warning(live_gunicorn, paths, tmp_path):
    log_path = tmp_path / "gunicorn.log"
    with live_gunicorn(workers=1, log_path=log_path) as server:
        answers = {
            path: (fetch(server.base_url, "GET", path), fetch(server.base_url, "HEAD", path))
            for path in paths
        }

    for path, ((get_status, get_headers, get_body), (status, headers, body)) in answers.items():
        assert (path, status) == (path, get_status)
        assert get_status == 200, path
        assert body == b"", path
        assert headers["content-type"] == get_headers["content-type"], path
        assert headers.get("content-length") == str(len(get_body)), path
    assert GUNICORN_BODY_WARNING not in log_path.read_text()
