from __future__ import annotations

from django.urls import URLPattern, path

from reelm.notifications import views

urlpatterns: list[URLPattern] = [
    path("notifications", views.notifications_page, name="notifications"),
    path("notifications/read", views.notifications_read, name="notifications_read"),
]
