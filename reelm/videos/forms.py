from __future__ import annotations

from django import forms

from reelm.core.languages import VIDEO_LANGUAGE_CHOICES
from reelm.videos.models import Visibility

LANGUAGE_HELP = "What is spoken in it: viewers who watch in that language see it trend for them."


class UploadForm(forms.Form):
    file = forms.FileField(help_text="MP4/MOV, WebM or MKV")
    caption = forms.CharField(max_length=2200, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PUBLIC)
    language = forms.ChoiceField(
        label="Spoken language", choices=VIDEO_LANGUAGE_CHOICES, required=False, help_text=LANGUAGE_HELP
    )


class VideoEditForm(forms.Form):
    caption = forms.CharField(max_length=2200, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(choices=Visibility.choices)
    language = forms.ChoiceField(label="Spoken language", choices=VIDEO_LANGUAGE_CHOICES, required=False)
