from __future__ import annotations

import uuid

from django.http import HttpRequest
from ninja import File, Router, Status
from ninja.files import UploadedFile

from reelm.accounts import selectors, services
from reelm.accounts.auth import current_user
from reelm.accounts.schemas import SignupIn, TokenCreatedOut, TokenIn, TokenOut, UserOut

router = Router(tags=["accounts"])


@router.post("/accounts", response={201: UserOut}, auth=None, summary="Create an account")
def account_create(request: HttpRequest, payload: SignupIn) -> Status[UserOut]:
    user = services.user_create(
        username=payload.username,
        password=payload.password,
        email=payload.email,
        display_name=payload.display_name,
        country=payload.country,
    )
    return Status(201, UserOut.of(user))


@router.post("/me/avatar", response=UserOut, summary="Upload an avatar (JPEG, PNG or WebP)")
def me_avatar(request: HttpRequest, file: File[UploadedFile]) -> UserOut:
    user = services.avatar_set(user=current_user(request), upload=file)
    return UserOut.of(user)


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
