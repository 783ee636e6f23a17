"""Remembering who asked for a RequestStartTransaction under a remoteStartId the station lacks."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sigec_actors.domain.transactions import RemoteStart
from sigec_actors.transactions.errors import RemoteStartIdTaken
from sigec_actors.transactions.ports import RemoteStarts

_ATTEMPTS = 5


async def remember(starts: RemoteStarts | None, station_id: str, token: tuple[str, str],
                   user_id: UUID | None, ids: Callable[[], int],
                   given: int | None = None) -> int:
    """The remoteStartId to send, stored first with (`user_id`, `token`) so the station's
    Started links to them on any node: `given`, else a fresh id from `ids` (ids another
    request took on the station are skipped). Raises RemoteStartIdTaken."""
    if starts is None:
        return given if given is not None else ids()
    remote_id = 0
    for _ in range(1 if given is not None else _ATTEMPTS):
        remote_id = given if given is not None else ids()
        start = RemoteStart(station_id=station_id, remote_start_id=remote_id,
                            id_token=token[0], id_token_type=token[1], user_id=user_id)
        if await starts.remember_remote_start(start):
            return remote_id
    raise RemoteStartIdTaken(station_id, remote_id)
