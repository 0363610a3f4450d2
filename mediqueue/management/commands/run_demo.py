import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Migrate, load demo data once, make sure an admin exists, then serve MediQueue with "
        "gunicorn and production settings (on the embedded PostgreSQL unless DATABASE_URL is "
        "set)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("MEDIQUEUE_BIND", "127.0.0.1:8000"))

    def handle(self, *args, bind, **options):
        call_command("migrate", interactive=False, verbosity=0)
        # DEBUG is off, so the static files are served from STATIC_ROOT, as in production.
        call_command("collectstatic_if_changed")
        call_command("seed_demo")
        call_command("ensure_admin")

        base = f"http://{bind}"
        database = "embedded (.mediqueue/)" if settings.USING_EMBEDDED_DATABASE else "DATABASE_URL"
        self.stdout.write(
            self.style.SUCCESS("\nMediQueue is starting (production settings, DEBUG off):")
            + f"\n  Patients  {base}/"
            + f"\n  API       {base}/api/slots"
            + f"\n  API docs  {base}/api/docs"
            + f"\n  Admin     {base}/admin/   (credentials above)"
            + f"\n  Database  {database}"
            + f"\n  Mail      {_where_mail_goes()}"
            + "\nPress Ctrl+C to stop. (make dev serves with DEBUG and autoreload instead.)\n"
        )
        self.stdout.flush()
        env = {
            **os.environ,
            "DJANGO_DEBUG": "0",
            # Plain HTTP on this machine: no TLS proxy in front to redirect to.
            "DJANGO_SECURE_SSL_REDIRECT": os.environ.get("DJANGO_SECURE_SSL_REDIRECT", "0"),
        }
        # The notices' worker beside the server: it sends what the outbox holds.
        worker = _NoticeWorker(env)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(settings.BASE_DIR / "mediqueue" / "gunicorn.conf.py"),
                "--bind",
                bind,
                "mediqueue.wsgi:application",
            ],
            cwd=settings.BASE_DIR,
            env=env,
        )

        def stop(signum, frame):
            server.send_signal(signal.SIGTERM)
            worker.stop()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while server.poll() is None:
            worker.keep_running()
            time.sleep(1)
        # Returning stops the embedded database too, once gunicorn and the worker are gone.
        worker.stop()
        sys.exit(server.returncode)


class _NoticeWorker:
    """``manage.py procrastinate worker``, started again whenever it exits (it stops when it
    loses its database for too long), until it is told to stop."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.stopping = env, False
        self.process = self._start()

    def _start(self) -> subprocess.Popen:
        command = [sys.executable, "manage.py", "procrastinate", "worker"]
        return subprocess.Popen(command, cwd=settings.BASE_DIR, env=self.env)

    def keep_running(self) -> None:
        if not self.stopping and self.process.poll() is not None:
            self.process = self._start()

    def stop(self) -> None:
        self.stopping = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait()


def _where_mail_goes() -> str:
    if settings.EMAIL_BACKEND == "mediqueue.mail.MessageFileBackend":
        return f"files in {settings.EMAIL_FILE_PATH} (EMAIL_URL=smtp://… to send)"
    return f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
