"""Full-text indexes (FTS5 on SQLite) and the triggers that keep them in sync; see reelm/search/backends.py."""

from django.db import migrations


def install(apps, schema_editor):
    from reelm.search.backends import backend

    backend(schema_editor.connection.vendor).install(schema_editor)


def uninstall(apps, schema_editor):
    from reelm.search.backends import backend

    backend(schema_editor.connection.vendor).uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_privacy_and_follow_counts"),
        ("videos", "0002_video_social_counts"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
