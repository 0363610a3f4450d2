"""Fuzz the whole API from its own OpenAPI schema (schemathesis): valid and invalid requests
alike must never get a 5xx, and every answer must match the schema (status codes, content
types, bodies, headers)."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from slots.models import Doctor, Slot

# Loading the schema needs Django but no database (pytest-django has set Django up by now).
schema = schemathesis.openapi.from_wsgi("/api/schema", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_the_test_connection_open():
    """Django closes the database connection at the end of every request; the test client
    unhooks that, and calling the WSGI app directly must too, or the test's transaction dies."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def some_slots(db, make_slot):
    """Real rows for the fuzzer to hit: small ids exist, so not every request is a 404."""
    for seats in (1, 3, 50):
        make_slot(seats=seats)
    assert Slot.objects.count() == 3 and Doctor.objects.exists()


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db
def test_the_api_honours_its_schema(case, staff_token):
    # The admin API is fuzzed as staff, so its bodies get past authentication. A schema-valid
    # request may still be refused by a rule no schema can state (a slot in the past, an
    # unknown id, a reused Idempotency-Key), so "valid data is accepted" is not checked; every
    # other check is, "no 5xx" and "the answer matches the schema" first.
    case.call_and_validate(
        headers={"Authorization": f"Token {staff_token}"},
        excluded_checks=[positive_data_acceptance],
    )


@pytest.fixture
def staff_token(staff_user):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=staff_user).key
