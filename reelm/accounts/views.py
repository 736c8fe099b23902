"""Signing up: the one page of the accounts app that composes nothing else."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from reelm.accounts.forms import SignupForm
from reelm.core import realms
from reelm.core.errors import InvalidInput


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = form.save()
        except InvalidInput as exc:  # another sign-up took the name or address since the form was checked
            form.add_error(None, exc.message)
            return render(request, "accounts/signup.html", {"form": form})
        # The session is kept in the new account's realm: this request works for it from here on.
        realms.bind(user.home_realm)
        # Signing in guesses the new account's languages from its browser (recommend's user_logged_in receiver):
        # a guess, not a choice, as the viewer has not seen the feed settings page yet.
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        messages.success(request, "Welcome to Reelm!")
        return redirect("upload")
    return render(request, "accounts/signup.html", {"form": form})
