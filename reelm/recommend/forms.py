"""The feed settings form: a plain HTML form, so tuning For You needs no JavaScript."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from reelm.core.languages import LANGUAGE_CHOICES, MAX_PREFERRED

#: Like a caption's hashtag (``reelm.videos.captions``), with or without its "#".
INTEREST_RE = re.compile(r"^#?(\w{1,64})$", re.UNICODE)
#: What ``taste.taste_settings_set`` keeps at most.
MAX_INTERESTS = 20
PERSONALISED_CHOICES = [
    ("on", "On: ranked for you from what you watch, like and follow"),
    ("off", "Off: you see the same popular ranking as everyone"),
]


class FeedSettingsForm(forms.Form):
    personalised = forms.ChoiceField(
        label="Personalised For You", choices=PERSONALISED_CHOICES, widget=forms.RadioSelect
    )
    more_following = forms.IntegerField(
        label="More from people I follow",
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"type": "range", "step": 10}),
        help_text="Left: less, right: more. The middle is the default.",
    )
    more_new_creators = forms.IntegerField(
        label="More new creators",
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"type": "range", "step": 10}),
        help_text="Left: fewer fresh uploads, right: more. The middle is the default.",
    )
    interests = forms.MultipleChoiceField(label="Interests", required=False, widget=forms.CheckboxSelectMultiple)
    more_interests = forms.CharField(
        label="More interests",
        required=False,
        max_length=400,
        help_text="Hashtags separated by spaces or commas, e.g. #cooking travel",
    )
    languages = forms.MultipleChoiceField(
        label="Languages you watch in",
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"Up to {MAX_PREFERRED}. For You adds what is popular in them; your first one is also what "
        "your uploads are in unless you say otherwise.",
    )

    def __init__(self, *args: Any, interest_choices: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        interests = self.fields["interests"]
        assert isinstance(interests, forms.MultipleChoiceField)
        interests.choices = [(name, f"#{name}") for name in interest_choices]

    def clean_languages(self) -> list[str]:
        chosen: list[str] = self.cleaned_data["languages"]
        if len(chosen) > MAX_PREFERRED:
            raise forms.ValidationError(f"Pick at most {MAX_PREFERRED} languages.")
        return chosen

    def clean_more_interests(self) -> list[str]:
        names = []
        for word in re.split(r"[\s,]+", self.cleaned_data["more_interests"]):
            if not word:
                continue
            match = INTEREST_RE.match(word)
            if match is None:
                raise forms.ValidationError(f"“{word}” is not a hashtag: use letters, digits and _ only.")
            names.append(match.group(1).lower())
        return names

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = set(cleaned.get("interests") or []) | set(cleaned.get("more_interests") or [])
        if len(chosen) > MAX_INTERESTS:
            raise forms.ValidationError(f"Pick at most {MAX_INTERESTS} interests.")
        cleaned["all_interests"] = sorted(chosen)
        return cleaned
