"""gunicorn settings for MediQueue; every value can be overridden from the environment.

Run: gunicorn -c mediqueue/gunicorn.conf.py mediqueue.wsgi
with DATABASE_URL and DJANGO_SECRET_KEY set (``make run`` sets both up locally).
"""

import multiprocessing
import os

bind = os.environ.get("MEDIQUEUE_BIND", "127.0.0.1:8000")
# Measured with `make bench` on 2 cores (README, "Performance"): threaded workers (cores + 1
# processes of 4 threads) keep a client's connection open between requests (nginx upstream
# keepalive, API clients), where sync workers close it after every answer; that TCP setup and
# teardown cost a booking more CPU than the booking's statements. Threads also cover the two
# database round trips of a booking, so fewer processes keep both cores busy.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# A flash crowd arrives all at once: let the kernel queue it rather than refuse connections.
backlog = int(os.environ.get("GUNICORN_BACKLOG", 4096))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# SIGTERM lets in-flight requests finish for up to this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
proc_name = "mediqueue"
# gunicorn 27's control socket lives at one path per user: two servers on one machine (make run
# beside a test or a load test) would fight over it, and nothing here uses it.
control_socket_disable = True

raw_env = ["DJANGO_SETTINGS_MODULE=mediqueue.settings"]
