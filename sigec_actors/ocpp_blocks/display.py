"""Display messages (O01-O06): set, query (GetDisplayMessages + NotifyDisplayMessages), clear."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import msgspec

from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp_blocks.ports import BlocksStore, Sender
from sigec_actors.ocpp_blocks.records import DisplayMessage

POLL_S = 0.1
"""How often a query waiting for the station's report looks at the store (any node stores it)."""


class MessageSet(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    """The answer of POST /display-messages."""

    id: int
    status: str
    status_info: m.StatusInfo | None = None


class MessageList(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    """The answer of GET /display-messages: the query's outcome and the stored messages."""

    status: str
    complete: bool
    messages: list[DisplayMessage]
    request_id: int | None = None


class DisplayMessages:
    """SetDisplayMessage / GetDisplayMessages / ClearDisplayMessage, and the reports' handler."""

    def __init__(self, store: BlocksStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def set(self, sender: Sender, station_id: str, info: m.MessageInfo) -> MessageSet:
        """Send the message; stored as `set` once the station accepted it."""
        answer = await sender.send(station_id, m.SetDisplayMessageRequest(message=info))
        assert isinstance(answer, m.SetDisplayMessageResponse)
        if answer.status is m.DisplayMessageStatusEnum.ACCEPTED:
            await self._store.put_message(station_id, DisplayMessage(
                id=info.id, source="set", message=msgspec.to_builtins(info),
                updated_at=self._clock()))
        return MessageSet(id=info.id, status=answer.status.value, status_info=answer.status_info)

    async def query(self, sender: Sender, station_id: str, request_id: int,
                    wait_s: float) -> MessageList:
        """Ask the station for all its messages and wait up to `wait_s` for its report."""
        # recorded first: a report may overtake the answer, and only a report of ours may
        # replace the stored messages
        await self._store.query_sent(station_id, request_id, "Sent")
        try:
            answer = await sender.send(station_id,
                                       m.GetDisplayMessagesRequest(request_id=request_id))
        except BaseException:  # not sent or not answered: no query to wait for
            await self._store.forget_query(station_id, request_id)
            raise
        assert isinstance(answer, m.GetDisplayMessagesResponse)
        await self._store.query_sent(station_id, request_id, answer.status.value)
        complete = answer.status is not m.GetDisplayMessagesStatusEnum.ACCEPTED
        if complete:  # Unknown: the station shows no message at all
            await self._store.forget_messages(station_id)
        else:
            complete = await self._wait(station_id, request_id, wait_s)
        return MessageList(status=answer.status.value, complete=complete, request_id=request_id,
                           messages=await self._store.messages(station_id))

    async def _wait(self, station_id: str, request_id: int, wait_s: float) -> bool:
        for _ in range(max(1, round(wait_s / POLL_S))):
            found = await self._store.query(station_id, request_id)
            if found is not None and found.complete:
                return True
            await asyncio.sleep(POLL_S)
        return False

    async def stored(self, station_id: str) -> MessageList:
        """What is stored, without asking the station."""
        return MessageList(status="Stored", complete=True,
                           messages=await self._store.messages(station_id))

    async def clear(self, sender: Sender, station_id: str,
                    message_id: int) -> m.ClearDisplayMessageResponse:
        """ClearDisplayMessage; the stored message goes once the station no longer has it."""
        answer = await sender.send(station_id, m.ClearDisplayMessageRequest(id=message_id))
        assert isinstance(answer, m.ClearDisplayMessageResponse)
        await self._store.delete_message(station_id, message_id)  # Accepted or Unknown: gone
        return answer

    async def on_notify(self, station_id: str, req: m.NotifyDisplayMessagesRequest
                        ) -> m.NotifyDisplayMessagesResponse:
        """Handler of NotifyDisplayMessages: store the part (the answer means stored)."""
        messages = [msgspec.to_builtins(info) for info in req.message_info or ()]
        await self._store.report(station_id, req.request_id, messages, complete=not req.tbc)
        return m.NotifyDisplayMessagesResponse()
