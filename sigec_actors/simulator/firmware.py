"""The simulator's firmware update: the status sequence with delays, an injected failure and a
reboot (reconnect + BootNotification reason FirmwareUpdate) reporting the new version."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, cast

import msgspec
from ocpp.routing import on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

FAILURES = {  # the failure replaces this step of the sequence
    "DownloadFailed": "Downloaded", "InvalidSignature": "SignatureVerified",
    "InstallVerificationFailed": "Installing", "InstallationFailed": "InstallRebooting",
}
SEQUENCE = ("Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting")
_VERSION = re.compile(r"(\d+(?:\.\d+)+)")
F = TypeVar("F", bound=Callable[..., Any])


def _route(action: Action) -> Callable[[F], F]:
    """The library's `on` route decorator, typed."""
    return cast(Callable[[F], F], on(action))


class FirmwareOptions(msgspec.Struct, kw_only=True):
    """`--firmware-*` knobs (mutable: a test may change them between attempts)."""

    step_s: float = 0.05
    """Wait between two status notifications."""
    fail: str | None = None
    """End each attempt with this failure status (one of FAILURES)."""
    fail_attempts: int = 0
    """With `fail`: fail only the first N attempts (0: every attempt)."""
    offline_s: float = 0.0
    """Stay offline this long while rebooting (a station offline during install)."""
    version: str | None = None
    """The version after the update; default: the last dotted number in the location."""
    reboot: bool = True
    """Reconnect and boot after InstallRebooting (False: stay silent, never boot)."""


def version_of(location: str, default: str) -> str:
    """The version a location names (`.../fw-2.1.0.bin` -> 2.1.0), else `default`."""
    found = _VERSION.findall(location.rsplit("/", 1)[-1])
    return found[-1] if found else default


class FirmwareMode:
    """Mixin for SimulatedStation: answers UpdateFirmware / PublishFirmware and plays the update.

    The host provides `call`, `boot`, `reconnect` and `config.firmware_version`.
    """

    config: Any
    firmware_attempts: int = 0
    firmware_played: list[str]
    call: Callable[..., Awaitable[Any]]
    boot: Callable[..., Awaitable[Any]]
    reconnect: Callable[[], Awaitable[None]]
    _spawn: Callable[[Coroutine[Any, Any, Any]], None]

    def _firmware_setup(self, options: FirmwareOptions | None) -> None:
        self.firmware = options or FirmwareOptions()
        self.firmware_played = []
        self.firmware_attempts = 0

    async def _firmware_update(self, request_id: int, firmware: dict[str, Any]) -> None:
        """Play one UpdateFirmware: statuses, maybe a failure, the reboot and Installed."""
        self.firmware_attempts += 1
        opts = self.firmware
        failing = opts.fail if opts.fail and (
            not opts.fail_attempts or self.firmware_attempts <= opts.fail_attempts) else None
        for step in SEQUENCE:
            if step == "SignatureVerified" and not firmware.get("signature"):
                continue
            if failing is not None and FAILURES.get(failing) == step:
                await self._fw_status(failing, request_id)
                return
            await self._fw_status(step, request_id)
        if not opts.reboot:
            return
        await asyncio.sleep(opts.offline_s)
        self.config.firmware_version = opts.version or version_of(
            firmware["location"], self.config.firmware_version + "-updated")
        await self.reconnect()
        await self.boot("FirmwareUpdate")
        await self._fw_status("Installed", request_id)

    async def _fw_status(self, status: str, request_id: int) -> None:
        await asyncio.sleep(self.firmware.step_s)
        self.firmware_played.append(status)
        await self.call(call.FirmwareStatusNotification(status=status, request_id=request_id),
                        suppress=False)

    @_route(Action.publish_firmware)
    async def on_publish_firmware(self, location: str, checksum: str, request_id: int,
                                  **kw: Any) -> Any:
        self._spawn(self._publish(request_id, location))
        return call_result.PublishFirmware(status="Accepted")

    @_route(Action.unpublish_firmware)
    async def on_unpublish_firmware(self, checksum: str, **kw: Any) -> Any:
        return call_result.UnpublishFirmware(status="Unpublished")

    async def _publish(self, request_id: int, location: str) -> None:
        """Report the publication: Downloading, Downloaded, Published."""
        await asyncio.sleep(0)  # let the CALLRESULT go out first
        for status in ("Downloading", "Downloaded", "Published"):
            await asyncio.sleep(self.firmware.step_s)
            kw: dict[str, Any] = {"location": [location]} if status == "Published" else {}
            await self.call(call.PublishFirmwareStatusNotification(
                status=status, request_id=request_id, **kw), suppress=False)
