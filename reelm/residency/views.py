"""Asking for emergency access to another realm, from the admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from reelm.accounts.auth import current_user
from reelm.core import realms
from reelm.core.errors import ReelmError
from reelm.residency.staff import MINUTES_MAX, REASON_MIN, SESSION_KEY, access_grant


class AccessForm(forms.Form):
    realm = forms.ChoiceField()
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        min_length=REASON_MIN,
        help_text="Why you need this realm's data. It is kept in that realm's log, with every request you make.",
    )
    minutes = forms.IntegerField(min_value=1, max_value=MINUTES_MAX, initial=30)

    def __init__(self, *args: object, home: str, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["realm"].choices = [(r, r) for r in realms.realm_names() if r != home]  # type: ignore[attr-defined]


@staff_member_required
def realm_access(request: HttpRequest) -> HttpResponse:
    staff = current_user(request)
    form = AccessForm(request.POST or None, home=staff.home_realm)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grant = access_grant(staff=staff, realm=data["realm"], reason=data["reason"], minutes=data["minutes"])
        except ReelmError as exc:
            form.add_error(None, exc.message)
        else:
            request.session[SESSION_KEY] = data["realm"]
            until = grant.expires_at.strftime("%H:%M UTC") if grant.expires_at else ""
            messages.warning(
                request, f"Emergency access to realm {data['realm']} until {until}; every request is logged there."
            )
            return redirect(f"/admin/?realm={data['realm']}")
    context = {**admin.site.each_context(request), "form": form, "home": staff.home_realm, "title": "Emergency access"}
    return TemplateResponse(request, "residency/access.html", context)
