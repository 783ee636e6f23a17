"""Local authorization list (D01-D02): SendLocalList, a version kept per station, GetVersion."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import msgspec

from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp_blocks.ports import BlocksStore, Sender
from sigec_actors.ocpp_blocks.records import ListToken, LocalList

MAX_DB_TOKENS = 10_000
"""At most this many id tokens go into a list built from the database (one message)."""


class LocalListSent(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    """The answer of POST /local-list: what the station said and the list as now stored."""

    status: str
    version_number: int
    update_type: str
    entries: int
    size: int
    status_info: m.StatusInfo | None = None


class LocalListVersion(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    """The answer of GET /local-list: the station's version and the list we last sent."""

    version: int
    size: int
    stored_version: int | None = None
    update_type: str | None = None
    updated_at: datetime | None = None


def entry_of(token: ListToken, now: datetime) -> m.AuthorizationData:
    """A list entry for a database id token: its status (Expired once its expiry passed) and
    its expiry as the cache expiry."""
    expired = token.expires_at is not None and token.expires_at <= now
    status = m.AuthorizationStatusEnum.EXPIRED if expired else m.AuthorizationStatusEnum(
        token.status)
    return m.AuthorizationData(
        id_token=m.IdToken(id_token=token.id_token, type=m.IdTokenEnum(token.type)),
        id_token_info=m.IdTokenInfo(status=status, cache_expiry_date_time=token.expires_at))


def key_of(entry: m.AuthorizationData) -> tuple[str, str]:
    return entry.id_token.id_token, entry.id_token.type.value


def apply(before: LocalList | None, update: m.UpdateEnum,
          entries: Sequence[m.AuthorizationData], version: int,
          now: datetime) -> LocalList:
    """The list a station holds after accepting `entries` (D01.FR: a Differential entry
    without idTokenInfo removes that token; a Full list replaces everything)."""
    held = {} if update is m.UpdateEnum.FULL or before is None else dict.fromkeys(before.entries)
    for entry in entries:
        if update is m.UpdateEnum.DIFFERENTIAL and entry.id_token_info is None:
            held.pop(key_of(entry), None)
        else:
            held[key_of(entry)] = None
    keys = tuple(held)
    return LocalList(version=version, size=len(keys), update_type=update.value, entries=keys,
                     updated_at=now)


class LocalLists:
    """Sends local lists and keeps, per station, the version and entries it accepted."""

    def __init__(self, store: BlocksStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def send(self, sender: Sender, station_id: str, update: m.UpdateEnum,
                   entries: Sequence[m.AuthorizationData] | None) -> LocalListSent:
        """SendLocalList with the next version; `entries` None: built from the database."""
        async with self._store.list_lock(station_id):
            return await self._send(sender, station_id, update, entries)

    async def _send(self, sender: Sender, station_id: str, update: m.UpdateEnum,
                    entries: Sequence[m.AuthorizationData] | None) -> LocalListSent:
        before = await self._store.local_list(station_id)
        version = (before.version if before is not None else 0) + 1
        if entries is None:
            now = self._clock()
            entries = [entry_of(t, now) for t in await self._store.list_tokens(MAX_DB_TOKENS)]
        request = m.SendLocalListRequest(version_number=version, update_type=update,
                                         local_authorization_list=tuple(entries) or None)
        answer = await sender.send(station_id, request)
        assert isinstance(answer, m.SendLocalListResponse)
        after = before
        if answer.status is m.SendLocalListStatusEnum.ACCEPTED:
            after = apply(before, update, entries, version, self._clock())
            await self._store.save_local_list(station_id, after)
        return LocalListSent(status=answer.status.value, version_number=version,
                             update_type=update.value, entries=len(entries),
                             size=after.size if after is not None else 0,
                             status_info=answer.status_info)

    async def version(self, sender: Sender, station_id: str) -> LocalListVersion:
        """GetLocalListVersion, beside the list we last sent (0: the station holds none)."""
        answer = await sender.send(station_id, m.GetLocalListVersionRequest())
        assert isinstance(answer, m.GetLocalListVersionResponse)
        stored = await self._store.local_list(station_id)
        if stored is None:
            return LocalListVersion(version=answer.version_number, size=0)
        held = 0 if answer.version_number == 0 else stored.size  # 0: the station holds none
        return LocalListVersion(version=answer.version_number, size=held,
                                stored_version=stored.version,
                                update_type=stored.update_type, updated_at=stored.updated_at)
