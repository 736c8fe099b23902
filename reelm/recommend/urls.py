from __future__ import annotations

from django.urls import URLPattern, path

from reelm.recommend import views

urlpatterns: list[URLPattern] = [
    path("settings/feed", views.feed_settings, name="feed_settings"),
    path(
        "settings/feed/not-interested/<uuid:choice_id>/undo",
        views.not_interested_undo,
        name="not_interested_undo",
    ),
]
