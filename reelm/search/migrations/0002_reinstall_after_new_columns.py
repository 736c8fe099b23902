"""Accounts got ``home_realm`` and videos ``replicated``: adding a column with a default makes Django remake those
tables on SQLite, which drops the full-text triggers on them (see reelm/search/backends.py). Put them back and
rebuild the index, after both."""

from django.db import migrations


def reinstall(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        from reelm.search.backends import backend

        backend("sqlite").install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0001_fulltext"),
        ("accounts", "0004_user_home_realm"),
        ("videos", "0005_video_replicated"),
    ]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop, elidable=False)]
