from __future__ import annotations

from django.urls import URLPattern, path

from reelm.feed import views

urlpatterns: list[URLPattern] = [
    path("feed", views.feed, name="feed"),
    path("feed/following", views.feed_following, name="feed_following"),
]
