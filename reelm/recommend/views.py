"""The feed settings page: personalisation, the mix, interests and the "not interested" choices, as plain HTML
forms (POST, then redirect), so every control works without JavaScript."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from reelm.accounts.auth import current_user
from reelm.accounts.models import User
from reelm.feed.selectors import trending_hashtags
from reelm.recommend.forms import INTEREST_RE, FeedSettingsForm
from reelm.recommend.models import Taste
from reelm.recommend.not_interested import not_interested_remove
from reelm.recommend.selectors import not_interested_rows
from reelm.recommend.taste import taste_get, taste_settings_set

TRENDING_SHOWN = 20


@login_required
def feed_settings(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    taste = taste_get(user)
    form = FeedSettingsForm(
        request.POST or None,
        initial=_initial(taste),
        interest_choices=_interest_choices(taste, request.POST.getlist("interests")),
    )
    if request.method == "POST" and form.is_valid():
        _save(user, taste, form.cleaned_data)
        messages.success(request, "Feed settings saved.")
        return redirect("feed_settings")
    context = {
        "form": form,
        "not_interested": not_interested_rows(user),
        # Saving the form (ticked or not) makes them a choice, which sign-ins no longer guess over.
        "languages_guessed": bool(taste.languages) and not taste.languages_chosen,
    }
    return render(request, "recommend/feed_settings.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def not_interested_undo(request: HttpRequest, choice_id: uuid.UUID) -> HttpResponse:
    if not_interested_remove(current_user(request), choice_id):
        messages.success(request, "Undone: it can appear in For You again.")
    else:
        messages.info(request, "That was already undone.")
    return redirect("feed_settings")


def _initial(taste: Taste) -> dict[str, Any]:
    return {
        "personalised": "on" if taste.personalised else "off",
        "more_following": taste.more_following,
        "more_new_creators": taste.more_new_creators,
        "interests": list(taste.interests),
        "languages": list(taste.languages),
    }


def _interest_choices(taste: Taste, posted: list[str]) -> list[str]:
    """The chosen interests first, then trending hashtags; a posted name that has since stopped trending is
    still a valid choice, so a slow form is not rejected."""
    names = list(taste.interests) + [t.name for t in trending_hashtags(limit=TRENDING_SHOWN)]
    names += [name for name in posted if INTEREST_RE.match(name)]
    return list(dict.fromkeys(names))


def _save(user: User, taste: Taste, cleaned: dict[str, Any]) -> None:
    taste_settings_set(
        user,
        personalised=cleaned["personalised"] == "on",
        more_following=cleaned["more_following"],
        more_new_creators=cleaned["more_new_creators"],
        interests=cleaned["all_interests"],
        languages=_in_preferred_order(taste.languages, cleaned["languages"]),
    )


def _in_preferred_order(before: list[str], chosen: list[str]) -> list[str]:
    """Checkboxes have no order: the languages kept stay where they were (the first is the default for uploads),
    new ones come after them."""
    return [code for code in before if code in chosen] + [code for code in chosen if code not in before]
