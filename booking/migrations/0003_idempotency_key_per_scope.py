from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0002_idempotency_record"),
    ]

    operations = [
        # Keys stored before scopes existed get an empty scope, which no request has: they
        # are never replayed again and expire with the usual TTL.
        migrations.AddField(
            model_name="idempotencyrecord",
            name="scope",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="key",
            field=models.CharField(max_length=255),
        ),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(
                fields=("scope", "key"), name="idempotency_key_per_scope"
            ),
        ),
    ]
