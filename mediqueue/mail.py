"""The development mail backend: one file per message, named after its Message-ID.

Django's own file backend appends every message of a connection to one file named by the
time; the patient pages link to a notice's message ("view the email"), so here each message
is its own ``<message id>.eml``, readable by any mail client. A message sent twice (a retried
delivery) has the same Message-ID, so it overwrites its file: it shows once.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


def message_file(message_id: str) -> Path:
    """Where the message with this Message-ID (angle brackets or not) is written."""
    name = _UNSAFE.sub("_", message_id.strip("<>"))
    return Path(settings.EMAIL_FILE_PATH) / f"{name}.eml"


class MessageFileBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        directory = Path(settings.EMAIL_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            raw = message.message()
            path = message_file(raw["Message-ID"])
            partial = path.with_suffix(".partial")
            partial.write_bytes(raw.as_bytes())
            partial.replace(path)  # whole or not at all, for a reader of the directory
        return len(email_messages)
