"""A viewer's taste and feed settings: the taste row and vector, the mix and interests they chose, and the
languages they watch in (chosen, or guessed from their browser at sign-in)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from django.db import IntegrityError
from django.http import HttpRequest

from reelm.core import realms
from reelm.core.languages import MAX_PREFERRED, accept_languages, clean_language
from reelm.core.prepared import PreparedInstances
from reelm.recommend import ranker
from reelm.recommend.models import Taste, VideoSignal

#: One per account (a unique constraint): no ORDER BY as first() would add. Read on every For You page, so prepared.
_taste_of = PreparedInstances(lambda owner_id: Taste.objects.order_by().filter(owner_id=owner_id)[:1])


def taste_get(user: Any) -> Taste:
    for taste in _taste_of(user.id):
        return taste
    try:
        with realms.atomic():
            return Taste.objects.create(owner_id=user.id)
    except IntegrityError:  # made by a concurrent request
        return Taste.objects.get(owner_id=user.id)


def tag_vectors(names: Iterable[str], *, per_tag: int = 50) -> list[np.ndarray]:
    """One vector per hashtag: the mean of its newest videos' vectors (tags nobody used yet get none)."""
    out = []
    for name in names:
        rows = VideoSignal.objects.filter(video__hashtag_links__hashtag__name=name).order_by("-video_id")
        vectors = [
            v for v in (ranker.vector_from(d) for d in rows.values_list("vector", flat=True)[:per_tag]) if v is not None
        ]
        if vectors:
            out.append(ranker.normalise(np.mean(np.stack(vectors), axis=0)))
    return out


def taste_vector(taste: Taste) -> np.ndarray | None:
    """The viewer's vector; before any history, the mean of their picked interests' vectors, else none."""
    vector = ranker.vector_from(taste.vector)
    if vector is not None:
        return vector
    hints = tag_vectors(taste.interests)
    return ranker.normalise(np.mean(np.stack(hints), axis=0)) if hints else None


def taste_settings_set(
    user: Any,
    *,
    personalised: bool | None = None,
    more_following: int | None = None,
    more_new_creators: int | None = None,
    interests: list[str] | None = None,
    languages: list[str] | None = None,
) -> Taste:
    taste = taste_get(user)
    if personalised is not None:
        taste.personalised = personalised
    if more_following is not None:
        taste.more_following = max(0, min(100, more_following))
    if more_new_creators is not None:
        taste.more_new_creators = max(0, min(100, more_new_creators))
    if interests is not None:
        taste.interests = sorted({name.lower().lstrip("#")[:64] for name in interests if name.strip()})[:20]
    if languages is not None:
        taste.languages = languages_clean(languages)
        taste.languages_chosen = True  # even none: a choice that no browser guess overrides
    taste.save()
    return taste


def languages_infer(user: Any, accept_language: str) -> bool:
    """Guess the account's languages from its browser's Accept-Language header while it has never chosen any (an
    old account, or one made through the API or by an operator): stored, still unchosen, so the next sign-in from a
    browser in another language guesses again. A header with no known language guesses nothing (a script or a
    private browser says nothing about the viewer). Whether the languages changed."""
    guessed = accept_languages(accept_language)
    if not guessed:
        return False  # before any query: every sign-in without the header costs nothing
    taste = taste_get(user)
    if taste.languages == guessed:
        return False
    # "Not chosen" is checked by the UPDATE itself, so even a choice saved since the read is never guessed over.
    # ``updated_at`` is left alone: a rebuild forgets stale tastes' vectors, and a sign-in is not a use of For You.
    return Taste.objects.filter(id=taste.id, languages_chosen=False).update(languages=guessed) > 0


def languages_infer_at_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``'s receiver (connected in ``apps.py``): web sign-in and signup. Token-authenticated API
    requests never sign in, so neither they nor a For You page pay for this."""
    if request is not None:
        languages_infer(user, request.headers.get("Accept-Language", ""))


def languages_clean(codes: Iterable[str]) -> list[str]:
    """A viewer's languages as kept: known codes only, each once, in the order given, at most
    :data:`~reelm.core.languages.MAX_PREFERRED` (an unknown one is a 400)."""
    cleaned = [clean_language(code) for code in codes]
    return list(dict.fromkeys(code for code in cleaned if code))[:MAX_PREFERRED]
