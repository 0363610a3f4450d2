import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
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
