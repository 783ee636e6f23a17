"""Bodies of the admin routes (actors)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from api.schemas.base import Body, Out


class ActorPathBody(Body, frozen=True, kw_only=True):
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=r"^/")]


class ActorPathQuery(Body, frozen=True, kw_only=True):
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=r"^/")]


class ActorActionOut(Out, frozen=True, kw_only=True):
    path: str
    action: str
    done: bool = True
