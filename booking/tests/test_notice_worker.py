"""The worker as production runs it (``manage.py procrastinate worker``, a process of its own)
killed in the middle of a send: the notice still arrives, and the copy sent again is the same
message (one Message-ID), so the patient sees one."""

import signal
import time

import pytest

from booking import services
from booking.models import Notice
from loadtests.harness import start_notice_worker

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_killed_mid_send_leaves_one_visible_message(
    make_slot, smtp_server, live_env, tmp_path
):
    slot = make_slot(seats=1)
    services.book(slot_id=slot.pk, user_id="ada", email="ada@example.org")
    # The server takes the message but holds its answer back: the worker dies before it can
    # record the notice as sent.
    smtp_server.reply_after = 30
    env = live_env(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}", MEDIQUEUE_STALLED_WORKER_SECONDS="2"
    )
    log = tmp_path / "worker.log"
    first = start_notice_worker(env, log)
    try:
        assert smtp_server.received.wait(60), log.read_text()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert Notice.objects.get().status == Notice.Status.PENDING
    smtp_server.reply_after = 0

    second = start_notice_worker(env, log)
    try:
        sent = wait_for(lambda: Notice.objects.get().status == Notice.Status.SENT, 60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    assert sent, log.read_text()[-3000:]
    assert len(smtp_server.messages) == 2  # at least once: the server got it twice...
    first_copy, second_copy = smtp_server.messages
    assert first_copy["Message-ID"] == second_copy["Message-ID"]  # ...as one message
    assert first_copy["Subject"] == second_copy["Subject"]
    assert first_copy.get_payload()[0].get_payload() == second_copy.get_payload()[0].get_payload()
    notice = Notice.objects.get()
    assert notice.attempts == 1  # one attempt recorded: the killed one never got that far
