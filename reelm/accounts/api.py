from __future__ import annotations

import uuid

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile

from reelm.accounts import data, selectors, services
from reelm.accounts.auth import current_user, viewer
from reelm.accounts.schemas import ProfileIn, SignupIn, TokenCreatedOut, TokenIn, TokenOut, UserOut
from reelm.social.blocks import account_get_for_viewer
from reelm.social.services import account_privacy_set

router = Router(tags=["accounts"])


@router.post("/accounts", response={201: UserOut}, auth=None, summary="Create an account")
def account_create(request: HttpRequest, payload: SignupIn) -> Status[UserOut]:
    user = services.user_create(
        username=payload.username,
        password=payload.password,
        email=payload.email,
        display_name=payload.display_name,
    )
    return Status(201, UserOut.of(user))


@router.get("/me", response=UserOut, summary="The signed-in account")
def me(request: HttpRequest) -> UserOut:
    return UserOut.of(current_user(request))


@router.patch(
    "/me",
    response=UserOut,
    summary="Edit display name, bio and privacy",
    description="A private account's videos and follow lists are seen only by approved followers; making it "
    "public again approves every pending follow request.",
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
)
def me_export(request: HttpRequest) -> HttpResponseBase:
    return data.account_export_response(user=current_user(request))


class AccountDeleteIn(Schema):
    password: str


@router.delete("/me", response={204: None}, summary="Delete my account and everything in it")
def me_delete(request: HttpRequest, payload: AccountDeleteIn) -> Status[None]:
    data.account_delete(user=current_user(request), password=payload.password)
    return Status(204, None)


@router.post("/me/avatar", response=UserOut, summary="Upload an avatar (JPEG, PNG or WebP)")
def me_avatar(request: HttpRequest, file: File[UploadedFile]) -> UserOut:
    user = services.avatar_set(user=current_user(request), upload=file)
    return UserOut.of(user)


@router.get("/users/{username}", response=UserOut, auth=None, summary="A public profile")
def user_detail(request: HttpRequest, username: str) -> UserOut:
    return UserOut.of(account_get_for_viewer(username, viewer(request)))


@router.get("/tokens", response=list[TokenOut], summary="Your personal access tokens")
def token_list(request: HttpRequest) -> list[TokenOut]:
    return [TokenOut.of(token) for token in selectors.token_list(current_user(request))]


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create a token (its secret is shown once)")
def token_create(request: HttpRequest, payload: TokenIn) -> Status[TokenCreatedOut]:
    issued = services.token_create(user=current_user(request), name=payload.name)
    return Status(201, TokenCreatedOut(**TokenOut.of(issued.token).model_dump(), secret=issued.secret))


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke a token")
def token_revoke(request: HttpRequest, token_id: uuid.UUID) -> Status[None]:
    services.token_revoke(user=current_user(request), token_id=token_id)
    return Status(204, None)
