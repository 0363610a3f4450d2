from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.core.management.base import BaseCommand


def collected_marker() -> Path:
    return Path(settings.STATIC_ROOT) / ".collected"


def static_files_changed_since_collected() -> bool:
    marker = collected_marker()
    if not marker.exists():
        return True
    collected_at = marker.stat().st_mtime
    return any(
        Path(storage.path(path)).stat().st_mtime > collected_at
        for finder in get_finders()
        for path, storage in finder.list([])
    )


class Command(BaseCommand):
    help = (
        "collectstatic, but only when a static file changed since the last run: collecting "
        "compresses every file anew (gzip and brotli, about a minute of CPU for the API docs' "
        "bundles), which make run and the browser tests need not pay on every start."
    )

    def handle(self, *args, **options):
        if not static_files_changed_since_collected():
            return
        call_command("collectstatic", interactive=False, verbosity=0)
        collected_marker().touch()
