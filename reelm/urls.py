from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from reelm.accounts import views as account_views
from reelm.api import api
from reelm.core.views import favicon
from reelm.residency import views as residency_views
from reelm.site import views as site_views
from reelm.videos import media_views
from reelm.videos import views as video_views

admin.site.site_header = "Reelm operator console"
admin.site.site_title = "Reelm"

urlpatterns = [
    path("", site_views.home, name="home"),
    path("upload", video_views.upload, name="upload"),
    path("v/<str:video_id>", site_views.video_page, name="video"),
    path("v/<str:video_id>/edit", video_views.video_edit, name="video_edit"),
    path("v/<str:video_id>/delete", video_views.video_remove, name="video_delete"),
    path("embed/<str:video_id>", video_views.embed, name="embed"),
    path("@<str:username>", site_views.profile, name="profile"),
    path("@<str:username>/followers", site_views.followers_page, name="followers"),
    path("@<str:username>/following", site_views.following_page, name="following"),
    path("signup", account_views.signup, name="signup"),
    path("login", auth_views.LoginView.as_view(), name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("settings", site_views.settings_page, name="settings"),
    path("settings/password", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("settings/password/done", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("settings/tokens", site_views.token_create, name="token_create"),
    path("settings/export", site_views.export_download, name="export"),
    path("settings/delete", site_views.account_delete, name="account_delete"),
    path("settings/tokens/<str:token_id>/revoke", site_views.token_revoke, name="token_revoke"),
    re_path(
        r"^media/videos/(?P<video_id>[0-9a-f-]{36})/(?P<path>.+)$",
        media_views.video_media,
        name="video_media",
    ),
    re_path(r"^media/avatars/(?P<path>.+)$", media_views.avatar_media, name="avatar_media"),
    path("", include("reelm.feed.urls")),
    path("", include("reelm.search.urls")),
    path("", include("reelm.notifications.urls")),
    path("", include("reelm.recommend.urls")),
    path("favicon.ico", favicon, name="favicon"),
    path("api/", api.urls),
    path("admin/realm-access/", residency_views.realm_access, name="realm_access"),
    path("admin/", admin.site.urls),
]

handler404 = "reelm.core.views.not_found"
