import os
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone
from rest_framework.authtoken.models import Token

CREDENTIALS_FILE = settings.DATA_DIR / "admin-credentials.txt"


class Command(BaseCommand):
    help = (
        "Make sure a staff account exists for the admin. On first run it gets a random password "
        "and an API token, shown once and kept in .mediqueue/admin-credentials.txt (readable by "
        "its owner only); later runs only say where that file is."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            where = (
                f"in {CREDENTIALS_FILE} (readable by you only)"
                if CREDENTIALS_FILE.exists()
                else f"not stored here (python manage.py changepassword {username})"
            )
            self.stdout.write(f"Admin account '{username}' exists; its password is {where}.")
            if CREDENTIALS_FILE.exists() and self._renew_expired_token(username):
                self.stdout.write(f"Its API token had expired: renewed in {CREDENTIALS_FILE}.")
            return

        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_superuser(username=username, password=password)
        token = Token.objects.create(user=user)
        CREDENTIALS_FILE.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(CREDENTIALS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as credentials:
            credentials.write(f"username={username}\npassword={password}\ntoken={token.key}\n")
        # Shown this once, when made; never again on later starts, nor in any log.
        self.stdout.write(
            f"Created admin account '{username}' with password {password}\n"
            f"(kept in {CREDENTIALS_FILE}, readable by you only, with an API token)."
        )

    def _renew_expired_token(self, username: str) -> bool:
        """Staff tokens expire (mediqueue.authentication): the one kept in the credentials file
        is replaced once it has, so make run keeps handing out a working one."""
        user = get_user_model().objects.get(username=username)
        token = Token.objects.filter(user=user).first()
        lifetime = timedelta(hours=settings.MEDIQUEUE_STAFF_TOKEN_TTL_HOURS)
        if token is not None and token.created >= timezone.now() - lifetime:
            return False
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        kept = CREDENTIALS_FILE.read_text()
        renewed = re.sub(r"^token=.*$", f"token={token.key}", kept, flags=re.M)
        descriptor = os.open(CREDENTIALS_FILE, os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as credentials:
            credentials.write(renewed)
        return True
