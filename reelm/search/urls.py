from __future__ import annotations

from django.urls import URLPattern, path

from reelm.search import views

urlpatterns: list[URLPattern] = [
    path("search", views.search_page, name="search"),
    path("tag/<str:name>", views.hashtag_page, name="hashtag"),
]
