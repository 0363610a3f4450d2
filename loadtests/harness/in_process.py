"""Django in this very process, on a database the harness chose: for runners that prepare and
read back their data through the product's own services and models.

Django is imported only inside these functions, after :func:`setup_django` has set
``DATABASE_URL``: importing its settings without one would stand for the embedded database.
"""

from __future__ import annotations

import io
import os


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediqueue.settings")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def check_bookings() -> tuple[bool, str]:
    """Run ``check_bookings`` (every slot, not only the run's); return (passed, output)."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_bookings", stdout=out, stderr=err)
    except CommandError as error:
        return False, f"{err.getvalue()}{error}".strip()
    return True, out.getvalue().strip()
