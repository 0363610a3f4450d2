"""make run: the demo served as patients get it (production settings, DEBUG off), and the
admin's password shown once only."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.core.management import call_command

from loadtests.harness import free_port, ports_for_tests, stop, wait_until_answering

pytestmark = pytest.mark.django_db(transaction=True)


def test_make_run_serves_with_debug_off(tmp_path, live_database_url):
    # Finding 8: make run served with DEBUG on, and its 404 page listed every URL pattern.
    port = free_port(ports_for_tests())
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"},
        "DATABASE_URL": live_database_url,
        "DJANGO_SECRET_KEY": "run-demo-test-key-long-enough-for-the-checks-0123456789",
        "MEDIQUEUE_DATA_DIR": str(tmp_path),
        "MEDIQUEUE_BIND": f"127.0.0.1:{port}",
    }
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "run_demo"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        # The first run on a fresh clone collects (and compresses) the static files first.
        wait_until_answering(f"{base_url}/readyz", process=demo, seconds=240, name="run_demo")
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base_url}/no-such-page", timeout=10)
        page = missing.value.read().decode()
        with urllib.request.urlopen(f"{base_url}/", timeout=10) as board:
            board_page = board.read().decode()
        booked = _book_with_an_email(base_url)
        # The worker run_demo started beside gunicorn sends the confirmation, into a file.
        mail = wait_for_files(tmp_path / "mail", seconds=60)
    finally:
        stop(demo)
    output = demo.stdout.read()

    assert booked["booking"]["reference"] in mail[0].read_text()

    assert missing.value.code == 404
    assert "URLconf" not in page and "Django tried these URL patterns" not in page
    assert "Dr. Amara Okafor" in board_page  # demo data, served with the collected static files
    assert "production settings, DEBUG off" in output
    assert re.search(r"with password \S+", output)
    # Issue 23: quiet seeding, the banner last (after gunicorn's own start), the worker's
    # lines in a file of their own.
    before, banner, after = output.partition("MediQueue is up")
    assert banner
    assert "Booting worker" in before and "Booting worker" not in after
    assert "booking_confirmed" not in before and "waitlist_joined" not in before
    assert "procrastinate.worker" not in output
    assert "procrastinate.worker" in (tmp_path / "worker.log").read_text()


def _book_with_an_email(base_url: str) -> dict:
    with urllib.request.urlopen(f"{base_url}/api/slots?available=true", timeout=10) as listing:
        slot_id = json.load(listing)[0]["id"]
    request = urllib.request.Request(
        f"{base_url}/api/book",
        data=json.dumps({"userId": "demo-1", "slotId": slot_id, "email": "d@example.org"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def wait_for_files(directory, *, seconds: float) -> list:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        files = sorted(directory.glob("*.eml")) if directory.exists() else []
        if files:
            return files
        time.sleep(0.2)
    raise AssertionError(f"no mail in {directory} after {seconds} s")


def test_the_admin_password_is_shown_once_then_only_where_it_is_kept(tmp_path, monkeypatch):
    from mediqueue.management.commands import ensure_admin

    credentials = tmp_path / "admin-credentials.txt"
    monkeypatch.setattr(ensure_admin, "CREDENTIALS_FILE", credentials)
    first, second = (_ensure_admin() for _ in range(2))

    password = re.search(r"^password=(\S+)$", credentials.read_text(), re.M).group(1)
    token = re.search(r"^token=(\S+)$", credentials.read_text(), re.M).group(1)
    assert password in first
    assert password not in second and token not in second
    assert str(credentials) in second
    assert credentials.stat().st_mode & 0o777 == 0o600


def _ensure_admin() -> str:
    from io import StringIO

    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_an_expired_admin_token_is_renewed_in_its_file_on_the_next_start(
    tmp_path, monkeypatch, settings
):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from mediqueue.management.commands import ensure_admin

    credentials = tmp_path / "admin-credentials.txt"
    monkeypatch.setattr(ensure_admin, "CREDENTIALS_FILE", credentials)
    _ensure_admin()
    old = re.search(r"^token=(\S+)$", credentials.read_text(), re.M).group(1)
    Token.objects.filter(key=old).update(
        created=timezone.now() - timedelta(hours=settings.MEDIQUEUE_STAFF_TOKEN_TTL_HOURS + 1)
    )

    said = _ensure_admin()

    new = re.search(r"^token=(\S+)$", credentials.read_text(), re.M).group(1)
    assert new != old and Token.objects.filter(key=new).exists()
    assert new not in said and "renewed" in said
    assert "password=" in credentials.read_text()
    assert credentials.stat().st_mode & 0o777 == 0o600
