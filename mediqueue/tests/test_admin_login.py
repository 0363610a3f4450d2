"""The admin login locks out password guessing (django-axes), per username and address."""

import pytest
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "desk", password="right-password-42", is_staff=True
    )


def log_in(client, password, address="198.51.100.4"):
    return client.post(LOGIN, {"username": "desk", "password": password}, REMOTE_ADDR=address)


def test_after_five_wrong_passwords_even_the_right_one_is_refused(client, staff):
    # Finding 6: 20 wrong passwords, then the right one, were all accepted.
    wrong = [log_in(client, f"guess-{n}") for n in range(5)]
    right = log_in(client, "right-password-42")

    assert [r.status_code for r in wrong[:4]] == [200] * 4  # the form again, with an error
    assert right.status_code == 429
    assert "locked" in right.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_per_address_so_the_real_admin_elsewhere_can_still_log_in(client, staff):
    for n in range(5):
        log_in(client, f"guess-{n}", address="203.0.113.66")

    elsewhere = log_in(client, "right-password-42", address="192.0.2.10")

    assert elsewhere.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_staff_can_unlock_an_account(client, staff):
    for n in range(5):
        log_in(client, f"guess-{n}")
    assert log_in(client, "right-password-42").status_code == 429

    call_command("axes_reset_username", "desk")

    assert log_in(client, "right-password-42").status_code == 302
