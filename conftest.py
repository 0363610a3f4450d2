"""Factories, clients and helpers shared by every app's tests (all against real PostgreSQL),
and the live servers: the service as production runs it (``loadtests.harness``), on the test
database. Test modules share helpers through these fixtures, never by importing one another
(an import-linter contract in pyproject.toml holds that)."""

from __future__ import annotations

import itertools
import json
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loadtests.harness import (
    database_url_of,
    free_port,
    gunicorn,
    ports_for_tests,
    production_env,
)
from loadtests.harness.nginx import nginx_proxy
from slots.models import Doctor, Slot

_slot_minutes = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_listing_cache_nor_throttling(settings):
    """Tests write slots straight through the ORM, which the listing cache cannot see, and book
    far faster than any patient; the cache and the throttles have tests of their own that turn
    them back on."""
    settings.MEDIQUEUE_LISTING_CACHE_SECONDS = 0
    settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = None
    settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = None


@pytest.fixture
def make_doctor(db):
    def make(name: str = "Dr. Test", specialty: str = "General practice") -> Doctor:
        return Doctor.objects.create(name=name, specialty=specialty)

    return make


@pytest.fixture
def make_slot(db, make_doctor):
    """A slot that starts in the future unless ``starts_in`` says otherwise."""

    def make(
        *,
        seats: int = 3,
        starts_in: timedelta | None = None,
        doctor: Doctor | None = None,
        duration_minutes: int = 30,
    ) -> Slot:
        start = timezone.now() + (starts_in or timedelta(days=1, minutes=next(_slot_minutes)))
        return Slot.objects.create(
            doctor=doctor or make_doctor(),
            start_time=start.replace(microsecond=0),
            total_seats=seats,
            duration_minutes=duration_minutes,
        )

    return make


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_user(django_user_model):
    """A clinic admin: staff, with the permissions the admin and the admin API ask for."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("clinic-admin", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="slots", codename__startswith="add_")
    )
    return user


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    return client


@pytest.fixture
def admin_browser(client, admin_user):
    """A browser logged in to the admin as a superuser."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def book_seat(db):
    """``book_seat(slot_id=, user_id=)``: a seat taken through the booking service, for the
    tests of the layers below booking, which set the scene with bookings but never import it."""
    from booking import services

    return services.book


@pytest.fixture
def cancel_booking(db):
    """``cancel_booking(reference=)``: the booking service's cancel (see ``book_seat``)."""
    from booking import services

    return services.cancel


@pytest.fixture
def slot_lock_held_elsewhere(transactional_db):
    """A context manager holding a slot's row lock from another thread and connection, the way
    a slow transaction of another request would, until the block ends."""
    from django.db import connection, transaction

    from slots.locks import lock_slot

    @contextmanager
    def hold(slot_id: int):
        locked, release = threading.Event(), threading.Event()

        def hold_the_lock():
            try:
                with transaction.atomic():
                    lock_slot(slot_id)
                    locked.set()
                    release.wait(10)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        try:
            assert locked.wait(10), "could not take the slot lock"
            yield
        finally:
            release.set()
            holder.join()

    return hold


# --- JSON requests through the test client --------------------------------------------------


@pytest.fixture(scope="session")
def post_json():
    """``post_json(client, url, payload, **extra)``: POST ``payload`` as JSON (a str or bytes
    is sent as it is, for bodies that are not)."""

    def post(client, url, payload, **extra):
        body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        return client.post(url, data=body, content_type="application/json", **extra)

    return post


@pytest.fixture(scope="session")
def assert_error():
    """``assert_error(response, status, code)``: the error envelope of DESIGN.md, with that
    status and code and a message; returns the parsed body."""

    def check(response, status: int, code: str) -> dict:
        assert response.status_code == status, response.content
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert body["status"] == "FAILED"
        assert body["code"] == code
        assert body["message"]
        return body

    return check


# --- live servers: gunicorn (and nginx) as production runs them, on the test database --------


@pytest.fixture(scope="session")
def live_database_url(django_db_setup) -> str:
    """The test database's URL, for the servers and processes a test starts."""
    from django.db import connection

    return database_url_of(connection.settings_dict)


@pytest.fixture(scope="session")
def live_env(live_database_url):
    """``live_env(**overrides)``: the production environment (``loadtests.harness.
    production_env``) on the test database, with plain-text logs; a None override removes a
    variable."""

    def env(**overrides: str | None) -> dict[str, str]:
        return production_env(live_database_url, **{"DJANGO_LOG_FORMAT": "plain", **overrides})

    return env


@pytest.fixture(scope="session")
def live_gunicorn(live_env):
    """``with live_gunicorn(workers=3, log_path=None, **env) as server:`` gunicorn with the
    project's config on the test database, ``env`` laid over ``live_env``; ``server.base_url``,
    and ``server.process``, its master, for tests that signal it. SIGTERM afterwards. Its port
    is free, within MEDIQUEUE_TEST_PORTS when that is set."""

    @contextmanager
    def serve(workers: int = 3, log_path: Path | None = None, **env: str | None):
        port = free_port(ports_for_tests())
        with gunicorn(live_env(**env), port=port, workers=workers, log_path=log_path) as server:
            yield server

    return serve


@pytest.fixture(scope="session")
def live_gunicorn_behind_nginx(live_gunicorn):
    """``with live_gunicorn_behind_nginx(workers=2, *, nginx_settings=None, nginx_log_dir=None,
    **env) as (server, proxy_url):`` the gunicorn above behind nginx with the deployment's
    configuration (deploy/nginx/; ``nginx_settings`` override its production values), the app
    trusting that one proxy as in production (MEDIQUEUE_NUM_PROXIES=1). nginx's access and
    error logs go to ``nginx_log_dir`` when given."""

    @contextmanager
    def serve(
        workers: int = 2,
        *,
        nginx_settings: dict[str, str] | None = None,
        nginx_log_dir: Path | None = None,
        **env: str | None,
    ):
        with (
            live_gunicorn(workers, **env) as server,
            nginx_proxy(
                [f"{server.host}:{server.port}"],
                listen_port=free_port(ports_for_tests()),
                log_dir=nginx_log_dir,
                **(nginx_settings or {}),
            ) as proxy_url,
        ):
            yield server, proxy_url

    return serve


# --- Verified patients: an OpenID provider's keys, made in the test ---------------------------


class SigningProvider:
    """Signing keys made for the test (RSA for RS256, P-256 for ES256), their JWKS served over
    HTTP on loopback as a provider serves it, and tokens signed with them."""

    issuer = "https://id.clinic.test"
    audience = "mediqueue-api"

    def __init__(self, keys: dict):
        import jwt

        self.keys = keys
        jwks = []
        for algorithm, (kid, key) in self.keys.items():
            jwk = json.loads(
                jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(key.public_key())
            )
            jwks.append({**jwk, "kid": kid, "use": "sig", "alg": algorithm})
        self.jwks = {"keys": jwks}
        self.jwks_requests = 0

    def token(
        self,
        sub: str = "patient-7",
        *,
        algorithm: str = "RS256",
        key=None,
        kid=None,
        headers=None,
        **claims,
    ) -> str:
        import time

        import jwt

        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        own_kid, own_key = self.keys[algorithm]
        return jwt.encode(
            payload,
            key or own_key,
            algorithm=algorithm,
            headers={"kid": kid or own_kid, **(headers or {})},
        )


@pytest.fixture(scope="session")
def signing_keys() -> dict:
    """{algorithm: (kid, private key)}, made once per test session (RSA keys take a while)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    return {
        "RS256": ("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ES256": ("ec-1", ec.generate_private_key(ec.SECP256R1())),
    }


@pytest.fixture
def identity_provider(settings, signing_keys):
    """A SigningProvider whose JWKS the service trusts, with MEDIQUEUE_PATIENT_AUTH=oidc."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from mediqueue import oidc

    provider = SigningProvider(signing_keys)

    class JWKS(BaseHTTPRequestHandler):
        def do_GET(self):
            provider.jwks_requests += 1
            body = json.dumps(provider.jwks).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JWKS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.MEDIQUEUE_PATIENT_AUTH = "oidc"
    settings.MEDIQUEUE_OIDC_ISSUER = provider.issuer
    settings.MEDIQUEUE_OIDC_AUDIENCE = provider.audience
    settings.MEDIQUEUE_OIDC_JWKS_URL = f"http://127.0.0.1:{server.server_port}/jwks"
    settings.MEDIQUEUE_OIDC_LEEWAY_SECONDS = 30
    settings.MEDIQUEUE_OIDC_ALGORITHMS = ["RS256", "ES256"]
    # The pages' client (mozilla-django-oidc): its endpoints are never reached by these tests.
    settings.OIDC_RP_CLIENT_ID = "mediqueue-pages"
    settings.OIDC_RP_CLIENT_SECRET = "pages-secret"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.issuer}/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider.issuer}/me"
    settings.OIDC_OP_JWKS_ENDPOINT = settings.MEDIQUEUE_OIDC_JWKS_URL
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_RP_SCOPES = "openid"
    settings.OIDC_USE_PKCE = True
    settings.LOGIN_URL = "/oidc/authenticate/"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "mediqueue.oidc.PatientOIDCBackend",
    ]
    oidc._jwks_client.cache_clear()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        oidc._jwks_client.cache_clear()


@pytest.fixture
def patient_browser(client, identity_provider, django_user_model):
    """``patient_browser(sub)``: the test client signed in to the pages as that patient, as
    the OpenID Connect login leaves it (mediqueue.oidc.PatientOIDCBackend's account)."""
    from mediqueue.oidc import PatientOIDCBackend

    def sign_in(sub: str = "patient-7"):
        user = PatientOIDCBackend().create_user({"sub": sub})
        client.force_login(user, backend="mediqueue.oidc.PatientOIDCBackend")
        return client

    return sign_in


@pytest.fixture
def patient_client(identity_provider):
    """``patient_client(sub)``: an API client carrying a valid bearer token for ``sub``."""

    def make(sub: str = "patient-7", **token_options) -> APIClient:
        client = APIClient()
        token = identity_provider.token(sub, **token_options)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


# --- the booking queue: a RabbitMQ of the session's own ------------------------------------


@pytest.fixture(scope="session")
def rabbitmq(tmp_path_factory):
    """A RabbitMQ node for the whole session: Debian's rabbitmq-server from a throwaway
    directory, on free loopback ports (loadtests.harness.rabbitmq; `make test` installs the
    package when it is missing)."""
    from loadtests.harness.rabbitmq import rabbitmq_node

    with rabbitmq_node(tmp_path_factory.mktemp("rabbitmq")) as node:
        yield node


class _BookingQueue:
    """The session's RabbitMQ as the booking queue sees it: what waits in its queues."""

    def __init__(self, node):
        self.node = node
        self.url = node.url

    def _channel(self):
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        return connection, connection.channel()

    def depth(self) -> int:
        """Requests ready in every shard (not those a consumer holds unacked)."""
        from booking import queue

        connection, channel = self._channel()
        try:
            queue.declare_queues(channel)
            return sum(
                channel.queue_declare(name, passive=True).method.message_count
                for name in queue.queue_names()
            )
        finally:
            connection.close()

    def publish_raw(self, slot_id: int, body: bytes) -> None:
        """Put ``body`` on ``slot_id``'s queue as it is (a message of anyone's making)."""
        from booking import queue

        connection, channel = self._channel()
        try:
            queue.declare_queues(channel)
            channel.basic_publish("", queue.queue_of(slot_id), body)
        finally:
            connection.close()

    def delete_queues(self) -> None:
        from booking import queue

        connection, channel = self._channel()
        try:
            for name in queue.queue_names():
                channel.queue_delete(name)
        finally:
            connection.close()


@pytest.fixture
def booking_queue(rabbitmq, settings):
    """The booking queue switched on (MEDIQUEUE_BOOKING_QUEUE_URL) on the session's RabbitMQ,
    its queues empty at the start and deleted afterwards."""
    from booking import queue

    settings.MEDIQUEUE_BOOKING_QUEUE_URL = rabbitmq.url
    queued = _BookingQueue(rabbitmq)
    queued.delete_queues()
    yield queued
    queue.close_publisher()
    queued.delete_queues()


@pytest.fixture
def allocator_running(transactional_db, booking_queue):
    """``with allocator_running(**options) as allocator:`` the allocator (booking.allocator)
    in a thread of this process while the block runs, stopped (its batch finished) after."""
    from django.db import connection

    from booking.allocator import Allocator

    @contextmanager
    def run(**options):
        allocator = Allocator(url=booking_queue.url, **options)

        def target():
            try:
                allocator.run()
            finally:
                connection.close()

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        try:
            yield allocator
        finally:
            allocator.stop()
            thread.join(10)
            assert not thread.is_alive(), "the allocator did not stop"

    return run


@pytest.fixture(scope="session")
def wait_for_outcomes():
    """``wait_for_outcomes(count, seconds=20)``: until ``count`` queued requests are decided;
    returns them in the order of record."""
    import time

    def wait(count: int, seconds: float = 20):
        from booking.models import BookingRequest

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            outcomes = list(BookingRequest.objects.order_by("id"))
            if len(outcomes) >= count:
                return outcomes
            time.sleep(0.05)
        raise AssertionError(f"{len(outcomes)} of {count} queued requests decided in {seconds} s")

    return wait
