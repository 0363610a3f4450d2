"""The production environment every server of the harness runs with, and its clients' addresses."""

from __future__ import annotations

from loadtests.harness import patient_address, production_env


def test_production_settings_with_limits_on_behind_one_proxy_and_the_given_database():
    env = production_env("postgresql://db.example/mediqueue_x")

    assert env["DATABASE_URL"] == "postgresql://db.example/mediqueue_x"
    assert env["DJANGO_DEBUG"] == "0"
    assert env["DJANGO_SECURE_SSL_REDIRECT"] == "0"
    assert env["MEDIQUEUE_NUM_PROXIES"] == "1"
    assert env["DJANGO_SETTINGS_MODULE"] == "mediqueue.settings"
    assert len(env["DJANGO_SECRET_KEY"]) >= 50


def test_each_environment_gets_a_secret_key_of_its_own():
    assert production_env("x")["DJANGO_SECRET_KEY"] != production_env("x")["DJANGO_SECRET_KEY"]


def test_overrides_are_laid_over_and_none_removes_a_variable(monkeypatch):
    monkeypatch.setenv("MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT", "off")

    env = production_env(
        "x", MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT=None, DJANGO_TIME_ZONE="UTC", DJANGO_DEBUG="0"
    )

    assert "MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT" not in env
    assert env["DJANGO_TIME_ZONE"] == "UTC"
    assert production_env("x")["MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT"] == "off"


def test_a_patient_always_books_from_the_same_private_address():
    address = patient_address("patient-7")

    assert address == patient_address("patient-7")
    assert address != patient_address("patient-8")
    assert address.startswith("10.")
    assert all(0 <= int(part) <= 255 for part in address.split("."))
