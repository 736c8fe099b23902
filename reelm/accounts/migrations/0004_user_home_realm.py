"""Each account row says which realm it lives in; every row there before realms is at home in its database's realm."""

from django.db import migrations, models

import reelm.core.realms


def at_home(apps, schema_editor):
    from reelm.core import realms

    alias = schema_editor.connection.alias
    realm = realms.realm_of_alias(alias) if realms.configured() else realms.default_realm()
    if realm is not None:
        apps.get_model("accounts", "User").objects.using(alias).update(home_realm=realm)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_directory_entries"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="home_realm",
            field=models.CharField(
                db_index=True, default=reelm.core.realms.current_realm, editable=False, max_length=12
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="replicated_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(at_home, migrations.RunPython.noop, elidable=True),
    ]
