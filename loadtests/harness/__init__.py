"""The harness: the one place that knows how to run MediQueue the way production does.

The load tests (``loadtests.locust``), chaos (``loadtests.chaos``), the bench
(``loadtests.bench``), the browser tests (``e2e/run.py``) and the live-server tests (the
``live_*`` fixtures of the root ``conftest.py``) all start the service through it, so that a
change of settings lands once. Its pieces, each importable from here:

    production_env(database_url, **overrides) -> dict        environment.py
        os.environ + DEBUG off, a secret key made for the call, no TLS redirect, rate limits on
        behind one declared proxy (MEDIQUEUE_NUM_PROXIES=1), DATABASE_URL; an override of None
        removes a variable.
    patient_address(user_id) -> str                          environment.py
        the X-Forwarded-For address a simulated patient always books from.
    patient_loopback_address(user_id) -> str                 environment.py
        the 127.x.y.z source address a patient connects from through nginx.
    gunicorn(env, *, port, workers=None, log_path=None, ready_seconds=60)   service.py
        a context manager: gunicorn with mediqueue/gunicorn.conf.py on 127.0.0.1:port, yielded
        as a Gunicorn (base_url, port, process = the master, log_path, ready_within(seconds),
        worker_pids()) once /readyz answers; SIGTERM afterwards.
    manage(env, *args, check=True, timeout=300) -> CompletedProcess           commands.py
    free_port(candidates), free_ports(count, candidates), ports_for_tests(),
        LOADTEST_PORTS, E2E_PORTS, BENCH_PORTS, CHAOS_PORTS, CLUSTER_PORTS       ports.py
    configured_database_url(), server_admin_url(), create_database(admin_url, name) -> url,
        drop_database(admin_url, name), with_database(url, name), database_name(url),
        database_url_of(settings_dict)
                                                                               databases.py
    wait_until_answering(url, *, process, log_path, seconds), answering_within(...),
        stop(process, *, sig, seconds, group)                                 processes.py
    post_book(base_url, user_id, slot_id, *, address=None) -> (status, code)  client.py
    notice_worker(env, *, log_path), start_notice_worker(env, log_path)       worker.py
        the notices' worker (manage.py procrastinate worker) beside the service.
    allocator(env, *, log_path), start_allocator(env, log_path)               worker.py
        the booking queue's allocator (manage.py allocate), with MEDIQUEUE_BOOKING_QUEUE_URL.

Not imported here: ``loadtests.harness.rabbitmq.rabbitmq_node(directory)``, a RabbitMQ of a
run's own (Debian's rabbitmq-server on free loopback ports), for the booking queue; and, so that
``python -m loadtests.harness.nginx`` runs it cleanly:
    loadtests.harness.nginx.nginx_proxy(upstreams, *, listen_port, log_dir=None, **settings)
        nginx with deploy/nginx/'s configuration in front of the given app nodes.

From the shell (CI): ``python -m loadtests.harness create-database NAME`` / ``drop-database``.

For a runner that uses Django in its own process: ``in_process`` (setup_django, migrate,
check_bookings) and ``slots`` (create_slots, read_slots, SlotState).

A typical use::

    env = production_env(database_url, WEB_CONCURRENCY="3")
    manage(env, "migrate", "--noinput")
    with gunicorn(env, port=free_port(LOADTEST_PORTS), log_path=log) as server:
        post_book(server.base_url, "patient-1", slot_id)
"""

from loadtests.harness.client import post_book
from loadtests.harness.commands import manage
from loadtests.harness.databases import (
    configured_database_url,
    create_database,
    database_name,
    database_url_of,
    drop_database,
    server_admin_url,
    with_database,
)
from loadtests.harness.environment import (
    BASE_DIR,
    patient_address,
    patient_loopback_address,
    production_env,
)
from loadtests.harness.ports import (
    BENCH_PORTS,
    CHAOS_PORTS,
    CLUSTER_PORTS,
    E2E_PORTS,
    LOADTEST_PORTS,
    free_port,
    free_ports,
    ports_for_tests,
)
from loadtests.harness.processes import answering_within, stop, wait_until_answering
from loadtests.harness.service import Gunicorn, gunicorn
from loadtests.harness.worker import allocator, notice_worker, start_allocator, start_notice_worker

__all__ = [
    "BASE_DIR",
    "BENCH_PORTS",
    "CHAOS_PORTS",
    "CLUSTER_PORTS",
    "E2E_PORTS",
    "LOADTEST_PORTS",
    "Gunicorn",
    "allocator",
    "answering_within",
    "configured_database_url",
    "create_database",
    "database_name",
    "database_url_of",
    "drop_database",
    "free_port",
    "free_ports",
    "gunicorn",
    "manage",
    "notice_worker",
    "patient_address",
    "patient_loopback_address",
    "ports_for_tests",
    "post_book",
    "production_env",
    "server_admin_url",
    "start_allocator",
    "start_notice_worker",
    "stop",
    "wait_until_answering",
    "with_database",
]
