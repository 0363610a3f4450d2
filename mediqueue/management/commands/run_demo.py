import os
import signal
import subprocess
import sys

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
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "procrastinate", "worker"], cwd=settings.BASE_DIR, env=env
        )
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
            worker.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        # Returning stops the embedded database too, once gunicorn and the worker are gone.
        status = server.wait()
        worker.send_signal(signal.SIGTERM)
        worker.wait()
        sys.exit(status)


def _where_mail_goes() -> str:
    if settings.EMAIL_BACKEND == "mediqueue.mail.MessageFileBackend":
        return f"files in {settings.EMAIL_FILE_PATH} (EMAIL_URL=smtp://… to send)"
    return f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
