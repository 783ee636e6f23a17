"""The simulator's local authorization list, display messages and network profiles (OCPP
blocks D, O): SendLocalList / GetLocalListVersion kept in memory, display messages shown and
reported back with NotifyDisplayMessages, SetNetworkProfile slots remembered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

F = TypeVar("F", bound=Callable[..., Any])


def _route(action: Action) -> Callable[[F], F]:
    """The library's `on` route decorator, typed."""
    return cast(Callable[[F], F], on(action))


def _after(action: Action) -> Callable[[F], F]:
    """The library's `after` hook decorator, typed (runs once the answer is sent)."""
    return cast(Callable[[F], F], after(action))


class BlocksMode:
    """Mixin for SimulatedStation; the host provides `call` and `_gate`."""

    call: Any  # the host's ChargePoint.call and CommandHandlers._gate (annotations only)
    _gate: Any
    _list: dict[str, Any] | None = None
    _shown: dict[int, dict[str, Any]] | None = None
    network_profiles: dict[int, dict[str, Any]] | None = None

    def local_list(self) -> dict[str, Any]:
        """{"version": int, "entries": {(idToken, type): idTokenInfo}} (version 0: none)."""
        if self._list is None:
            self._list = {"version": 0, "entries": {}}
        return self._list

    def shown(self) -> dict[int, dict[str, Any]]:
        """Display messages by id, as the CSMS sent them (MessageInfo, camelCase)."""
        if self._shown is None:
            self._shown = {}
        return self._shown

    @_route(Action.send_local_list)
    async def on_send_local_list(self, version_number: int, update_type: str,
                                 local_authorization_list: list[dict[str, Any]] | None = None,
                                 **kw: Any) -> Any:
        if not await self._gate("SendLocalList"):
            return call_result.SendLocalList(status="Failed")
        held = self.local_list()
        entries = {} if update_type == "Full" else dict(held["entries"])
        for item in local_authorization_list or ():
            key = (item["id_token"]["id_token"], item["id_token"]["type"])
            if item.get("id_token_info") is None and update_type == "Differential":
                entries.pop(key, None)  # D01: no idTokenInfo removes the entry
            else:
                entries[key] = item.get("id_token_info")
        held.update(version=version_number, entries=entries)
        return call_result.SendLocalList(status="Accepted")

    @_route(Action.get_local_list_version)
    async def on_get_local_list_version(self, **kw: Any) -> Any:
        await self._gate("GetLocalListVersion")
        return call_result.GetLocalListVersion(version_number=self.local_list()["version"])

    @_route(Action.set_display_message)
    async def on_set_display_message(self, message: dict[str, Any], **kw: Any) -> Any:
        if not await self._gate("SetDisplayMessage"):
            return call_result.SetDisplayMessage(status="Rejected")
        self.shown()[message["id"]] = message
        return call_result.SetDisplayMessage(status="Accepted")

    @_route(Action.get_display_messages)
    async def on_get_display_messages(self, request_id: int, **kw: Any) -> Any:
        await self._gate("GetDisplayMessages")
        return call_result.GetDisplayMessages(status="Accepted" if self.shown() else "Unknown")

    @_after(Action.get_display_messages)
    async def report_display_messages(self, request_id: int, **kw: Any) -> None:
        if self.shown():  # O04: NotifyDisplayMessages follows the answer
            asyncio.get_running_loop().create_task(self.call(call.NotifyDisplayMessages(
                request_id=request_id, message_info=list(self.shown().values()))))

    @_route(Action.clear_display_message)
    async def on_clear_display_message(self, id: int, **kw: Any) -> Any:
        await self._gate("ClearDisplayMessage")
        found = self.shown().pop(id, None)
        return call_result.ClearDisplayMessage(status="Accepted" if found else "Unknown")

    @_route(Action.set_network_profile)
    async def on_set_network_profile(self, configuration_slot: int,
                                     connection_data: dict[str, Any], **kw: Any) -> Any:
        if not await self._gate("SetNetworkProfile"):
            return call_result.SetNetworkProfile(status="Rejected")
        if self.network_profiles is None:
            self.network_profiles = {}
        self.network_profiles[configuration_slot] = connection_data
        return call_result.SetNetworkProfile(status="Accepted")
