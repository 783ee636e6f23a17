"""REST client of the console: finds the server, logs in, reads the tree, acts on actors."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

from sigec_actors.console.tree import (
    ActorNode,
    StationCommand,
    decode_detail,
    decode_snapshot,
    describe_problem,
)
from sigec_actors.errors import SigecError

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3


class ConsoleError(SigecError):
    """A console failure with the exit code `sigec console` returns for it."""

    exit_code = EXIT_FAILED


class UsageError(ConsoleError):
    """Bad flags or no password: nothing was sent."""

    exit_code = EXIT_USAGE


class NoServer(ConsoleError):
    """No running server advertised under the data dir and no --url."""

    exit_code = EXIT_UNREACHABLE

    def __init__(self, runtime: Path, reason: str) -> None:
        self.runtime = runtime
        super().__init__(f"no running server found ({runtime}: {reason}); "
                         "start `sigec serve` or pass --url")


class Unreachable(ConsoleError):
    """The HTTP connection failed or timed out."""

    exit_code = EXIT_UNREACHABLE

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"server unreachable at {url}: {reason}")


class ApiProblem(ConsoleError):
    """The server answered with an error (an RFC 9457 problem)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        self.title = body.get("title") if isinstance(body, dict) else None
        self.detail = body.get("detail") if isinstance(body, dict) else None
        super().__init__(f"{status} {describe_problem(status, body)}")


class AuthFailed(ApiProblem):
    """Login refused (wrong credentials, a role without access, throttled)."""

    exit_code = EXIT_USAGE


def server_url(url: str | None, data_dir: Path) -> str:
    """`url` if given, else `httpUrl` from `<data_dir>/runtime.json` (written by `sigec serve`)."""
    if url:
        return url.rstrip("/")
    runtime = data_dir / "runtime.json"
    try:
        data = json.loads(runtime.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NoServer(runtime, "missing") from None
    except (OSError, ValueError) as exc:
        raise NoServer(runtime, f"unreadable: {exc}") from None
    http = data.get("httpUrl") if isinstance(data, dict) else None
    if not isinstance(http, str) or not http:
        raise NoServer(runtime, "no httpUrl")
    return http.rstrip("/")


@dataclass(frozen=True)
class Credentials:
    """Who the console logs in as; the password never appears in a repr or a log."""

    email: str
    password: str = field(repr=False)


class ConsoleClient:
    """Bearer-token client of the admin API; on a 401 it renews the token once and retries.

    Use as `async with ConsoleClient(...) as client:` inside the event loop that will use it.
    """

    def __init__(self, base_url: str, credentials: Credentials, *, timeout_s: float = 10.0,
                 command_timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._command_timeout = aiohttp.ClientTimeout(total=command_timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._access: str | None = None
        self._refresh: str | None = None

    async def __aenter__(self) -> ConsoleClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session, created on first use in the running loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def login(self) -> None:
        """Exchange email and password for tokens (AuthFailed on 401/403/422/429)."""
        creds = self._credentials
        await self._tokens("/api/v1/auth/login",
                           {"email": creds.email, "password": creds.password})

    async def snapshot_bytes(self) -> bytes:
        """The raw JSON of GET /api/v1/admin/actors."""
        return await self._call("GET", "/api/v1/admin/actors")

    async def snapshot(self) -> ActorNode:
        """The actor tree, decoded."""
        data = await self.snapshot_bytes()
        try:
            return decode_snapshot(data)
        except msgspec.DecodeError as exc:
            raise ConsoleError(f"unexpected actor tree from the server: {exc}") from None

    async def detail(self, path: str) -> ActorNode:
        """One actor with its recent messages (ApiProblem 404 when it is gone)."""
        data = await self._call("GET", "/api/v1/admin/actors/detail?path=" + quote(path, safe=""))
        try:
            return decode_detail(data)
        except msgspec.DecodeError as exc:
            raise ConsoleError(f"unexpected actor detail from the server: {exc}") from None

    async def restart(self, path: str) -> None:
        """Restart the actor at `path` (ApiProblem 404 when it is gone)."""
        await self._call("POST", "/api/v1/admin/actors/restart", {"path": path})

    async def stop(self, path: str) -> None:
        """Stop the actor at `path` (ApiProblem 404 when it is gone)."""
        await self._call("POST", "/api/v1/admin/actors/stop", {"path": path})

    async def command(self, command: StationCommand) -> Any:
        """Send a station command; returns the station's decoded answer."""
        data = await self._call("POST", command.path, command.body, self._command_timeout)
        return _json_or_none(data)

    async def close(self) -> None:
        """Revoke the refresh token (best effort) and close the HTTP session."""
        if self._session is None:
            return
        if self._access is not None:
            body = {"refreshToken": self._refresh} if self._refresh else {}
            with contextlib.suppress(ConsoleError):  # tokens expire anyway: a courtesy
                await self._send("POST", "/api/v1/auth/logout", body)
        await self._session.close()
        self._session = None

    async def _call(self, method: str, path: str, body: Any = None,
                    limit: aiohttp.ClientTimeout | None = None) -> bytes:
        if self._access is None:
            await self.login()
        try:
            return await self._send(method, path, body, limit)
        except ApiProblem as exc:
            if exc.status != 401:
                raise
        await self._renew()
        return await self._send(method, path, body, limit)

    async def _renew(self) -> None:
        """New tokens after a 401: rotate the refresh token, else log in again."""
        if self._refresh is not None:
            try:
                await self._tokens("/api/v1/auth/refresh", {"refreshToken": self._refresh})
                return
            except AuthFailed:
                pass  # refresh family revoked or expired: fall back to the password
        await self.login()

    async def _tokens(self, path: str, body: dict[str, str]) -> None:
        self._access = self._refresh = None
        try:
            data = _json_or_none(await self._send("POST", path, body, auth=False))
        except ApiProblem as exc:
            if exc.status in (401, 403, 422, 429):
                raise AuthFailed(exc.status, exc.body) from None
            raise
        if not isinstance(data, dict) or not isinstance(data.get("accessToken"), str):
            raise ConsoleError(f"unexpected answer from {path}")
        self._access = data["accessToken"]
        refresh = data.get("refreshToken")
        self._refresh = refresh if isinstance(refresh, str) else None

    async def _send(self, method: str, path: str, body: Any = None,
                    limit: aiohttp.ClientTimeout | None = None, *, auth: bool = True) -> bytes:
        headers = {"Accept": "application/json, application/problem+json"}
        if auth and self._access is not None:
            headers["Authorization"] = f"Bearer {self._access}"
        url = self.base_url + path
        try:
            async with self.session.request(method, url, json=body, headers=headers,
                                            timeout=limit or self._timeout) as resp:
                data = await resp.read()
                status = resp.status
        except aiohttp.ClientError as exc:
            raise Unreachable(self.base_url, str(exc) or type(exc).__name__) from None
        except TimeoutError:
            raise Unreachable(self.base_url, "timed out") from None
        if status >= 400:
            raise ApiProblem(status, _json_or_none(data))
        return data


def _json_or_none(data: bytes) -> Any:
    if not data:
        return None
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
