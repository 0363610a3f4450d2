"""gunicorn settings for MediQueue; every value can be overridden from the environment.

Run: gunicorn -c mediqueue/gunicorn.conf.py mediqueue.wsgi
with DATABASE_URL and DJANGO_SECRET_KEY set (``make run`` sets both up locally).
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

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
# Its access and error lines go through the same reference redaction as the app's own.
logger_class = "mediqueue.gunicorn_logging.RedactingLogger"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
proc_name = "mediqueue"
# gunicorn 27's control socket lives at one path per user: two servers on one machine (make run
# beside a test or a load test) would fight over it, and nothing here uses it.
control_socket_disable = True

raw_env = ["DJANGO_SETTINGS_MODULE=mediqueue.settings"]

# /metrics (mediqueue.metrics) must sum every worker of this node, whichever worker answers the
# scrape: prometheus_client's multiprocess mode, where each process counts into files of one
# directory. Set here, in the master, before any worker imports prometheus_client (the mode is
# chosen at import). A directory of our own unless the deployment names one; wiped at start
# either way, since the files of an earlier run would be summed in too.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mediqueue-metrics-")


def on_starting(server):
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    # A dead worker's counts stay in the sum (a counter never goes back); only its live gauges
    # must go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
