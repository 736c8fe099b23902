"""Follow, Block and Mute now belong to ``relations`` (``relations.0001_initial`` took them over with their
tables): social only forgets them, and no table changes.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("social", "0002_block_mute"),
        ("relations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Follow"),
                migrations.DeleteModel(name="Block"),
                migrations.DeleteModel(name="Mute"),
            ],
            database_operations=[],
        )
    ]
