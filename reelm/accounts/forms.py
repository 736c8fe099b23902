from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from reelm.accounts.models import User


class SignupForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "email", "display_name")


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
