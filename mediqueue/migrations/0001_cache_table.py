"""The database cache table (throttling counters when REDIS_URL is unset).

Created by a migration rather than a separate `createcachetable` step, so that every way of
setting up a database (make run, tests, benchmarks, docker) has it.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
