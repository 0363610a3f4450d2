"""gunicorn settings for MediQueue; every value can be overridden from the environment.

Run: gunicorn -c mediqueue/gunicorn.conf.py mediqueue.wsgi
with DATABASE_URL and DJANGO_SECRET_KEY set (``make run`` sets both up locally).
"""

import multiprocessing
import os

bind = os.environ.get("MEDIQUEUE_BIND", "127.0.0.1:8000")
# Measured with `make bench` on 2 cores (README, "Performance"): sync workers at 2 x cores + 1
# book as fast as 3 sync workers or gthread (2x8, 3x4, 4x4) within the noise of one run, and
# serve the listing best; threads only pay on the framework floor (keep-alive), which no real
# flash crowd of new visitors has. A booking holds its worker for one prepared statement, so
# there is no long I/O wait for threads to hide.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", 1))
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
