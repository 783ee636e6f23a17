"""Bodies of the auth and user routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.schemas.base import Body, Out
from sigec_actors.domain.records import Role, User, UserStatus

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254,
                                    pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=128)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class RegisterBody(Body, frozen=True, kw_only=True):
    name: Name
    email: Email
    password: Password


class LoginBody(Body, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class RefreshBody(Body, frozen=True, kw_only=True):
    refresh_token: Token


class LogoutBody(Body, frozen=True, kw_only=True):
    refresh_token: Token | None = None


class TokensOut(Out, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int


class UserOut(Out, frozen=True, kw_only=True):
    """A user as the API shows it: never the password hash."""

    id: str
    name: str
    email: str
    role: Role
    status: UserStatus
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=str(user.id), name=user.name, email=user.email, role=user.role,
                   status=user.status, created_at=user.created_at)


class UserPage(Out, frozen=True, kw_only=True):
    items: list[UserOut]
    total: int
    limit: int
    offset: int
