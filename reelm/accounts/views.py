"""Signing up: the one page of the accounts app that composes nothing else."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from reelm.accounts.forms import SignupForm


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Signing in guesses the new account's languages from its browser (recommend's user_logged_in receiver):
        # a guess, not a choice, as the viewer has not seen the feed settings page yet.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Reelm!")
        return redirect("upload")
    return render(request, "accounts/signup.html", {"form": form})
