"""Pages that compose several apps: the front page, a video's page, a profile, the settings page."""

from __future__ import annotations

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
from reelm.core.errors import ReelmError
from reelm.feed.views import feed
from reelm.relations.selectors import account_get_for_viewer, follow_requests_pending, follow_status
from reelm.site import account_data as data
from reelm.site import profile as profile_reads
from reelm.site.profile import comment_threads
from reelm.social.selectors import bookmarks_of
from reelm.videos.cards import card_json, video_card, video_cards
from reelm.videos.embed import embed_code, embeddable
from reelm.videos.forms import VideoEditForm
from reelm.videos.selectors import videos_of_owner
from reelm.videos.views import request_origin, visible_video


def home(request: HttpRequest) -> HttpResponse:
    """The front page is the For You feed, for everyone."""
    return feed(request)


def video_page(request: HttpRequest, video_id: str) -> HttpResponse:
    video = visible_video(request, video_id)
    data = video_card(video, request.user)
    me = request.user
    is_owner = bool(me.is_authenticated and me.id == video.owner_id)
    return render(
        request,
        "videos/video.html",
        {
            "video": video,
            "data": data,
            "json": card_json(data),
            "threads": comment_threads(video, me),
            "is_video_owner": is_owner,
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
            "videos": video_cards(videos, viewer),
            "avatar_url": selectors.avatar_url(author),
            "is_owner": is_owner,
            "tab": tab,
            "videos_visible": visible,
            "likes_received": profile_reads.likes_received(author, viewer),
            "follow_status": follow_status(viewer, author) or "none",
        },
    )


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = ProfileForm(
        request.POST or None,
        request.FILES or None,
        initial={"display_name": user.display_name, "bio": user.bio},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(
                user=user,
                display_name=form.cleaned_data["display_name"],
                bio=form.cleaned_data["bio"],
            )
            if form.cleaned_data.get("avatar"):
                services.avatar_set(user=user, upload=form.cleaned_data["avatar"])
        except ReelmError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Profile saved.")
            return redirect("settings")
    return render(request, "accounts/settings.html", _settings_context(request, form))


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
    profile_form = ProfileForm(
        initial={"display_name": current_user(request).display_name, "bio": current_user(request).bio}
    )
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
