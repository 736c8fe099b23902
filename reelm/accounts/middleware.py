"""Binds each request to a realm, where realms are configured: the realm its bearer token or session key names,
else the default one (anonymous visitors). Placed before the session middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from reelm.accounts.services import token_realm
from reelm.accounts.sessions import realm_of_key
from reelm.core import realms


class RealmMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        realm = token_realm(header[7:].strip()) if header.lower().startswith("bearer ") else None
        if realm is None:
            realm = realm_of_key(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        token = realms.bind(realm)
        try:
            return self.get_response(request)
        finally:
            realms.unbind(token)
