"""Staff working in another realm's admin under emergency access: ``/admin/...?realm=NAME`` (remembered by the
session) works for that realm while a grant holds; each request is logged there. Without a grant the request is
refused, and the refusal logged there. After the authentication middleware; installed only with realms."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from reelm.core import realms
from reelm.residency.models import AccessKind
from reelm.residency.staff import SESSION_KEY, access_active, access_log


class StaffRealmMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        asked = request.GET.get("realm") or request.session.get(SESSION_KEY)
        user = request.user
        if not asked or not getattr(user, "is_staff", False):
            return self.get_response(request)
        if asked == user.home_realm or asked not in realms.realm_names():  # type: ignore[union-attr]
            request.session.pop(SESSION_KEY, None)
            return self.get_response(request)

        def log(kind: str, reason: str = "") -> None:
            request_line = {"method": request.method or "", "path": request.get_full_path()}
            access_log(staff=user, realm=asked, kind=kind, reason=reason, **request_line)  # type: ignore[arg-type]

        if access_active(staff=user, realm=asked) is None:  # type: ignore[arg-type]
            log(AccessKind.DENIED, "no emergency access granted, or it has expired")
            request.session.pop(SESSION_KEY, None)
            context = {"realm": asked, "home": user.home_realm}  # type: ignore[union-attr]
            return TemplateResponse(request, "residency/denied.html", context, status=403).render()
        request.session[SESSION_KEY] = asked
        log(AccessKind.USE)
        token = realms.bind(asked)
        try:
            response = self.get_response(request)
            if isinstance(response, TemplateResponse):
                response.render()  # inside the realm: templates read its rows lazily
            return response
        finally:
            realms.unbind(token)
