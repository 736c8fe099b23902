"""The For You recommender end to end on the ORM: sources, filters, online learning, explanations, control,
persistence and degradation."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from reelm.accounts.models import User
from reelm.cli import main
from reelm.events.models import WatchEvent
from reelm.feed.feeds import feed_get
from reelm.recommend import learning, not_interested, pool, ranker_store, ranking
from reelm.recommend.candidates import (
    SOURCE_WORDS,
    SOURCES,
    CoEngaged,
    Context,
    FollowedAuthors,
    FreshUploads,
    Hashtags,
    NearestNeighbours,
    Trending,
)
from reelm.recommend.index import video_index
from reelm.recommend.models import CoEngagement, ModelState, NotInterested, Taste, VideoSignal
from reelm.recommend.ranker import Item, Ranker, features, normalise, vector_bytes, vector_from
from reelm.recommend.ranking import CURSOR_PREFIX, TRANSPARENT_WHY
from reelm.recommend.rebuild import rebuild
from reelm.recommend.taste import taste_get, taste_settings_set, taste_vector
from reelm.relations import services as relations
from reelm.social import services as social
from reelm.videos.models import Video
from tests.feed.conftest import account, follow, video
from tests.recommend.conftest import direction, embedded, taste_along
from tests.social.conftest import client_for


def page_ids(user: Any, limit: int = 20, cursor: str | None = None) -> list[uuid.UUID]:
    return feed_get("for-you").page(user, cursor, limit).ids


def context(user: User, **fields: Any) -> Context:
    taste = taste_get(user)
    defaults: dict[str, Any] = {
        "user": user,
        "vector": taste_vector(taste),
        "follows": set(),
        "tag_affinity": taste.tag_affinity,
        "interests": taste.interests,
        "rng": np.random.default_rng(1),
    }
    return Context(**(defaults | fields))


def send_events(user: User, events: list[dict[str, Any]]) -> None:
    response = client_for(user).post("/api/events", {"events": events}, content_type="application/json")
    assert response.status_code == 202, response.content


def finished(video_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {"video_id": str(video_id), "kind": "impression"},
        {"video_id": str(video_id), "kind": "complete", "watched_ms": 2000, "duration_ms": 2000},
    ]


def skipped(video_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {"video_id": str(video_id), "kind": "impression"},
        {"video_id": str(video_id), "kind": "skip", "watched_ms": 400, "duration_ms": 2000},
    ]


# --- candidate sources ---------------------------------------------------------------------------------------


def test_every_source_names_itself_in_plain_words() -> None:
    assert {s.name for s in SOURCES} == {
        "following", "similar", "co-engagement", "trending", "trending-language", "hashtags", "fresh"
    }  # fmt: skip
    assert all(SOURCE_WORDS[s.name] and s.words[0].isupper() for s in SOURCES)


def test_followed_authors_proposes_the_newest_of_followed_accounts_only(viewer: User, creators: list[User]) -> None:
    followed, other = creators[0], creators[1]
    mine = [video(followed) for _ in range(3)]
    video(other)
    ids = [i for i, _ in FollowedAuthors().candidates(context(viewer, follows={followed.id}), 10)]
    assert ids == [v.id for v in reversed(mine)]
    assert FollowedAuthors().candidates(context(viewer), 10) == []


def test_nearest_neighbours_finds_the_videos_closest_to_the_viewer(viewer: User, creators: list[User]) -> None:
    near = [embedded(creators[0], axis=3) for _ in range(3)]
    far = [embedded(creators[1], axis=9) for _ in range(3)]
    taste_along(viewer, 3)
    found = NearestNeighbours().candidates(context(viewer), 3)
    assert {i for i, _ in found} == {v.id for v in near}
    assert all(c > 0.9 for _, c in found)
    assert not {i for i, _ in found} & {v.id for v in far}


def test_the_index_picks_up_a_new_video_within_its_refresh(viewer: User, creators: list[User]) -> None:
    embedded(creators[0], axis=1)
    taste_along(viewer, 5)
    index = video_index()
    index.refresh(force=True)
    assert len(index) == 1
    newcomer = embedded(creators[1], axis=5)
    index.refresh(force=True)  # what every process does at most a second after a save
    assert index.search(direction(5), 1)[0][0] == newcomer.id


def test_co_engagement_follows_what_finishers_of_the_same_video_finished(viewer: User, creators: list[User]) -> None:
    a, b, unrelated = (embedded(creators[i], axis=i) for i in range(3))
    for n in range(4):
        fan = account(f"fan{n}")
        WatchEvent.objects.bulk_create(
            [WatchEvent(owner=fan, video=v, kind="complete", watched_ms=2000, duration_ms=2000) for v in (a, b)]
        )
    WatchEvent.objects.create(owner=account(), video=unrelated, kind="complete", watched_ms=2000, duration_ms=2000)
    rebuild()
    assert CoEngagement.objects.filter(video=a, neighbour=b).exists()
    WatchEvent.objects.create(owner=viewer, video=a, kind="complete", watched_ms=2000, duration_ms=2000)
    ids = [i for i, _ in CoEngaged().candidates(context(viewer), 10)]
    assert ids == [b.id]


def test_trending_proposes_liked_recent_public_videos_first(viewer: User, creators: list[User]) -> None:
    quiet, loved = video(creators[0]), video(creators[1])
    for n in range(3):
        social.like_create(user=account(f"liker{n}"), video=loved)
    ids = [i for i, _ in Trending().candidates(context(viewer), 10)]
    assert ids[:2] == [loved.id, quiet.id]


def test_hashtags_follows_the_viewers_interests_and_affinities(viewer: User, creators: list[User]) -> None:
    cats = embedded(creators[0], axis=0, tags=("cats",))
    embedded(creators[1], axis=1, tags=("cars",))
    assert Hashtags().candidates(context(viewer), 10) == []
    taste_settings_set(viewer, interests=["#Cats"])
    assert [i for i, _ in Hashtags().candidates(context(viewer), 10)] == [cats.id]


def test_fresh_uploads_explores_new_videos_and_drops_the_ones_everybody_skips(
    viewer: User, creators: list[User]
) -> None:
    promising, flop, unseen = (embedded(creators[i], axis=i) for i in range(3))
    VideoSignal.objects.filter(video=promising).update(impressions=40, completions=36)
    VideoSignal.objects.filter(video=flop).update(impressions=40, completions=1)
    firsts = []
    for seed in range(40):
        ids = [i for i, _ in FreshUploads().candidates(context(viewer, rng=np.random.default_rng(seed)), 3)]
        assert set(ids) == {promising.id, flop.id, unseen.id}
        firsts.append(ids[0])
    assert firsts.count(promising.id) > 20 and firsts.count(flop.id) == 0 and unseen.id in firsts
    VideoSignal.objects.filter(video=flop).update(impressions=500)
    assert flop.id not in {i for i, _ in FreshUploads().candidates(context(viewer), 3)}


# --- filters -------------------------------------------------------------------------------------------------


def test_never_shown_blocked_muted_private_own_or_followers_only_of_strangers(
    viewer: User, creators: list[User]
) -> None:
    blocked, muted, private_account, stranger, followed, fine = creators
    relations.block_create(blocker=blocked, blocked=viewer)  # blocked by the author: just as hidden
    relations.mute_create(muter=viewer, muted=muted)
    relations.account_privacy_set(user=private_account, is_private=True)
    follow(viewer, followed)
    hidden = [
        embedded(blocked, axis=0),
        embedded(muted, axis=0),
        embedded(private_account, axis=0),
        embedded(stranger, axis=0, visibility="private"),
        embedded(stranger, axis=0, visibility="followers"),
        embedded(viewer, axis=0),
        embedded(fine, axis=0, state="processing"),
    ]
    shown = [embedded(fine, axis=0), embedded(followed, axis=0, visibility="followers")]
    taste_along(viewer, 0)
    ids = set(page_ids(viewer))
    assert ids == {v.id for v in shown}
    assert not ids & {v.id for v in hidden}


def test_a_watched_video_is_gone_from_the_next_page(viewer: User, creators: list[User]) -> None:
    made = [embedded(creators[i % 6], axis=0) for i in range(8)]
    taste_along(viewer, 0)
    first = page_ids(viewer, 4)
    send_events(viewer, finished(first[0]))
    again = page_ids(viewer, 8)
    assert first[0] not in again and set(again) == {v.id for v in made} - {first[0]}


def test_pages_of_a_session_never_repeat_until_everything_was_seen(viewer: User, creators: list[User]) -> None:
    made = [embedded(creators[i % 6], axis=i % 4) for i in range(23)]
    taste_along(viewer, 0)
    seen: list[uuid.UUID] = []
    cursor = None
    for _ in range(5):
        found = feed_get("for-you").page(viewer, cursor, 10)
        cursor = found.next_cursor
        assert cursor is not None and cursor.startswith(CURSOR_PREFIX)  # For You no longer ends (caught_up)
        if found.seen_before:
            assert set(found.ids) == found.seen_before <= set(seen), "caught up: only what was seen comes back"
            break
        seen += found.ids
    assert len(seen) == len(set(seen)) == 23 and set(seen) == {v.id for v in made}


def test_not_interested_in_a_video_a_creator_or_a_hashtag_is_honoured(viewer: User, creators: list[User]) -> None:
    a, b, c, d = creators[:4]
    one = embedded(a, axis=0)
    by_b = [embedded(b, axis=0) for _ in range(2)]
    tagged = embedded(c, axis=0, tags=("spoilers",))
    keep = embedded(d, axis=0)
    taste_along(viewer, 0)
    api = client_for(viewer)
    for payload in (
        {"video_id": str(one.id)},
        {"video_id": str(by_b[0].id), "scope": "author"},
        {"video_id": str(tagged.id), "scope": "hashtag", "hashtag": "#Spoilers"},
    ):
        response = api.post("/api/recommendations/not-interested", payload, content_type="application/json")
        assert response.status_code == 201, response.content
    assert set(page_ids(viewer)) == {keep.id}
    labels = {c["label"] for c in api.get("/api/recommendations/not-interested").json()}
    assert labels == {"a video without a caption", "@creator1", "#spoilers"}
    # Taking the creator back brings their videos back.
    choice = NotInterested.objects.get(owner=viewer, scope="author")
    assert api.delete(f"/api/recommendations/not-interested/{choice.id}").status_code == 204
    assert set(page_ids(viewer)) == {keep.id, *(v.id for v in by_b)}


def test_not_interested_refuses_what_it_cannot_name(viewer: User, creators: list[User]) -> None:
    api = client_for(viewer)
    theirs, private, mine = (
        embedded(creators[0], axis=0),
        embedded(creators[1], axis=0, visibility="private"),
        embedded(viewer, axis=0),
    )

    def post(**body: Any) -> Any:
        return api.post("/api/recommendations/not-interested", body, content_type="application/json")

    assert post(video_id=str(uuid.uuid4())).status_code == 404
    assert post(video_id=str(private.id)).status_code == 404
    assert post(video_id=str(theirs.id), scope="hashtag", hashtag="absent").json()["error"]["code"] == (
        "hashtag_not_on_video"
    )
    assert post(video_id=str(mine.id), scope="author").json()["error"]["code"] == "own_video"
    assert post(video_id=str(theirs.id), scope="everything").status_code == 422
    assert Client().post(
        "/api/recommendations/not-interested", {"video_id": str(theirs.id)}, content_type="application/json"
    ).status_code in (401, 403)
    assert api.delete(f"/api/recommendations/not-interested/{uuid.uuid4()}").status_code == 404
    assert not NotInterested.objects.exists()


# --- learning ------------------------------------------------------------------------------------------------


def test_events_move_the_viewers_vector_and_the_next_page_follows(viewer: User, creators: list[User]) -> None:
    cats = [embedded(creators[i % 3], axis=0, tags=("cats",)) for i in range(12)]
    cars = [embedded(creators[3 + i % 3], axis=1, tags=("cars",)) for i in range(12)]
    car_ids = {v.id for v in cars}
    taste_along(viewer, 0)
    before = page_ids(viewer, 6)
    assert sum(i in car_ids for i in before) <= 1  # at most the fresh-upload slot
    vector_before = taste_vector(Taste.objects.get(owner=viewer))
    events: list[dict[str, Any]] = []
    for v in cars[:4]:
        events += finished(v.id)
    skipped_cats = [i for i in before if i not in car_ids][:3]
    for i in skipped_cats:
        events += skipped(i)
    send_events(viewer, events)
    taste = Taste.objects.get(owner=viewer)
    vector_after = taste_vector(taste)
    assert vector_after is not None and vector_before is not None
    assert float(vector_after @ direction(1)) > float(vector_before @ direction(1)) + 0.3
    assert taste.tag_affinity["cars"] > taste.tag_affinity.get("cats", 0.0)
    after = page_ids(viewer, 6)
    assert sum(i in car_ids for i in after) >= 4
    assert not set(after) & ({v.id for v in cars[:4]} | set(skipped_cats)), "what was watched is gone"
    assert VideoSignal.objects.get(video=cars[0]).completions == 1
    assert VideoSignal.objects.get(video_id=skipped_cats[0]).skips == 1
    assert cats  # the other half stays available for later pages


def test_likes_and_comments_teach_as_well(viewer: User, creators: list[User]) -> None:
    liked = embedded(creators[0], axis=2, tags=("jazz",))
    taste_along(viewer, 0)
    social.like_create(user=viewer, video=liked)
    social.comment_create(author=viewer, video=liked, body="lovely")
    taste = Taste.objects.get(owner=viewer)
    vector = taste_vector(taste)
    assert vector is not None and float(vector @ direction(2)) > 0.3
    assert taste.tag_affinity["jazz"] > 0.2 and taste.impressions == 2


def test_a_follow_raises_the_creators_affinity(viewer: User, creators: list[User]) -> None:
    relations.follow_create(follower=viewer, followee=creators[0])
    taste = Taste.objects.get(owner=viewer)
    assert taste.author_affinity == {creators[0].id.hex: learning.FOLLOW_AFFINITY}
    relations.account_privacy_set(user=creators[1], is_private=True)
    relations.follow_create(follower=viewer, followee=creators[1])  # a request: still a strong word on them
    assert Taste.objects.get(owner=viewer).author_affinity[creators[1].id.hex] == learning.FOLLOW_AFFINITY


def test_the_ranker_learns_online_and_survives_a_restart(viewer: User, creators: list[User]) -> None:
    made = [embedded(creators[i % 6], axis=i % 2) for i in range(6)]
    taste_along(viewer, 0)
    found = feed_get("for-you").page(viewer, None, 20)
    assert found.why is not None
    sources = {found.why[i]["source"] for i in found.ids}
    events: list[dict[str, Any]] = []
    for v in made:
        events += finished(v.id) if v.id.int % 2 else skipped(v.id)
    send_events(viewer, events)
    state = ModelState.objects.get(name="ranker")
    assert state.version >= 1
    ranker_store.ranker_forget_cached()  # rather than wait out the second between version checks
    ranker = ranker_store.ranker_current()
    assert ranker.examples == 6
    # Each impression is learned with the features it was ranked with, its source among them.
    assert all(ranker.n[ranker.slot(f"source={s}")] > 0 for s in sources)
    assert ranker.n[ranker.slot("source=organic")] == 0
    row = features(Item("similar", 0.5, 0.5, 10, 1, 3.0, author_affinity=0.0, tag_affinity=0.0, follows_author=False))
    before = float(ranker.predict([row])[0])
    ranker_store.ranker_forget_cached()  # a new process
    restored = ranker_store.ranker_current()
    assert restored is not ranker and restored.examples == 6
    assert float(restored.predict([row])[0]) == pytest.approx(before)


# --- explanations, settings, degradation ---------------------------------------------------------------------


def test_every_for_you_item_says_why_it_is_there(viewer: User, creators: list[User]) -> None:
    for i in range(8):
        embedded(creators[i % 6], axis=i % 3, tags=("dance",))
    follow(viewer, creators[0])
    taste_along(viewer, 0)
    items = client_for(viewer).get("/api/feed/for-you").json()["items"]
    assert len(items) == 8
    for item in items:
        why = item["why"]
        assert why["source"] in SOURCE_WORDS and why["summary"] == SOURCE_WORDS[why["source"]]
        assert why["reasons"] and all(isinstance(r, str) and r for r in why["reasons"])
    assert {i["why"]["source"] for i in items if i["author"]["username"] == "creator0"} == {"following"}
    anonymous = Client().get("/api/feed/for-you").json()["items"]
    assert anonymous and all(i["why"] == TRANSPARENT_WHY for i in anonymous)


def test_personalisation_off_shows_the_transparent_ranking(viewer: User, creators: list[User]) -> None:
    loved = video(creators[0])
    for n in range(3):
        social.like_create(user=account(f"liker{n}"), video=loved)
    embedded(creators[1], axis=0)
    api = client_for(viewer)
    response = api.patch("/api/recommendations/settings", {"personalised": False}, content_type="application/json")
    assert response.status_code == 200 and response.json()["personalised"] is False
    items = api.get("/api/feed/for-you").json()["items"]
    assert items[0]["id"] == str(loved.id) and all(i["why"]["source"] == "popular" for i in items)
    assert (
        api.patch(
            "/api/recommendations/settings", {"more_new_creators": 101}, content_type="application/json"
        ).status_code
        == 422
    )
    # "Not interested" holds with personalisation off too.
    not_interested.not_interested_add(viewer, scope="author", target=creators[0].id.hex)
    assert str(loved.id) not in {i["id"] for i in api.get("/api/feed/for-you").json()["items"]}


def test_the_new_creators_setting_sizes_the_exploration_budget(viewer: User, creators: list[User]) -> None:
    for i in range(30):
        embedded(creators[i % 6], axis=0 if i < 20 else 7)
    taste_along(viewer, 0)
    # Everything here is fresh; the budget decides how many the "fresh" source keeps.
    counts = {}
    for setting in (0, 50, 100):
        taste_settings_set(viewer, more_new_creators=setting)
        found = feed_get("for-you").page(viewer, None, 20)
        counts[setting] = sum(w["source"] == "fresh" for w in (found.why or {}).values())
    assert counts[0] == 0 and counts[50] == 3 and counts[100] == 6


def test_a_new_viewer_starts_from_picked_interests(viewer: User, creators: list[User]) -> None:
    jazz = [embedded(creators[i], axis=4, tags=("jazz",)) for i in range(3)]
    for i in range(8):
        embedded(creators[3 + i % 3], axis=6, tags=("golf",))
    assert taste_vector(taste_get(viewer)) is None
    taste_settings_set(viewer, interests=["jazz"])
    vector = taste_vector(taste_get(viewer))
    assert vector is not None and float(vector @ direction(4)) > 0.9
    assert set(page_ids(viewer, 3)) == {v.id for v in jazz}


def test_an_unreadable_model_degrades_to_the_transparent_ranking(viewer: User, creators: list[User]) -> None:
    made = [embedded(creators[i], axis=0) for i in range(3)]
    taste_along(viewer, 0)
    ModelState.objects.create(name="ranker", data=b"not a model", version=3)
    found = feed_get("for-you").page(viewer, None, 10)
    assert set(found.ids) == {v.id for v in made}
    assert found.why and all(w == TRANSPARENT_WHY for w in found.why.values())


def test_a_broken_index_degrades_to_the_transparent_ranking(
    viewer: User, creators: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = [embedded(creators[i], axis=0) for i in range(3)]
    taste_along(viewer, 0)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(type(video_index()), "search", broken)
    response = client_for(viewer).get("/api/feed/for-you")
    assert response.status_code == 200
    assert {i["id"] for i in response.json()["items"]} == {str(v.id) for v in made}
    assert {i["why"]["source"] for i in response.json()["items"]} == {"popular"}


def test_a_forged_cursor_is_refused(viewer: User) -> None:
    response = client_for(viewer).get("/api/feed/for-you", {"cursor": CURSOR_PREFIX + "../../etc"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_cursor"


# --- rebuild -------------------------------------------------------------------------------------------------


def test_rebuild_refits_vectors_from_engagement(
    viewer: User, creators: list[User], capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelm.recommend import rebuild as rebuild_module

    monkeypatch.setattr(rebuild_module, "CHUNK", 3)  # many chunks: no statement binds every id at once
    groups = [[video(creators[g * 2 + i % 2]) for i in range(4)] for g in range(2)]
    fans = [[account(f"fan{g}{n}") for n in range(5)] for g in range(2)]
    rows = [
        WatchEvent(owner=fan, video=v, kind="complete", watched_ms=2000, duration_ms=2000)
        for g in range(2)
        for fan in fans[g]
        for v in groups[g]
    ]
    WatchEvent.objects.bulk_create(rows)
    stale = taste_get(account("gone"))
    stale.vector = vector_bytes(direction(1))
    stale.save()
    assert main(["feed", "rebuild"]) == 0
    assert "Recommender rebuilt" in capsys.readouterr().out
    vectors = {v: vector_from(d) for v, d in VideoSignal.objects.values_list("video_id", "vector")}
    assert set(vectors) == {v.id for g in groups for v in g}
    same = float(vectors[groups[0][0].id] @ vectors[groups[0][1].id])
    other = float(vectors[groups[0][0].id] @ vectors[groups[1][0].id])
    assert same > other + 0.3
    fan_vector = taste_vector(Taste.objects.get(owner=fans[1][0]))
    assert fan_vector is not None
    assert float(fan_vector @ vectors[groups[1][0].id]) > float(fan_vector @ vectors[groups[0][0].id])
    # A taste the refit did not cover lives in the old space: it starts again from its interests.
    assert Taste.objects.get(id=stale.id).vector is None
    assert Video.objects.count() == 8


def test_the_ivf_index_replaces_vectors_again_and_again(
    viewer: User, creators: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelm.recommend import index as index_module

    monkeypatch.setattr(index_module, "IVF_FROM", 50)
    made = [embedded(creators[i % 6], axis=i % 8, seed=i) for i in range(120)]
    index = video_index()
    index.refresh(force=True)
    assert type(index._index).__name__ == "IndexIVFFlat" and len(index) == 120
    mover = made[0]
    for axis in (20, 21, 20, 22):  # a vector that keeps moving: each pull replaces it in place
        VideoSignal.objects.filter(video=mover).update(vector=vector_bytes(direction(axis)), updated_at=timezone.now())
        index.refresh(force=True)
        assert len(index) == 120
        assert index.search(direction(axis), 1)[0][0] == mover.id
    # The other videos are where they were: all 15 along axis 1 come back for that direction.
    along_1 = {v.id for i, v in enumerate(made) if i % 8 == 1}
    assert {v for v, _ in index.search(direction(1), 15)} == along_1
    # Vectors are read back from the index: of built, moved and newly pulled videos; unknown ids have none.
    newcomer = embedded(creators[0], axis=30)
    index.refresh(force=True)
    found = index.vectors([made[1].id, mover.id, newcomer.id, uuid.uuid4()])
    assert set(found) == {made[1].id, mover.id, newcomer.id}
    for indexed in (made[1], mover, newcomer):
        vector = vector_from(VideoSignal.objects.get(video=indexed).vector)
        assert vector is not None and np.allclose(found[indexed.id], normalise(vector), atol=1e-6)
    assert float(found[mover.id] @ direction(22)) > 0.99 and float(found[newcomer.id] @ direction(30)) > 0.9


def test_a_video_made_private_leaves_the_next_page_at_once(viewer: User, creators: list[User]) -> None:
    made = [embedded(creators[i], axis=0) for i in range(4)]
    taste_along(viewer, 0)
    assert set(page_ids(viewer)) == {v.id for v in made}  # the videos' facts are now kept in this process
    Video.objects.filter(id=made[0].id).update(visibility="private")
    relations.account_privacy_set(user=creators[1], is_private=True)
    Video.objects.filter(id=made[2].id).delete()
    assert set(page_ids(viewer)) == {made[3].id}


def test_only_the_best_candidates_get_full_features_but_followed_ones_always_do(
    viewer: User, creators: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelm.recommend import ranking

    monkeypatch.setattr(ranking, "PRE_RANK", 4)
    taste_settings_set(viewer, more_new_creators=0)  # no exploration slots: merit alone
    near = [embedded(creators[i % 4], axis=0) for i in range(4)]
    far = [embedded(creators[i % 4], axis=5) for i in range(8)]
    followed = embedded(creators[5], axis=9)
    follow(viewer, creators[5])
    taste_along(viewer, 0)
    found = feed_get("for-you").page(viewer, None, 20)
    assert set(found.ids) == {v.id for v in near} | {followed.id}
    assert not set(found.ids) & {v.id for v in far}
    assert found.next_cursor is not None  # the others wait for later pages
    rest = feed_get("for-you").page(viewer, found.next_cursor, 20)
    assert set(rest.ids) <= {v.id for v in far} and rest.ids


# --- the kept candidate pool -----------------------------------------------------------------------------------


def test_pages_rank_the_kept_pool_and_a_new_follow_gathers_it_again(viewer: User, creators: list[User]) -> None:
    for i in range(6):
        embedded(creators[i % 3], axis=0)
    taste_along(viewer, 0)
    page_ids(viewer)
    kept = cache.get(pool._pool_key(viewer.id))
    assert isinstance(kept, pool.Pool) and len(kept) == 6
    newcomer = account("newcomer", private=True)
    theirs = embedded(newcomer, axis=3, visibility="followers")
    assert theirs.id not in page_ids(viewer), "a followers-only video of a stranger"
    follow(viewer, newcomer)
    assert theirs.id in page_ids(viewer), "following changed: the pool is gathered again"


def test_what_was_watched_after_the_pool_was_gathered_is_never_shown_from_it(
    viewer: User, creators: list[User]
) -> None:
    made = [embedded(creators[i % 3], axis=0) for i in range(6)]
    taste_along(viewer, 0)
    first = page_ids(viewer, 3)
    gathered = cache.get(pool._pool_key(viewer.id)).gathered
    # A bare impression teaches nothing (so the pool is not gathered again), but it was shown.
    send_events(viewer, [{"video_id": str(first[0]), "kind": "impression"}])
    again = page_ids(viewer)
    assert cache.get(pool._pool_key(viewer.id)).gathered == gathered
    assert first[0] not in again and set(again) == {v.id for v in made} - {first[0]}


def test_a_moved_vector_gathers_the_pool_again_in_the_background(viewer: User, creators: list[User]) -> None:
    [embedded(creators[i % 3], axis=0) for i in range(4)]
    cars = [embedded(creators[3 + i % 3], axis=1) for i in range(4)]
    taste_along(viewer, 0)
    page_ids(viewer, 2)
    before = cache.get(pool._pool_key(viewer.id))
    events: list[dict[str, Any]] = []
    for v in cars:
        events += finished(v.id)
    send_events(viewer, events)  # the worker runs tasks inline in tests
    after = cache.get(pool._pool_key(viewer.id))
    vector = taste_vector(Taste.objects.get(owner=viewer))
    assert before.vector is not None and vector is not None and float(before.vector @ vector) < pool.POOL_DRIFT
    assert after.gathered > before.gathered and np.allclose(after.vector, vector)
    assert not {v.id for v in cars} & set(after.video_ids()), "what was watched is left out of the new pool"


@pytest.mark.parametrize("age", [pool.POOL_REFRESH + 1, 2 * 3600], ids=["minutes", "hours"])
def test_a_page_from_an_old_pool_has_the_worker_gather_the_next_one(
    viewer: User, creators: list[User], age: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(4):
        embedded(creators[i % 3], axis=0)
    taste_along(viewer, 0)
    assert len(page_ids(viewer, 2)) == 2
    kept = cache.get(pool._pool_key(viewer.id))
    kept.gathered -= age
    cache.set(pool._pool_key(viewer.id), kept)
    newer = embedded(creators[3], axis=0)
    ranked_from: list[float] = []

    def pool_for(ctx: Any) -> pool.Pool:
        found = pool.pool_for(ctx)
        ranked_from.append(found.gathered)
        return found

    monkeypatch.setattr(ranking, "pool_for", pool_for)
    assert len(page_ids(viewer, 3)) == 3
    assert ranked_from == [kept.gathered], "ranked from the kept pool, without waiting for a gathering"
    gathered = cache.get(pool._pool_key(viewer.id))  # by the worker (inline in tests)
    assert gathered.gathered > kept.gathered + age - 1 and newer.id in gathered.video_ids()


def test_a_source_whose_head_the_viewer_saw_is_asked_deeper(
    viewer: User, creators: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "PER_SOURCE", 4)
    for i in range(12):
        embedded(creators[i % 6], axis=0)
    taste_along(viewer, 0)
    ctx = context(viewer)
    closest = [v for v, _ in NearestNeighbours().candidates(ctx, 12)]
    seen = set(closest[:8])
    assert (
        pool._unseen_proposals(NearestNeighbours(), ctx, seen)
        == [(v, s) for v, s in NearestNeighbours().candidates(ctx, 12) if v not in seen][:4]
    )


def test_a_viewer_who_saw_the_head_of_every_source_still_gets_a_feed(
    viewer: User, creators: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "PER_SOURCE", 4)
    made = [embedded(creators[i % 6], axis=0) for i in range(20)]
    taste_along(viewer, 0)
    ctx = context(viewer)
    heads = {v for source in SOURCES for v, _ in source.candidates(ctx, 4)}
    WatchEvent.objects.bulk_create(
        [WatchEvent(owner=viewer, video_id=v, kind="impression") for v in heads]
        + [WatchEvent(owner=viewer, video=v, kind="impression") for v in made[:12] if v.id not in heads]
    )
    unseen = {v.id for v in made} - heads - {v.id for v in made[:12]}
    assert unseen, "the test needs videos beyond every source's head"
    assert set(page_ids(viewer)) == unseen


def test_a_page_that_uses_up_most_of_the_pool_has_the_next_one_gathered_in_the_background(
    viewer: User, creators: list[User]
) -> None:
    made = {embedded(creators[i % 6], axis=0).id for i in range(30)}
    taste_along(viewer, 0)
    first = feed_get("for-you").page(viewer, None, 12)
    kept = cache.get(pool._pool_key(viewer.id))
    assert len(kept) == 30 and set(first.ids) <= made
    kept.gathered -= pool.POOL_DRY_AFTER + 1
    cache.set(pool._pool_key(viewer.id), kept)
    second = feed_get("for-you").page(viewer, first.next_cursor, 6)  # leaves 12: over a third of the pool
    assert cache.get(pool._pool_key(viewer.id)).gathered == kept.gathered, "not low yet: kept"
    third = feed_get("for-you").page(viewer, second.next_cursor, 4)  # leaves 8: under a third
    gathered = cache.get(pool._pool_key(viewer.id))  # by the worker (inline in tests)
    assert gathered.gathered > kept.gathered
    shown = set(first.ids) | set(second.ids) | set(third.ids)
    assert set(gathered.video_ids()) == made - shown, "what the session was shown is left out of the next pool"
    last = feed_get("for-you").page(viewer, third.next_cursor, 20)
    assert set(last.ids) == made - shown and not last.seen_before
    assert last.next_cursor is not None, "For You goes on with what was seen (caught_up) rather than end"


def test_reelm_index_warm_off_leaves_the_index_to_the_first_request(settings: Any) -> None:
    import threading

    from reelm.recommend.index import warm_in_background

    settings.RECOMMEND_INDEX_WARM = False
    before = threading.active_count()
    warm_in_background()
    assert threading.active_count() == before
    assert "video-index-warm" not in {t.name for t in threading.enumerate()}


def test_the_video_facts_kept_in_memory_are_nothing_the_garbage_collector_tracks(creators: list[User]) -> None:
    import gc

    tagged = embedded(creators[0], axis=1, tags=("cats", "dogs"))
    private_author = account("hidden", private=True)
    other = embedded(private_author, axis=2)
    gone = uuid.uuid4()
    first = pool.video_facts([tagged.id, other.id, gone])
    assert set(first) == {tagged.id, other.id}
    assert first[tagged.id].owner_id == creators[0].id and first[tagged.id].tags == ("cats", "dogs")
    assert first[other.id].owner_private and not first[other.id].may_show(followed=False)
    again = pool.video_facts([tagged.id, other.id, gone])  # from memory: equal facts, rebuilt from plain values
    assert again == first
    gc.collect()
    gc.collect()  # the collector untracks a tuple of untracked values when it examines it (one pass may not see all)
    kept = list(pool._facts.values())
    assert len(kept) == 3
    # A web process keeps up to FACTS_MAX of these: tracked objects would each be scanned by every full collection.
    assert not any(gc.is_tracked(entry) for entry in kept)
    assert not any(gc.is_tracked(key) for key in pool._facts)


def test_an_online_step_is_never_lost_when_another_worker_saves_first(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = [("source=similar", 1.0), ("cos_b3", 1.0)]
    learned = ranker_store._learned
    raced: list[int] = []

    def another_worker_saves_meanwhile(state: ModelState, rows: Any, labels: Any) -> bytes:
        out = learned(state, rows, labels)
        if not raced:  # between this step's read and its save, another worker saves a step of its own
            raced.append(0)
            raced[0] = ranker_store.ranker_train([row, row], [1.0, 0.0])
        return out

    monkeypatch.setattr(ranker_store, "_learned", another_worker_saves_meanwhile)
    version = ranker_store.ranker_train([row], [1.0])
    assert raced == [1] and version == 2
    saved = Ranker.load(bytes(ModelState.objects.get(name="ranker").data))
    assert saved.examples == 3  # both steps: the first one was learned again on the other's state


def test_an_online_step_that_keeps_losing_the_race_takes_the_lock(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    row = [("source=similar", 1.0)]
    ranker_store.ranker_train([row], [1.0])
    read = ranker_store._ranker_state
    races: list[int] = []

    def another_worker_saves_after_each_read() -> ModelState:
        state = read()
        if len(races) < ranker_store.RANKER_SAVE_ATTEMPTS:  # every optimistic attempt loses its race
            races.append(state.version)
            assert ranker_store._ranker_save_if_unchanged(state.version, ranker_store._learned(state, [row], [0.0]))
        return state

    monkeypatch.setattr(ranker_store, "_ranker_state", another_worker_saves_after_each_read)
    assert ranker_store.ranker_train([row, row], [1.0, 0.0]) == 5  # 1, three other steps, then this one, locked
    assert races == [1, 2, 3]
    saved = Ranker.load(bytes(ModelState.objects.get(name="ranker").data))
    assert saved.examples == 6  # nothing lost: 1 + 3 + 2
