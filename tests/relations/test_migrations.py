"""Follow, Block and Mute moved from ``social`` to ``relations`` without moving data: the tables social made are
the ones relations reads, and a database migrated before the move keeps its rows (on SQLite and PostgreSQL alike,
whichever the test database is)."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reelm.relations.models import Block, Follow, FollowStatus, Mute

# The last state before the move: social still holds the three models and relations has no migration applied.
BEFORE_THE_MOVE = [("social", "0002_block_mute"), ("relations", None)]


@pytest.mark.django_db
def test_the_tables_built_from_scratch_are_the_ones_the_models_read() -> None:
    """The test database is built by running every migration from scratch."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for model in (Follow, Block, Mute):
            table = model._meta.db_table
            assert table in tables, table
            columns = {column.name for column in connection.introspection.get_table_description(cursor, table)}
            assert columns == {field.column for field in model._meta.local_fields}, table
            found = set(connection.introspection.get_constraints(cursor, table))
            named = {item.name for item in [*model._meta.indexes, *model._meta.constraints]}
            assert named <= found, f"{table} lacks {named - found}"


@pytest.mark.django_db
def test_the_migrations_describe_the_models() -> None:
    call_command("makemigrations", "social", "relations", check=True, dry_run=True, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_database_migrated_before_the_move_keeps_its_follows_blocks_and_mutes() -> None:
    executor = MigrationExecutor(connection)
    old = executor.migrate(BEFORE_THE_MOVE).apps
    try:
        with pytest.raises(LookupError):
            old.get_model("relations", "Follow")
        users = old.get_model("accounts", "User").objects
        alice, bob, carol = (users.create(username=name) for name in ("alice", "bob", "carol"))
        follow = old.get_model("social", "Follow").objects.create(owner=alice, followee=bob, status="pending")
        block = old.get_model("social", "Block").objects.create(owner=bob, blocked=carol)
        mute = old.get_model("social", "Mute").objects.create(owner=carol, muted=alice)
        # As before the move: content types (and so permissions) name social, and none names relations.
        content_types = old.get_model("contenttypes", "ContentType").objects
        content_types.filter(app_label="relations").delete()
        follow_type = content_types.get_or_create(app_label="social", model="follow")[0]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    moved = Follow.objects.get(id=follow.id)
    assert (moved.owner_id, moved.followee_id, moved.status) == (alice.id, bob.id, FollowStatus.PENDING)
    assert Block.objects.filter(id=block.id, owner_id=bob.id, blocked_id=carol.id).exists()
    assert Mute.objects.filter(id=mute.id, owner_id=carol.id, muted_id=alice.id).exists()
    ContentType.objects.clear_cache()
    assert ContentType.objects.get(id=follow_type.id).model_class() is Follow
