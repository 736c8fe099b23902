"""The transparent For You ranking: ordering, snapshot cursors that never skip or repeat, author diversity,
visibility and the shared ranking cache."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from reelm.accounts.models import User
from reelm.feed.feeds import BadCursor, FeedPage, FollowingFeed, feed_get
from reelm.recommend.ranking import RecommendedFeed
from reelm.recommend.transparent import WRAP, ForYouFeed, Ranked, SnapshotCursor, diversify, score
from reelm.relations import services as relations
from reelm.social import services as social
from reelm.videos.models import Video
from tests.feed import conftest
from tests.feed.conftest import account, follow, ids, like, video

pytestmark = pytest.mark.django_db


def lap_ended(page: FeedPage) -> bool:
    """Whether ``page`` is the last of its lap: For You never ends, it starts over."""
    return page.next_cursor is not None and SnapshotCursor.decode(page.next_cursor).phase == WRAP


def walk(feed: Any, viewer: Any, limit: int, between: Any = None) -> list[Any]:
    """Every id a client sees paging through For You's first lap."""
    return conftest.walk(feed, viewer, limit, between, last=lap_ended)


# --- For You ---------------------------------------------------------------------------------------------------


def test_score_rewards_engagement_and_decays_with_age() -> None:
    assert score(likes=0, comments=0, age_hours=0) == pytest.approx(1 / 2**1.5)
    assert score(likes=3, comments=0, age_hours=1) == pytest.approx(4 / 3**1.5)
    assert score(likes=0, comments=1, age_hours=1) > score(likes=1, comments=0, age_hours=1)
    assert score(likes=5, comments=0, age_hours=48) < score(likes=5, comments=0, age_hours=2)


def test_for_you_ranks_popular_recent_videos_first(viewer: User) -> None:
    a, b, c = account(), account(), account()
    fresh_quiet = video(a, hours_old=1)  # (0+1)/3^1.5 ≈ 0.19
    popular = video(b, hours_old=2)  # (6+1)/4^1.5 ≈ 0.875
    old_popular = video(c, hours_old=100)  # (6+1)/102^1.5 ≈ 0.007
    discussed = video(a, hours_old=2)  # (0 + 2*2 + 1)/4^1.5 ≈ 0.625
    like(popular, 6)
    like(old_popular, 6)
    for body in ("first", "second"):
        social.comment_create(author=viewer, video=discussed, body=body)
    video(c, hours_old=24 * 8)  # outside the window
    assert ids(ForYouFeed().page(viewer, None, 20)) == [popular.id, discussed.id, fresh_quiet.id, old_popular.id]


def test_for_you_only_ever_shows_public_videos_of_public_accounts(viewer: User) -> None:
    public_account, private_account = account(), account(private=True)
    follow(viewer, public_account)
    follow(viewer, private_account)  # even an approved follower gets these in Following, not For You
    public = video(public_account)
    hidden = [
        video(public_account, visibility="followers"),
        video(public_account, visibility="private"),
        video(public_account, state="processing"),
        video(private_account),
        video(private_account, visibility="followers"),
    ]
    like(hidden[0], 3)
    for who in (viewer, account(), AnonymousUser()):
        assert ids(ForYouFeed().page(who, None, 20)) == [public.id]
    assert not {v.id for v in hidden} & set(walk(ForYouFeed(), AnonymousUser(), 1))


def test_for_you_caps_one_author_per_run_and_per_page(viewer: User) -> None:
    prolific = account()
    others = [account() for _ in range(5)]
    loud = [video(prolific, hours_old=1) for _ in range(10)]
    for item in loud:
        like(item, 2)  # every one of them outranks everything else
    quiet = [video(o, hours_old=3) for o in others for _ in range(5)]
    page = ForYouFeed().page(viewer, None, 20)
    owners = dict(Video.objects.filter(id__in=page.ids).values_list("id", "owner_id"))
    authors = [owners[i] for i in page.ids]
    assert len(authors) == 20
    assert authors[:2] == [prolific.id, prolific.id] and authors[2] != prolific.id
    assert max(len(run) for run in _runs(authors)) <= 2, authors
    assert authors.count(prolific.id) == 4, authors
    # Nothing is dropped: the rest of the prolific author's videos come on the next page.
    seen = walk(ForYouFeed(), viewer, 20)
    assert sorted(seen) == sorted(v.id for v in loud + quiet)


def _runs(authors: list[Any]) -> list[list[Any]]:
    runs: list[list[Any]] = []
    for author in authors:
        if runs and runs[-1][-1] == author:
            runs[-1].append(author)
        else:
            runs.append([author])
    return runs


def test_diversify_keeps_every_candidate_and_falls_back_when_one_author_is_left() -> None:
    import uuid

    ranked = [Ranked(id=uuid.uuid4().hex, owner_id="a", score=10 - i) for i in range(5)]
    ranked.append(Ranked(id=uuid.uuid4().hex, owner_id="b", score=0.5))
    out = diversify(ranked)
    assert [r.owner_id for r in out] == ["a", "a", "b", "a", "a", "a"]
    assert sorted(r.id for r in out) == sorted(r.id for r in ranked)


def test_for_you_pages_are_stable_while_videos_and_likes_arrive(viewer: User) -> None:
    authors = [account() for _ in range(5)]
    start = [video(authors[i % 5], hours_old=1 + i) for i in range(17)]
    for i, item in enumerate(start):
        like(item, i % 4)
    late: list[Video] = []

    def meanwhile() -> None:
        # A new upload, and a burst of likes on the lowest-ranked video, between two page loads.
        late.append(video(authors[0]))
        like(start[-1], 5)

    seen = walk(ForYouFeed(), viewer, 5, between=meanwhile)
    assert len(late) == 3
    assert len(seen) == len(set(seen)), "a video was shown twice"
    assert set(seen) == {v.id for v in start}, "a video was skipped, or a later upload slipped in"
    # A fresh first page does see what arrived since.
    assert {v.id for v in late} <= set(walk(ForYouFeed(), viewer, 50))


def test_for_you_cursor_survives_the_deletion_of_the_last_video_shown(viewer: User) -> None:
    author = account()
    made = [video(author, hours_old=i + 1) for i in range(6)]
    first = ForYouFeed().page(AnonymousUser(), None, 3)
    Video.objects.filter(id=first.ids[-1]).delete()
    second = ForYouFeed().page(AnonymousUser(), first.next_cursor, 3)
    assert ids(first) + ids(second) == [v.id for v in made]  # ranked by age: newest first
    assert lap_ended(second)  # For You starts over rather than end


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "eyJ0IjoxfQ", SnapshotCursor(timezone.now(), 0, (Video().id,)).encode()[:-3] + "!!!", "e30"],
)
def test_for_you_rejects_bad_cursors(cursor: str) -> None:
    with pytest.raises(BadCursor):
        ForYouFeed().page(AnonymousUser(), cursor, 20)


def test_the_feeds_are_found_by_name() -> None:
    for_you = feed_get("for-you")
    assert isinstance(for_you, RecommendedFeed) and isinstance(for_you.transparent, ForYouFeed)
    assert isinstance(feed_get("following"), FollowingFeed)


def test_for_you_never_skips_ahead_when_a_whole_page_was_deleted(viewer: User) -> None:
    author = account()
    made = [video(author, hours_old=i + 1) for i in range(7)]
    first = ForYouFeed().page(AnonymousUser(), None, 3)
    Video.objects.filter(id__in=ids(first)).delete()
    second = ForYouFeed().page(AnonymousUser(), first.next_cursor, 3)
    assert ids(second) == [v.id for v in made[3:6]]


# --- the shared ranking cache ----------------------------------------------------------------------------------


def test_the_ranking_is_computed_once_per_snapshot_and_shared_by_every_viewer(
    viewer: User, django_assert_num_queries: Any
) -> None:
    authors = [account() for _ in range(3)]
    [video(authors[i % 3], hours_old=i + 1) for i in range(9)]
    first = ForYouFeed().page(AnonymousUser(), None, 4)
    # Another viewer's first page reuses it: no ranking queries, only the viewer's blocks and mutes, and one check
    # that the page's videos are still public and no newer one is ready.
    with django_assert_num_queries(2):
        mine = ForYouFeed().page(viewer, None, 4)
    assert mine.ids == first.ids and SnapshotCursor.decode(mine.next_cursor or "").snapshot == (
        SnapshotCursor.decode(first.next_cursor or "").snapshot
    )


def test_a_newer_upload_starts_a_new_snapshot_on_the_next_fresh_load(viewer: User) -> None:
    author = account()
    video(author, hours_old=2)
    before = ForYouFeed().page(viewer, None, 20)
    newer = video(author)
    assert ids(ForYouFeed().page(viewer, None, 20)) == [newer.id, *ids(before)]


def test_a_cached_order_never_serves_one_viewers_filtering_to_another(viewer: User) -> None:
    muted, blocker, other = account(), account(), account()
    mine = [video(muted, hours_old=1), video(blocker, hours_old=2), video(other, hours_old=3)]
    relations.mute_create(muter=viewer, muted=muted)
    relations.block_create(blocker=blocker, blocked=viewer)
    assert ids(ForYouFeed().page(viewer, None, 20)) == [mine[2].id]  # filtered for the viewer...
    everyone = [v.id for v in mine]
    assert ids(ForYouFeed().page(AnonymousUser(), None, 20)) == everyone  # ...not for anyone else
    assert ids(ForYouFeed().page(account(), None, 20)) == everyone
    assert ids(ForYouFeed().page(viewer, None, 20)) == [mine[2].id]


@pytest.mark.parametrize("change", ["private", "deleted", "blocked", "account private"])
def test_what_is_hidden_after_the_snapshot_leaves_the_next_page_of_that_snapshot(viewer: User, change: str) -> None:
    authors = [account() for _ in range(4)]
    made = [video(authors[i % 4], hours_old=i + 1) for i in range(8)]  # newest first = the order
    first = ForYouFeed().page(viewer, None, 4)
    assert ids(first) == [v.id for v in made[:4]]
    gone = made[5]
    if change == "private":
        Video.objects.filter(id=gone.id).update(visibility="private")
    elif change == "deleted":
        Video.objects.filter(id=gone.id).delete()
    elif change == "blocked":
        relations.block_create(blocker=viewer, blocked=gone.owner)
    else:
        relations.account_privacy_set(user=gone.owner, is_private=True)
    second = ForYouFeed().page(viewer, first.next_cursor, 4)
    hidden = (
        {v.id for v in made if v.owner_id == gone.owner_id} if change in ("blocked", "account private") else {gone.id}
    )
    assert ids(second) == [v.id for v in made[4:] if v.id not in hidden]
    assert lap_ended(second)  # For You starts over rather than end


def test_hiding_a_video_keeps_the_author_diversity_of_what_is_left(viewer: User) -> None:
    loud, quiet = account(), account()
    made = [video(loud, hours_old=1) for _ in range(4)] + [video(quiet, hours_old=5) for _ in range(2)]
    for item in made[:4]:
        like(item, 3)
    order = ids(ForYouFeed().page(viewer, None, 20))
    assert order[2] in {made[4].id, made[5].id}  # the quiet author breaks the loud one's run
    Video.objects.filter(id=order[2]).delete()
    after = ForYouFeed().page(viewer, None, 20)
    owners = dict(Video.objects.values_list("id", "owner_id"))
    authors = [owners[i] for i in after.ids]
    assert authors[:3] == [loud.id, loud.id, quiet.id], authors


# --- past the end of the ranking ---------------------------------------------------------------------------------


def _pages(feed: Any, viewer: Any, count: int, limit: int) -> list[FeedPage]:
    out: list[FeedPage] = []
    cursor = None
    for _ in range(count):
        page = feed.page(viewer, cursor, limit)
        assert page.ids and page.next_cursor is not None, "For You ran dry"
        out.append(page)
        cursor = page.next_cursor
    return out


def test_for_you_goes_on_with_older_videos_past_its_ranking_then_starts_over(
    viewer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelm.recommend import transparent

    monkeypatch.setattr(transparent, "MAX_CANDIDATES", 2)
    authors = [account() for _ in range(3)]
    old = [video(authors[i], hours_old=24 * 10 - i) for i in range(2)]  # before the window, oldest first
    recent = [video(authors[i % 3], hours_old=4 - i) for i in range(4)]  # the window; only the newest 2 ranked
    r, o = [v.id for v in recent], [v.id for v in old]
    expected = [[r[3], r[2]], [r[1], r[0]], [o[1], o[0]], [r[3], r[2]], [r[1], r[0]]]
    anonymous = _pages(ForYouFeed(), AnonymousUser(), 5, 2)
    assert [p.ids for p in anonymous] == expected
    assert [lap_ended(p) for p in anonymous] == [False, False, True, False, False]
    assert not any(p.seen_before for p in anonymous), "signed out, nothing is marked"
    signed_in = _pages(ForYouFeed(), viewer, 5, 2)
    assert [p.ids for p in signed_in] == expected
    assert [p.seen_before for p in signed_in] == [set(), set(), set(), {r[3], r[2]}, {r[1], r[0]}]


def test_a_new_lap_starts_with_what_was_uploaded_meanwhile_unmarked(viewer: User) -> None:
    author, other = account(), account()
    made = [video(author, hours_old=2), video(other, hours_old=3)]
    first = ForYouFeed().page(viewer, None, 20)
    assert ids(first) == [v.id for v in made] and lap_ended(first)
    newer = video(author)
    second = ForYouFeed().page(viewer, first.next_cursor, 20)
    assert ids(second) == [newer.id, made[0].id, made[1].id]
    assert second.seen_before == {v.id for v in made}


def test_a_single_public_video_keeps_coming(viewer: User) -> None:
    only = video(account(), hours_old=24 * 30)  # far older than the window
    video(account(), visibility="private")
    for who in (AnonymousUser(), viewer):
        assert [p.ids for p in _pages(ForYouFeed(), who, 4, 20)] == [[only.id]] * 4


def test_no_public_video_is_the_only_empty_page(viewer: User) -> None:
    author = account()
    video(author, visibility="private")
    video(author, state="processing")
    video(account(private=True))
    for who in (AnonymousUser(), viewer):
        assert ForYouFeed().page(who, None, 20) == FeedPage(ids=[], next_cursor=None)


def test_not_interested_holds_on_every_lap_with_personalisation_off(viewer: User) -> None:
    from reelm.recommend.not_interested import not_interested_add
    from reelm.recommend.taste import taste_settings_set
    from reelm.videos.models import Hashtag, VideoHashtag

    dull, fine = account(), account()
    video(dull, hours_old=1)
    video(dull, hours_old=24 * 10)
    tagged = video(fine, hours_old=2)
    VideoHashtag.objects.create(owner=fine, video=tagged, hashtag=Hashtag.objects.create(name="spoilers"))
    kept = [video(fine, hours_old=3), video(fine, hours_old=24 * 11)]
    taste_settings_set(viewer, personalised=False)
    not_interested_add(viewer, scope="author", target=dull.id.hex)
    not_interested_add(viewer, scope="hashtag", target="spoilers")
    found = _pages(feed_get("for-you"), viewer, 6, 1)
    assert [p.ids for p in found] == [[kept[0].id], [kept[1].id]] * 3
    assert [bool(p.seen_before) for p in found] == [False, False, True, True, True, True]
