from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST, require_safe

from reelm.accounts.auth import current_user
from reelm.core.errors import NotFound, ReelmError
from reelm.videos import selectors, services
from reelm.videos.captions import CAPTION_MAX
from reelm.videos.cards import card_json, video_card
from reelm.videos.embed import embeddable
from reelm.videos.forms import UploadForm, VideoEditForm
from reelm.videos.models import Video
from reelm.videos.services import default_language


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    owner = current_user(request)
    # A posted form shows what was posted: only a new one needs the uploader's default language.
    initial = {"language": default_language(owner)} if request.method != "POST" else None
    posted = request.POST.copy() if request.POST else None
    if posted is not None and "caption" in posted:
        # A browser sends a line break as CRLF; the page counted it as one character, as the API does.
        posted["caption"] = str(posted.get("caption", "")).replace("\r\n", "\n")
    form = UploadForm(posted, request.FILES or None, initial=initial)
    form.fields["caption"].error_messages["max_length"] = (
        "The caption is too long: %(show_value)d characters, and captions are limited to %(limit_value)d. "
        "Shorten it and upload again."
    )
    if request.method == "POST" and form.is_valid():
        try:
            video = services.video_create(
                owner=owner,
                upload_path=Path(form.cleaned_data["file"].temporary_file_path()),
                caption=form.cleaned_data["caption"],
                visibility=form.cleaned_data["visibility"],
                language=form.cleaned_data["language"],
            )
        except ReelmError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("video", video_id=video.id)
    limit_mib = settings.REELM_MAX_UPLOAD_BYTES // (1024 * 1024)
    _describe(form)
    return render(
        request,
        "videos/upload.html",
        {
            "form": form,
            "limit_mib": limit_mib,
            "caption_max": CAPTION_MAX,
            "caption_max_text": f"{CAPTION_MAX:,}".replace(",", "\u00a0"),
        },
        status=400 if form.errors else 200,
    )


def _describe(form: UploadForm) -> None:
    """Prepare the form for the page: each field described by its error, its help and (the caption) its
    countdown; the caption box takes any length (the page counts down and refuses too long a caption with a
    message rather than cutting the text off; the form's limit still holds on the server)."""
    caption = form.fields["caption"]
    caption.widget.attrs.pop("maxlength", None)
    caption.widget.attrs["data-maxlength"] = str(CAPTION_MAX)
    for name, field in form.fields.items():
        described = [f"id_{name}_error"] if name in ("file", "caption") or form.errors.get(name) else []
        if name == "caption":
            described.append("caption-count")
        if field.help_text:
            described.append(f"id_{name}_helptext")
        if described:
            field.widget.attrs["aria-describedby"] = " ".join(described)
        if form.errors.get(name):
            field.widget.attrs["aria-invalid"] = "true"


@login_required
@require_POST
def video_edit(request: HttpRequest, video_id: str) -> HttpResponse:
    """The author's caption, visibility and language form on the video page (works without JavaScript)."""
    video = visible_video(request, video_id)
    form = VideoEditForm(request.POST)
    if not form.is_valid():
        return redirect("video", video_id=video.id)
    services.video_update(
        video=video,
        editor=current_user(request),
        caption=form.cleaned_data["caption"],
        visibility=form.cleaned_data["visibility"],
        language=form.cleaned_data["language"] if "language" in request.POST else None,  # an older page: kept
    )
    messages.success(request, f"Saved: the video is now {video.get_visibility_display().lower()}.")
    return redirect("video", video_id=video.id)


@login_required
@require_POST
def video_remove(request: HttpRequest, video_id: str) -> HttpResponse:
    video = visible_video(request, video_id)
    services.video_delete(video=video, actor=current_user(request))
    messages.success(request, "The video and all its files were deleted.")
    return redirect("profile", username=current_user(request).username)


def visible_video(request: HttpRequest, video_id: str) -> Video:
    """The video if this viewer may see it; anything else is the site's 404 page, so ids leak nothing."""
    try:
        return selectors.video_get_for_viewer(video_id, request.user)
    except NotFound:
        raise Http404("No such video.") from None


def request_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


# Any site may frame the embed player (and only it); it shows public videos only.
_EMBED_CSP: dict[str, Any] = {**settings.SECURE_CSP, "frame-ancestors": ["*"]}


@require_safe
@xframe_options_exempt
@csp_override(_EMBED_CSP)
def embed(request: HttpRequest, video_id: str) -> HttpResponse:
    try:
        video = selectors.video_get(video_id)
    except NotFound:
        video = None
    if video is None or not embeddable(video):
        return render(request, "videos/embed_missing.html", status=404)
    data = video_card(video, None)  # the same for everyone: no viewer marks
    return render(request, "videos/embed.html", {"video": video, "json": card_json(data)})
