from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.core import realms
from reelm.directory.selectors import entry_for_email, entry_for_handle


class SignupForm(UserCreationForm):
    """Sign-up; where realms are configured, the country asked for chooses the account's home realm."""

    class Meta:
        model = User
        fields = ("username", "email", "display_name")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        countries = realms.config().countries
        if countries:
            self.fields["country"] = forms.ChoiceField(
                choices=[("", "Elsewhere"), *((code, code) for code in sorted(countries))],
                required=False,
                help_text="Where you live: your account and its data are kept there.",
            )

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if entry_for_handle(username) is not None:
            raise forms.ValidationError("That username is taken.", code="unique")
        return username

    def clean_email(self) -> str:
        email: str = self.cleaned_data.get("email", "")
        if email and entry_for_email(email) is not None:
            raise forms.ValidationError("That e-mail address is already used by another account.", code="unique")
        return email

    def save(self, commit: bool = True) -> User:
        data = self.cleaned_data
        return user_create(
            username=data["username"],
            password=data["password1"],
            email=data.get("email", ""),
            display_name=data.get("display_name", ""),
            country=data.get("country", ""),
        )


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=60, required=False)
    bio = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    avatar = forms.FileField(required=False, help_text="JPEG, PNG or WebP; cropped square.")
    is_private = forms.BooleanField(
        label="Private account",
        required=False,
        help_text="Only followers you approve can see your videos and your follower and following lists; anyone "
        "else must ask to follow you. Your name, bio and avatar stay visible. Turning this off approves every "
        "pending request.",
    )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=60, help_text="What the token is for, e.g. “upload script”.")
