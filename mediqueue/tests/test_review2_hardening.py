"""The second security review's "also seen": CORS for a browser client's retries, staff tokens
that expire, and no production start with a published or empty secret key."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

ORIGIN = {"HTTP_ORIGIN": "https://patients.example"}


@pytest.mark.django_db
def test_a_browser_on_another_origin_may_send_an_idempotency_key_and_a_bearer_token(api_client):
    preflight = api_client.options(
        "/api/book",
        **ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, idempotency-key, authorization, prefer",
    )

    assert preflight.status_code == 200
    allowed = {h.strip() for h in preflight["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "idempotency-key", "authorization", "prefer"} <= allowed


@pytest.mark.django_db
def test_a_browser_on_another_origin_can_read_retry_after_and_the_replay_header(
    api_client, make_slot, post_json
):
    slot = make_slot(seats=2)

    answer = post_json(api_client, "/api/book", {"userId": "p", "slotId": slot.pk}, **ORIGIN)

    exposed = {h.strip().lower() for h in answer["Access-Control-Expose-Headers"].split(",")}
    assert {"retry-after", "idempotent-replayed", "location"} <= exposed


@pytest.mark.django_db
def test_a_staff_token_older_than_its_lifetime_is_refused(
    staff_user, post_json, assert_error, settings
):
    token = Token.objects.create(user=staff_user)
    Token.objects.filter(pk=token.pk).update(
        created=timezone.now() - timedelta(hours=settings.MEDIQUEUE_STAFF_TOKEN_TTL_HOURS + 1)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = post_json(client, "/api/admin/doctors", {"name": "Dr. Late"})

    body = assert_error(response, 401, "authentication_failed")
    assert "expired" in body["message"]


@pytest.mark.django_db
def test_a_fresh_staff_token_still_works(staff_client, post_json):
    assert post_json(staff_client, "/api/admin/doctors", {"name": "Dr. Now"}).status_code == 201


@pytest.mark.parametrize(
    "key",
    [
        "",
        "django-insecure-mediqueue-development-only",  # the key this repository once published
        "django-insecure-" + "x" * 50,  # Django's own marker of a key made for development
    ],
)
def test_the_production_entry_point_refuses_a_published_or_empty_key(key, live_env):
    result = subprocess.run(
        [sys.executable, "-c", "import mediqueue.wsgi"],
        cwd=settings.BASE_DIR,
        env={**live_env(), "DJANGO_SECRET_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
