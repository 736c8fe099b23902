"""Read queries compiled once by the ORM and run with new values (reelm.core.prepared), on the configured database."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Value
from django.test.utils import CaptureQueriesContext

from reelm.accounts.models import AccessToken, User
from reelm.accounts.services import token_create
from reelm.core.prepared import PreparedInstances, PreparedRead
from reelm.social.models import Like
from reelm.videos.models import Hashtag, Video, VideoHashtag
from tests.social.conftest import make_video

pytestmark = pytest.mark.django_db

COLUMNS = ("id", "caption", "renditions", "created_at", "owner_id", "owner__username", "owner__is_private")


def by_ids(ids: list[uuid.UUID]) -> Any:
    return Video.objects.order_by().values(*COLUMNS).filter(id__in=ids)


def links(ids: list[uuid.UUID], viewer_id: uuid.UUID) -> Any:
    tags = VideoHashtag.objects.order_by().filter(video_id__in=ids).values_list("id", "video_id", "hashtag__name")
    likes = (
        Like.objects.order_by().filter(owner_id=viewer_id, video_id__in=ids).values_list("id", "video_id", Value(""))
    )
    return tags.union(likes, all=True)


def key(row: Any) -> str:
    return str(row["id"] if isinstance(row, dict) else row[0])


@pytest.fixture
def videos(user: User, other_user: User) -> list[Video]:
    made = [make_video(user if n % 2 else other_user, caption=f"clip {n}") for n in range(6)]
    Video.objects.filter(id=made[0].id).update(renditions=[{"name": "360p", "width": 202, "height": 360}])
    tag = Hashtag.objects.create(name="dance")
    for video in made[:4]:
        VideoHashtag.objects.create(video=video, hashtag=tag, owner_id=video.owner_id)
    Like.objects.create(owner=user, video=made[1])
    Like.objects.create(owner=other_user, video=made[2])
    return made


def test_rows_are_what_the_orm_returns_for_each_call_and_shape(videos: list[Video]) -> None:
    rows = PreparedRead(by_ids)
    for ids in ([v.id for v in videos[:3]], [v.id for v in videos[3:6]], [videos[0].id], [v.id for v in videos]):
        got = sorted(rows(ids), key=key)
        assert got == sorted(by_ids(ids), key=key)
        assert {r["id"] for r in got} == set(ids)
    first = next(r for r in rows([videos[0].id]))
    assert first["renditions"][0]["name"] == "360p" and first["created_at"] == videos[0].created_at  # converted
    assert isinstance(first["id"], uuid.UUID) and isinstance(first["owner_id"], uuid.UUID)


def test_a_union_binds_every_part_and_a_scalar_argument(videos: list[Video], user: User, other_user: User) -> None:
    prepared = PreparedRead(links)
    ids = [v.id for v in videos]
    for viewer in (user, other_user):
        got = sorted(prepared(ids, viewer.id))
        assert got == sorted(links(ids, viewer.id))
        liked = {video_id for _, video_id, name in got if name == ""}
        assert liked == {videos[1].id if viewer == user else videos[2].id}
    assert sorted(prepared(ids[4:], user.id)) == []  # no hashtags there, and no like


def test_the_sql_is_compiled_once_per_shape_and_the_query_still_runs_each_time(videos: list[Video]) -> None:
    rows = PreparedRead(by_ids)
    rows([videos[0].id, videos[1].id])
    compiled = rows._compiled[connections["default"]][(2,)]
    with CaptureQueriesContext(connection) as queries:
        assert {r["id"] for r in rows([videos[2].id, videos[3].id])} == {videos[2].id, videos[3].id}
    assert rows._compiled[connections["default"]][(2,)] is compiled
    assert len(queries) == 1
    assert videos[2].id.hex in queries[0]["sql"] or str(videos[2].id) in queries[0]["sql"]


def test_flat_values_and_strings(videos: list[Video]) -> None:
    captions = PreparedRead(lambda caption: Video.objects.filter(caption=caption).values_list("caption", flat=True))
    assert captions("clip 3") == ["clip 3"]
    assert captions("clip 4") == ["clip 4"]
    assert captions("'; DROP TABLE videos_video; --") == []  # bound as a value, never spliced into the SQL
    assert Video.objects.count() == 6


def test_an_empty_list_asks_nothing() -> None:
    rows = PreparedRead(by_ids)
    with CaptureQueriesContext(connection) as queries:
        assert rows([]) == []
    assert len(queries) == 0


def test_what_it_cannot_bind_is_refused(videos: list[Video]) -> None:
    with pytest.raises(TypeError, match="values"):
        PreparedRead(lambda ids: Video.objects.filter(id__in=ids))([videos[0].id])
    with pytest.raises(TypeError, match="int"):
        PreparedRead(lambda n: Video.objects.filter(duration=n).values("id"))(3)
    ignored = PreparedRead(lambda owner_id: Video.objects.values("id"))
    with pytest.raises(ValueError, match="not parameters"):
        ignored(videos[0].owner_id)


def fields(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_instances_equal_the_orms_with_their_foreign_key_loaded(videos: list[Video], user: User) -> None:
    by_owner = PreparedInstances(
        lambda owner_id: Video.objects.order_by("id").filter(owner_id=owner_id), related=["owner"]
    )
    got = by_owner(user.id)
    expected = list(Video.objects.order_by("id").filter(owner_id=user.id).select_related("owner"))
    assert [fields(v) for v in got] == [fields(v) for v in expected] and len(got) == 3
    with CaptureQueriesContext(connection) as queries:
        assert {v.owner.username for v in got} == {user.username}  # loaded with the row: no query
        assert got[0].renditions == expected[0].renditions  # converted as the ORM does
    assert len(queries) == 0
    assert not got[0]._state.adding and got[0]._state.db == "default"
    got[0].caption = "saved from a prepared read"
    got[0].save(update_fields=["caption"])
    assert Video.objects.get(id=got[0].id).caption == "saved from a prepared read"


def test_instances_of_a_token_as_authentication_reads_them(user: User) -> None:
    issued = token_create(user=user, name="phone")
    live = PreparedInstances(
        lambda token_hash: AccessToken.objects.order_by().filter(token_hash=token_hash, revoked_at__isnull=True)[:1],
        related=["owner"],
    )
    token_hash = AccessToken.objects.get(name="phone").token_hash
    (token,) = live(token_hash)
    assert token.owner == user and token.owner.password == user.password and issued.token.id == token.id
    AccessToken.objects.filter(id=token.id).update(revoked_at=token.created_at)
    assert live(token_hash) == []  # the filter still applies on every call
    assert live("no such hash") == []


def test_instances_refuse_what_they_cannot_make(user: User) -> None:
    with pytest.raises(TypeError, match="select_related"):
        PreparedInstances(lambda owner_id: Video.objects.select_related("owner").filter(owner_id=owner_id))(user.id)
    with pytest.raises(TypeError, match="foreign key"):
        PreparedInstances(lambda owner_id: Video.objects.filter(owner_id=owner_id), related=["caption"])(user.id)
