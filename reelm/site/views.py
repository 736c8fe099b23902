"""Pages that compose several apps: the front page, a video's page, a profile, the settings page."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from reelm.accounts import selectors, services
from reelm.accounts.auth import current_user
from reelm.accounts.forms import ProfileForm, TokenForm
from reelm.accounts.models import User
from reelm.core.errors import Forbidden, ReelmError
from reelm.feed.views import feed
from reelm.relations.selectors import account_get_for_viewer, follow_requests_pending, follow_status
from reelm.relations.services import account_privacy_set
from reelm.site import account_data as data
from reelm.site import profile as profile_reads
from reelm.site.profile import comment_threads
from reelm.social.selectors import bookmarks_of
from reelm.videos.cards import card_json, video_card, video_cards
from reelm.videos.embed import embed_code, embeddable
from reelm.videos.forms import VideoEditForm
from reelm.videos.selectors import videos_of_owner
from reelm.videos.views import request_origin, visible_video

FOLLOW_PAGE = 50


def home(request: HttpRequest) -> HttpResponse:
    """The front page is the For You feed, for everyone."""
    return feed(request)


def video_page(request: HttpRequest, video_id: str) -> HttpResponse:
    video = visible_video(request, video_id)
    data = video_card(video, request.user)
    me = request.user
    is_owner = bool(me.is_authenticated and me.id == video.owner_id)
    following = None if is_owner or not me.is_authenticated else follow_status(me, video.owner)
    return render(
        request,
        "videos/video.html",
        {
            "video": video,
            "data": data,
            "json": card_json(data),
            "threads": comment_threads(video, me),
            "is_video_owner": is_owner,
            "follow_status": following or "none",
            "views": profile_reads.view_counts([video.id])[video.id],
            "embed_code": embed_code(video, request_origin(request)) if embeddable(video) else "",
            "edit_form": VideoEditForm(
                initial={"caption": video.caption, "visibility": video.visibility, "language": video.language}
            )
            if is_owner
            else None,
        },
    )


def profile(request: HttpRequest, username: str) -> HttpResponse:
    try:
        author = account_get_for_viewer(username, request.user)  # a blocked pair sees no profile
    except ReelmError:
        return render(request, "404.html", status=404)
    viewer = request.user
    is_owner = bool(viewer.is_authenticated and viewer.id == author.id)
    tab = request.GET.get("tab", "videos")
    if tab not in profile_reads.PROFILE_TABS or not is_owner:
        tab = "videos"  # the liked and bookmarked tabs are the owner's alone
    visible = profile_reads.can_see_profile_videos(author, viewer)
    if tab == "liked":
        videos = profile_reads.liked_videos_of(author)
    elif tab == "bookmarked":
        videos = bookmarks_of(author)
    else:
        videos = videos_of_owner(owner_id=author.id, viewer=viewer) if visible else []
    return render(
        request,
        "accounts/profile.html",
        {
            "author": author,
            "videos": profile_reads.with_views(video_cards(videos, viewer)),
            "avatar_url": selectors.avatar_url(author),
            "is_owner": is_owner,
            "tab": tab,
            "videos_visible": visible,
            "likes_received": profile_reads.likes_received(author, viewer),
            "follow_status": follow_status(viewer, author) or "none",
            "lists_visible": profile_reads.lists_visible(author, viewer),
        },
    )


def follow_list_page(request: HttpRequest, username: str, which: str) -> HttpResponse:
    """``/@name/followers`` and ``/@name/following``: the accounts, with a follow button for a signed-in viewer.
    A private account's lists are shown as the API shows them: only to itself, staff and approved followers."""
    try:
        author = account_get_for_viewer(username, request.user)
    except ReelmError:
        return render(request, "404.html", status=404)
    viewer = request.user
    try:
        before = uuid.UUID(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    context: dict[str, object] = {
        "author": author,
        "which": which,
        "avatar_url": selectors.avatar_url(author),
        "lists_visible": True,
    }
    try:
        found = profile_reads.follow_list(author, viewer, which, before=before, limit=FOLLOW_PAGE + 1)
    except Forbidden:
        context["lists_visible"] = False
        return render(request, "accounts/follow_list.html", context, status=403)
    more = len(found) > FOLLOW_PAGE
    found = found[:FOLLOW_PAGE]
    accounts = [f.owner if which == "followers" else f.followee for f in found]
    states = profile_reads.follow_states(viewer, accounts)
    context["people"] = [
        {
            "account": account,
            "avatar_url": selectors.avatar_url(account),
            "status": states.get(account.id, "none"),
            "is_me": bool(viewer.is_authenticated and viewer.id == account.id),
        }
        for account in accounts
    ]
    context["next_cursor"] = found[-1].id if more else None
    return render(request, "accounts/follow_list.html", context)


def followers_page(request: HttpRequest, username: str) -> HttpResponse:
    return follow_list_page(request, username, "followers")


def following_page(request: HttpRequest, username: str) -> HttpResponse:
    return follow_list_page(request, username, "following")


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = ProfileForm(request.POST or None, request.FILES or None, initial=_profile_initial(user))
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(
                user=user,
                display_name=form.cleaned_data["display_name"],
                bio=form.cleaned_data["bio"],
            )
            if form.cleaned_data.get("avatar"):
                services.avatar_set(user=user, upload=form.cleaned_data["avatar"])
            if form.cleaned_data["is_private"] != user.is_private:
                # Going public also approves every pending follow request.
                account_privacy_set(user=user, is_private=form.cleaned_data["is_private"])
        except ReelmError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Profile saved.")
            return redirect("settings")
    return render(request, "accounts/settings.html", _settings_context(request, form))


def _profile_initial(user: User) -> dict[str, object]:
    return {"display_name": user.display_name, "bio": user.bio, "is_private": user.is_private}


def _settings_context(request: HttpRequest, form: ProfileForm, **extra: object) -> dict[str, object]:
    return {
        "form": form,
        "token_form": extra.pop("token_form", TokenForm()),
        "tokens": selectors.token_list(current_user(request)),
        "avatar_url": selectors.avatar_url(current_user(request)),
        "follow_requests": list(follow_requests_pending(current_user(request))[:200]),
        **extra,
    }


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    token_form = TokenForm(request.POST)
    profile_form = ProfileForm(initial=_profile_initial(current_user(request)))
    if not token_form.is_valid():
        return render(
            request, "accounts/settings.html", _settings_context(request, profile_form, token_form=token_form)
        )
    issued = services.token_create(user=current_user(request), name=token_form.cleaned_data["name"])
    return render(request, "accounts/settings.html", _settings_context(request, profile_form, new_secret=issued.secret))


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: str) -> HttpResponse:
    try:
        services.token_revoke(user=current_user(request), token_id=token_id)
    except (ReelmError, ValueError):
        messages.error(request, "No such token.")
    else:
        messages.success(request, "Token revoked.")
    return redirect("settings")


@login_required
def export_download(request: HttpRequest) -> HttpResponseBase:
    return data.account_export_response(user=current_user(request))


@login_required
@require_POST
def account_delete(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    try:
        data.account_delete(user=user, password=request.POST.get("password", ""))
    except ReelmError as exc:
        messages.error(request, exc.message)
        return redirect("settings")
    logout(request)
    messages.success(request, "Your account and everything in it has been deleted.")
    return redirect("home")
