"""Follow, Block and Mute move here from ``social``: their tables stay as they are (``social_follow``,
``social_block``, ``social_mute``), so this only records them in this app's state and touches no table.

It runs after social's migrations have made the tables, and before social forgets the models
(``social.0003_relations_moved``), on an existing database and on a new one alike.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import reelm.core.ids


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("social", "0002_block_mute"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="Follow",
            fields=[
                (
                    "id",
                    models.UUIDField(default=reelm.core.ids.uuid7, editable=False, primary_key=True, serialize=False),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "status",
                    models.CharField(
                        choices=[("accepted", "Accepted"), ("pending", "Pending")], default="accepted", max_length=10
                    ),
                ),
                (
                    "followee",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="follower_links",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "db_table": "social_follow",
                "indexes": [
                    models.Index(fields=["followee", "status", "-id"], name="social_foll_followe_76b0e3_idx"),
                    models.Index(fields=["owner", "status", "-id"], name="social_foll_owner_i_1d26f2_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("owner", "followee"), name="unique_follow"),
                    models.CheckConstraint(
                        condition=models.Q(("owner", models.F("followee")), _negated=True), name="no_self_follow"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Block",
            fields=[
                (
                    "id",
                    models.UUIDField(default=reelm.core.ids.uuid7, editable=False, primary_key=True, serialize=False),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "blocked",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="blocked_by_links",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "db_table": "social_block",
                "indexes": [models.Index(fields=["blocked", "owner"], name="social_bloc_blocked_a03d23_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("owner", "blocked"), name="unique_block"),
                    models.CheckConstraint(
                        condition=models.Q(("owner", models.F("blocked")), _negated=True), name="no_self_block"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Mute",
            fields=[
                (
                    "id",
                    models.UUIDField(default=reelm.core.ids.uuid7, editable=False, primary_key=True, serialize=False),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "muted",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="muted_by_links",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "db_table": "social_mute",
                "constraints": [
                    models.UniqueConstraint(fields=("owner", "muted"), name="unique_mute"),
                    models.CheckConstraint(
                        condition=models.Q(("owner", models.F("muted")), _negated=True), name="no_self_mute"
                    ),
                ],
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[])]
