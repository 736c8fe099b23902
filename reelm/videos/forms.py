from __future__ import annotations

from django import forms

from reelm.videos.models import Visibility


class UploadForm(forms.Form):
    file = forms.FileField(help_text="MP4/MOV, WebM or MKV")
    caption = forms.CharField(max_length=2200, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PUBLIC)


class VideoEditForm(forms.Form):
    caption = forms.CharField(max_length=2200, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(choices=Visibility.choices)
