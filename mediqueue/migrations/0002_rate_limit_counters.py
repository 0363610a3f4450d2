"""Rate-limit counters (mediqueue.ratelimit) replace the database cache.

UNLOGGED: a counter is worth nothing after a crash, and a table that writes no WAL commits
without waiting for a disk flush, so counting a request costs the database next to nothing.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("mediqueue", "0001_cache_table")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS mediqueue_cache", migrations.RunSQL.noop),
        migrations.RunSQL(
            """
            CREATE UNLOGGED TABLE mediqueue_ratelimit (
                key text PRIMARY KEY,
                window_ends_at timestamptz NOT NULL,
                hits integer NOT NULL
            )
            """,
            "DROP TABLE mediqueue_ratelimit",
        ),
    ]
