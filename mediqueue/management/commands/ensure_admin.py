import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

CREDENTIALS_FILE = settings.DATA_DIR / "admin-credentials.txt"


class Command(BaseCommand):
    help = (
        "Make sure a staff account exists for the admin. On first run it gets a random password, "
        "kept in .mediqueue/admin-credentials.txt (readable by the owner only) and printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = user_model.objects.create_superuser(username=username, password=password)
            token = Token.objects.create(user=user)
            CREDENTIALS_FILE.parent.mkdir(parents=True, exist_ok=True)
            CREDENTIALS_FILE.touch(mode=0o600)
            CREDENTIALS_FILE.write_text(
                f"username={username}\npassword={password}\ntoken={token.key}\n"
            )
            self.stdout.write(f"Created admin account '{username}'.")
        elif CREDENTIALS_FILE.exists():
            self.stdout.write(f"Admin account '{username}' exists.")
        else:
            self.stdout.write(
                f"Admin account '{username}' exists; its password is not stored here "
                f"(python manage.py changepassword {username})."
            )
            return
        self.stdout.write(CREDENTIALS_FILE.read_text().strip())
