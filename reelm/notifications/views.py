from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from reelm.accounts.auth import current_user
from reelm.notifications import selectors, services
from reelm.notifications.models import NotificationKind


@login_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    me = current_user(request)
    try:
        before = uuid.UUID(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    found = selectors.notifications_page(recipient=me, before=before, limit=selectors.PAGE_SIZE + 1)
    more = len(found) > selectors.PAGE_SIZE
    found = found[: selectors.PAGE_SIZE]
    follow_kinds = {NotificationKind.FOLLOW, NotificationKind.FOLLOW_REQUEST}
    items = [
        {
            "notification": n,
            "text": selectors.notification_text(n, me),
            "link": f"/@{n.actor.username}" if n.kind in follow_kinds or n.video_id is None else f"/v/{n.video_id}",
        }
        for n in found
    ]
    if found and before is None:
        # Opening the inbox reads it, as on TikTok: everything up to the newest shown is marked read before the
        # page (and its header bell) is drawn, so the badge clears now and stays cleared. The items above keep
        # their unread mark for this one view; a notification arriving meanwhile stays unread.
        services.notifications_mark_read(recipient_id=me.id, up_to=found[0].id)
    response = render(
        request,
        "notifications/list.html",
        {"items": items, "next_cursor": found[-1].id if more else None},
    )
    # Never from the back/forward cache or an HTTP cache: a page drawn before would show an old badge.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_read(recipient_id=current_user(request).id)
    return redirect("notifications")
