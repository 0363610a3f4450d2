import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from mediqueue.deployment import app_process

# How long gunicorn may take to answer /readyz before the banner is printed anyway.
READY_SECONDS = 60


class Command(BaseCommand):
    help = (
        "Migrate, load demo data once, make sure an admin exists, then serve MediQueue with "
        "docker-compose.yml's app and notices worker, production settings (on the embedded "
        "PostgreSQL unless DATABASE_URL is set); the banner comes last, once it answers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("MEDIQUEUE_BIND", "127.0.0.1:8000"))

    def handle(self, *args, bind, **options):
        with _quiet_logs():
            call_command("migrate", interactive=False, verbosity=0)
            # DEBUG is off, so the static files are served from STATIC_ROOT, as in production.
            call_command("collectstatic_if_changed")
            call_command("seed_demo")
        call_command("ensure_admin")

        env = {
            **os.environ,
            "DJANGO_DEBUG": "0",
            "MEDIQUEUE_BIND": bind,
            # Plain HTTP on this machine: no TLS proxy in front to redirect to.
            "DJANGO_SECURE_SSL_REDIRECT": os.environ.get("DJANGO_SECURE_SSL_REDIRECT", "0"),
        }
        worker_log = settings.DATA_DIR / "worker.log"
        # The notices' worker beside the server, logging to its own file: it sends what the
        # outbox holds.
        worker = _NoticeWorker(env, worker_log)
        server = subprocess.Popen(app_process("app"), cwd=settings.BASE_DIR, env=env)

        def stop(signum, frame):
            # Signals only: waiting here could wait forever on the child lock of a poll() this
            # handler interrupted. The loop below does the waiting.
            server.send_signal(signal.SIGTERM)
            worker.stop()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        _wait_until_ready(f"http://{bind}/readyz", server)
        self._banner(bind, worker_log)
        while server.poll() is None:
            worker.keep_running()
            time.sleep(1)
        # Returning stops the embedded database too, once gunicorn and the worker are gone.
        worker.stop()
        worker.wait()
        sys.exit(server.returncode)

    def _banner(self, bind: str, worker_log) -> None:
        base = f"http://{bind}"
        database = "embedded (.mediqueue/)" if settings.USING_EMBEDDED_DATABASE else "DATABASE_URL"
        self.stdout.write(
            self.style.SUCCESS("\nMediQueue is up (production settings, DEBUG off):")
            + f"\n  Patients  {base}/   (one slot tomorrow is full, with a waiting list)"
            + f"\n  API       {base}/api/slots"
            + f"\n  API docs  {base}/api/docs"
            + f"\n  Admin     {base}/admin/   (credentials above)"
            + f"\n  Database  {database}"
            + f"\n  Mail      {_where_mail_goes()}"
            + f"\n  Worker    log in {_shown(worker_log)}"
            + "\nPress Ctrl+C to stop. (make dev serves with DEBUG and autoreload instead.)\n"
        )
        self.stdout.flush()


@contextmanager
def _quiet_logs():
    """Seeding books through the real service, which logs every booking: dozens of lines
    nobody asked for before the banner. Warnings and errors still show."""
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _wait_until_ready(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)


class _NoticeWorker:
    """docker-compose.yml's worker (``manage.py procrastinate worker``), started again whenever
    it exits (it stops when it loses its database for too long), until it is told to stop; its
    output appended to ``log_path``."""

    def __init__(self, env: dict[str, str], log_path) -> None:
        self.env, self.log_path, self.stopping = env, log_path, False
        self.process = self._start()

    def _start(self) -> subprocess.Popen:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                app_process("worker"),
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def keep_running(self) -> None:
        if not self.stopping and self.process.poll() is not None:
            self.process = self._start()

    def stop(self) -> None:
        """Tell it to stop, without waiting (a signal handler calls it)."""
        self.stopping = True
        self.process.send_signal(signal.SIGTERM)  # a no-op once it has been waited for

    def wait(self) -> None:
        self.process.wait()


def _shown(path) -> str:
    try:
        return str(path.relative_to(settings.BASE_DIR))
    except ValueError:
        return str(path)


def _where_mail_goes() -> str:
    if settings.EMAIL_BACKEND == "mediqueue.mail.MessageFileBackend":
        return f"files in {_shown(settings.EMAIL_FILE_PATH)} (EMAIL_URL=smtp://… to send)"
    return f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
