"""The patients' notices, from the environment: Django's email framework, where mail goes, and
the worker that sends it (procrastinate), merged into mediqueue.settings.

- ``EMAIL_URL`` (``smtp://user:password@host:587``, ``smtp+tls://…``, ``smtp+ssl://…``): send
  through that SMTP server;
- else ``DJANGO_EMAIL_BACKEND``, by default one file per message under ``.mediqueue/mail/``
  (mediqueue.mail.MessageFileBackend), which the patient pages link to as "view the email".
"""

from __future__ import annotations

from pathlib import Path

import environ


def notice_settings(env: environ.Env, *, data_dir: Path) -> dict:
    settings = {
        "EMAIL_BACKEND": env.str(
            "DJANGO_EMAIL_BACKEND", default="mediqueue.mail.MessageFileBackend"
        ),
        "EMAIL_FILE_PATH": Path(env.str("MEDIQUEUE_MAIL_DIR", default=str(data_dir / "mail"))),
        # A stuck SMTP server fails the attempt (to be retried) instead of holding the worker.
        "EMAIL_TIMEOUT": env.int("DJANGO_EMAIL_TIMEOUT", default=10),
        "DEFAULT_FROM_EMAIL": env.str(
            "DJANGO_DEFAULT_FROM_EMAIL", default="MediQueue <no-reply@mediqueue.localhost>"
        ),
        # The links in a notice (the booking's page, to see or cancel it) start with this.
        "MEDIQUEUE_PUBLIC_URL": env.str("MEDIQUEUE_PUBLIC_URL", default="http://127.0.0.1:8000"),
        # How long a patient's address is kept once their booking or entry is over.
        "MEDIQUEUE_EMAIL_RETENTION_DAYS": env.int("MEDIQUEUE_EMAIL_RETENTION_DAYS", default=30),
        # Attempts at sending one notice before it is marked FAILED (backoff 2, 4, 8… s).
        "MEDIQUEUE_NOTICE_ATTEMPTS": env.int("MEDIQUEUE_NOTICE_ATTEMPTS", default=10),
    }
    # A worker silent this long is taken for dead, and its running jobs are run again
    # (booking.tasks.retry_stalled_jobs); a live one beats three times as often, so it never
    # looks dead, and drops the row of a job once it is done (the outbox is the record).
    stalled = env.float("MEDIQUEUE_STALLED_WORKER_SECONDS", default=30)
    settings["MEDIQUEUE_STALLED_WORKER_SECONDS"] = stalled
    settings["PROCRASTINATE_WORKER_DEFAULTS"] = {
        "update_heartbeat_interval": stalled / 3,
        "stalled_worker_timeout": stalled,
        "delete_jobs": "successful",
    }
    email_url = env.str("EMAIL_URL", default="")
    if email_url:
        settings.update(env.email_url_config(email_url))
    return settings
