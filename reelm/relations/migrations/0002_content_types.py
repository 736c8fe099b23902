"""Follow, Block and Mute keep their content types (and so their permissions and admin history) now that they
belong to ``relations``: the ``social`` rows are relabelled rather than left behind next to new ones.

A new database has no content types yet (they are made after migrating): then there is nothing to do.
"""

from typing import Any

from django.db import migrations

MODELS = ("follow", "block", "mute")


def _relabel(apps: Any, schema_editor: Any, old: str, new: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.db_manager(schema_editor.connection.alias)
    for model in MODELS:
        if not content_types.filter(app_label=new, model=model).exists():
            content_types.filter(app_label=old, model=model).update(app_label=new)


def forwards(apps: Any, schema_editor: Any) -> None:
    _relabel(apps, schema_editor, "social", "relations")


def backwards(apps: Any, schema_editor: Any) -> None:
    _relabel(apps, schema_editor, "relations", "social")


class Migration(migrations.Migration):
    dependencies = [
        ("relations", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
