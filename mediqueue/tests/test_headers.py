"""Security headers: a strict Content-Security-Policy on the pages, no caching of anything that
carries a booking reference, and proxy headers trusted only when a proxy is declared."""

import json

import pytest

from booking import services

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        name: value.strip()
        for name, _, value in (part.strip().partition(" ") for part in header.split(";"))
    }


@pytest.mark.parametrize("url", ["/", "/admin/login/", "/api/docs"])
def test_pages_carry_a_strict_content_security_policy(client, url):
    response = client.get(url)

    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"


def test_the_patient_pages_need_no_inline_style_either(client, make_slot):
    slot = make_slot(seats=4)
    services.book(slot_id=slot.pk, user_id="p")

    response = client.get("/")

    assert policy(response)["style-src"] == "'self'"
    assert 'style="' not in response.content.decode()


def test_every_answer_carrying_a_reference_is_never_stored(api_client, make_slot, post_json):
    slot = make_slot(seats=3)
    booked = post_json(
        api_client,
        "/api/book",
        {"userId": "p", "slotId": slot.pk},
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    replayed = post_json(
        api_client,
        "/api/book",
        {"userId": "p", "slotId": slot.pk},
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    reference = booked.json()["booking"]["reference"]
    looked_up = api_client.get(f"/api/bookings/{reference}")
    cancelled = api_client.post(f"/api/bookings/{reference}/cancel")

    for response in (booked, replayed, looked_up, cancelled):
        assert reference in response.content.decode()
        assert "no-store" in response["Cache-Control"], response


@pytest.fixture
def show(run_python):
    def show(expression: str, **env) -> object:
        result = run_python(
            "import json, django; django.setup(); from django.conf import settings; "
            f"print(json.dumps({expression}))",
            DJANGO_SETTINGS_MODULE="mediqueue.settings",
            **env,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return show


def test_x_forwarded_proto_is_trusted_only_behind_a_declared_proxy(show):
    expression = "settings.SECURE_PROXY_SSL_HEADER"

    assert show(expression, MEDIQUEUE_NUM_PROXIES="0") is None
    assert show(expression, MEDIQUEUE_NUM_PROXIES="1") == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_hsts_preload_is_opt_in(show):
    expression = "[settings.SECURE_HSTS_SECONDS > 0, settings.SECURE_HSTS_PRELOAD]"

    assert show(expression) == [True, False]
    assert show(expression, DJANGO_SECURE_HSTS_PRELOAD="1") == [True, True]
