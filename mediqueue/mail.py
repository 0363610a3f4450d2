"""The development mail backend: one file per message, named after its Message-ID.

Django's own file backend appends every message of a connection to one file named by the
time; the patient pages link to a notice's message ("view the email"), so here each message
is its own ``<message id>.eml``, readable by any mail client. A message sent twice (a retried
delivery) has the same Message-ID, so it overwrites its file: it shows once.

The messages hold patients' addresses and booking references: each file is 0600 in a 0700
directory, whatever the umask, so that no other local user (nginx's workers included) reads them.
"""

from __future__ import annotations

import os
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
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)  # mkdir's mode is masked by the umask, and skipped if it existed
        for message in email_messages:
            raw = message.message()
            path = message_file(raw["Message-ID"])
            partial = path.with_suffix(".partial")
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(raw.as_bytes())
            partial.replace(path)  # whole or not at all, for a reader of the directory
        return len(email_messages)
