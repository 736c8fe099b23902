"""Account endpoints that compose other apps: privacy (follow requests), export and deletion, a profile."""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Router, Schema, Status

from reelm.accounts import services
from reelm.accounts.auth import current_user, viewer
from reelm.accounts.schemas import ProfileIn, UserOut
from reelm.relations.selectors import account_get_for_viewer
from reelm.relations.services import account_privacy_set
from reelm.site import account_data as data

router = Router(tags=["accounts"])


def _op(name: str) -> str:
    """The operation id this endpoint had in ``reelm.accounts.api``: generated clients name their methods by it."""
    return f"reelm_accounts_api_{name}"


# Every method of /me is here: Ninja answers a path from the first router that declares it.
@router.get("/me", response=UserOut, summary="The signed-in account", operation_id=_op("me"))
def me(request: HttpRequest) -> UserOut:
    return UserOut.of(current_user(request))


@router.patch(
    "/me",
    response=UserOut,
    summary="Edit display name, bio and privacy",
    description="A private account's videos and follow lists are seen only by approved followers; making it "
    "public again approves every pending follow request.",
    operation_id=_op("me_update"),
)
def me_update(request: HttpRequest, payload: ProfileIn) -> UserOut:
    user = services.profile_update(user=current_user(request), display_name=payload.display_name, bio=payload.bio)
    if payload.is_private is not None:
        user = account_privacy_set(user=user, is_private=payload.is_private)
    return UserOut.of(user)


@router.get(
    "/me/export",
    response={200: None},
    summary="Download my data",
    description="A ZIP with JSON of your profile, videos' metadata, comments, likes, bookmarks and follows, plus "
    "your original uploads and avatar.",
    operation_id=_op("me_export"),
)
def me_export(request: HttpRequest) -> HttpResponseBase:
    return data.account_export_response(user=current_user(request))


class AccountDeleteIn(Schema):
    password: str


@router.delete(
    "/me", response={204: None}, summary="Delete my account and everything in it", operation_id=_op("me_delete")
)
def me_delete(request: HttpRequest, payload: AccountDeleteIn) -> Status[None]:
    data.account_delete(user=current_user(request), password=payload.password)
    return Status(204, None)


@router.get(
    "/users/{username}", response=UserOut, auth=None, summary="A public profile", operation_id=_op("user_detail")
)
def user_detail(request: HttpRequest, username: str) -> UserOut:
    return UserOut.of(account_get_for_viewer(username, viewer(request)))
