"""Mail written to files is the patients' (addresses, booking references): readable by the
service's own user only (security review 2, finding 7: files were 0644 in 0755 directories)."""

import os
import stat

from django.core.mail import EmailMessage, get_connection


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_message_files_are_0600_in_a_0700_directory(settings, tmp_path):
    settings.EMAIL_FILE_PATH = tmp_path / "state" / "mail"
    previous = os.umask(0o022)  # a usual umask: files 0644 and directories 0755 by default
    try:
        connection = get_connection("mediqueue.mail.MessageFileBackend")
        message = EmailMessage("Booked", "Your reference: x", to=["patient@example.org"])
        message.extra_headers["Message-ID"] = "<notice-abc@mediqueue>"
        assert connection.send_messages([message]) == 1
    finally:
        os.umask(previous)

    written = list(settings.EMAIL_FILE_PATH.iterdir())
    assert [p.suffix for p in written] == [".eml"]
    assert mode(written[0]) == 0o600
    assert mode(settings.EMAIL_FILE_PATH) == 0o700


def test_an_existing_open_mail_directory_is_closed_to_others(settings, tmp_path):
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.EMAIL_FILE_PATH.mkdir(mode=0o755)
    os.chmod(settings.EMAIL_FILE_PATH, 0o755)

    connection = get_connection("mediqueue.mail.MessageFileBackend")
    message = EmailMessage("Booked", "x", to=["patient@example.org"])
    message.extra_headers["Message-ID"] = "<notice-def@mediqueue>"
    connection.send_messages([message])

    assert mode(settings.EMAIL_FILE_PATH) == 0o700
