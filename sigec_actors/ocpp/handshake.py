"""The OCPP opening handshake: path and identity, subprotocol, security profile, credentials."""

from __future__ import annotations

import hmac
import ssl
from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable
from urllib.parse import unquote

import structlog
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHeader, NegotiationError
from websockets.headers import parse_authorization_basic, parse_subprotocol
from websockets.typing import Subprotocol

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.batching import Batcher
from sigec_actors.domain.errors import CacheUnavailable, StationExists
from sigec_actors.domain.records import NewStation, StationCredentials
from sigec_actors.errors import SigecError
from sigec_actors.ocpp.admission import Admission, RateLimited, VerifierBusy
from sigec_actors.ocpp.tls import peer_common_name
from sigec_actors.ports import StationRepository
from sigec_actors.services.stations import MAX_IDENTITY, InvalidStationIdentity, validate_identity

log = structlog.get_logger("ocpp.handshake")

OCPP201 = Subprotocol("ocpp2.0.1")
PATH_PREFIX = "/ocpp/"
# A percent-encoded identity is at most 3 bytes per character; longer targets are refused
# before decoding.
_MAX_RAW_IDENTITY = 3 * MAX_IDENTITY


class HandshakeRefused(SigecError):
    """The upgrade is refused with HTTP `status`; `reason` is for logs, never sent to the peer.

    `counted` marks refusals that count as a failed handshake for the IP rate limit.
    """

    def __init__(self, status: int, reason: str, *, identity: str | None = None,
                 counted: bool = False, retry_after_s: int | None = None) -> None:
        self.status = status
        self.reason = reason
        self.identity = identity
        self.counted = counted
        self.retry_after_s = retry_after_s
        super().__init__(f"handshake refused ({status}): {reason}")


class Admitted(NamedTuple):
    """What a successful handshake established."""

    station_id: str
    security_profile: int


def identity_from_path(path: str) -> str:
    """The percent-decoded, validated identity of `/ocpp/{stationId}`; raises HandshakeRefused."""
    target = path.split("?", 1)[0]
    raw = target[len(PATH_PREFIX):] if target.startswith(PATH_PREFIX) else ""
    if not raw or "/" in raw:
        raise HandshakeRefused(404, "not an OCPP path")
    if len(raw) > _MAX_RAW_IDENTITY:
        raise HandshakeRefused(400, "identity too long")
    try:
        identity = unquote(raw, errors="strict")
        return validate_identity(identity)
    except UnicodeDecodeError as exc:
        raise HandshakeRefused(400, "identity is not UTF-8") from exc
    except InvalidStationIdentity as exc:
        raise HandshakeRefused(400, exc.problem, identity=exc.identity[:64]) from exc


def offered_subprotocols(headers: Headers) -> list[str]:
    """Every subprotocol the client offered; raises HandshakeRefused on a malformed header."""
    try:
        return [p for value in headers.get_all("Sec-WebSocket-Protocol")
                for p in parse_subprotocol(value)]
    except InvalidHeader as exc:
        raise HandshakeRefused(400, "malformed Sec-WebSocket-Protocol") from exc


def select_subprotocol(_connection: object, offered: Sequence[Subprotocol]) -> Subprotocol:
    """websockets hook: `ocpp2.0.1` or refuse (400); never a session without the subprotocol."""
    if OCPP201 in offered:
        return OCPP201
    raise NegotiationError("subprotocol ocpp2.0.1 not offered")


def basic_password(headers: Headers, identity: str) -> str:
    """The Basic-auth password, after checking that the username is the identity (TC_A_02)."""
    values = headers.get_all("Authorization")
    if len(values) != 1:
        raise HandshakeRefused(401, "no Basic credentials", identity=identity, counted=True)
    try:
        username, password = parse_authorization_basic(values[0])
    except InvalidHeader as exc:
        raise HandshakeRefused(401, "malformed Basic credentials", identity=identity,
                               counted=True) from exc
    if not hmac.compare_digest(username.encode(), identity.encode()):
        raise HandshakeRefused(401, "Basic username differs from the identity",
                               identity=identity, counted=True)
    return password


@runtime_checkable
class CredentialsMany(Protocol):
    """A repository that reads many stations' credentials in one query."""

    async def credentials_many(self, station_ids: Sequence[str]
                               ) -> dict[str, StationCredentials]: ...


class Handshake:
    """Decides, before the 101, whether a station may open a session (S1, S2, S4, S5, S6).

    Credential lookups of concurrent handshakes are one query when the repository can
    (a connect storm costs a few queries, not one per station); they are never cached, so a
    changed password or profile applies to the very next handshake.
    """

    __slots__ = ("_admission", "_auto_register", "_lookup", "_stations")

    def __init__(self, stations: StationRepository, admission: Admission, *,
                 auto_register: bool = False) -> None:
        self._stations = stations
        self._admission = admission
        self._auto_register = auto_register
        self._lookup: Batcher[str, StationCredentials | None] | None = None
        if isinstance(stations, CredentialsMany):
            many = stations.credentials_many

            async def bulk(ids: Sequence[str]) -> list[StationCredentials | None]:
                found = await many(sorted(set(ids)))
                return [found.get(i) for i in ids]

            self._lookup = Batcher(bulk, max_batch=1000, max_inflight=2)

    async def admit(self, path: str, headers: Headers, ip: str,
                    tls: ssl.SSLObject | None) -> Admitted:
        """Admitted, or HandshakeRefused. Cheapest checks first; argon2 last and rate-limited."""
        identity = identity_from_path(path)
        if OCPP201 not in offered_subprotocols(headers):
            raise HandshakeRefused(400, "subprotocol ocpp2.0.1 not offered", identity=identity)
        cache_down: CacheUnavailable | None = None
        try:
            await self._admission.check_ip(ip)
        except RateLimited as exc:
            raise HandshakeRefused(429, str(exc), identity=identity,
                                   retry_after_s=exc.retry_after_s) from exc
        except CacheUnavailable as exc:
            cache_down = exc  # fatal only for password profiles, decided below
        try:
            return await self._authenticate(identity, headers, ip, tls, cache_down)
        except HandshakeRefused as refused:
            if refused.counted:
                await self._admission.failed(ip)
            raise

    async def _authenticate(self, identity: str, headers: Headers, ip: str,
                            tls: ssl.SSLObject | None,
                            cache_down: CacheUnavailable | None) -> Admitted:
        creds = await self._credentials(identity)
        profile = creds.security_profile
        if profile == 0:
            return Admitted(identity, 0)
        if profile not in (1, 2, 3):
            raise HandshakeRefused(403, f"unsupported security profile {profile}",
                                   identity=identity, counted=True)
        if profile >= 2 and tls is None:
            # Never let a profile 2/3 station fall back to plain ws:// (S5, A05).
            raise HandshakeRefused(403, f"profile {profile} requires TLS", identity=identity,
                                   counted=True)
        if profile == 3:
            return _certificate(identity, tls)
        if cache_down is not None:
            raise HandshakeRefused(503, str(cache_down), identity=identity,
                                   retry_after_s=5) from cache_down
        password = basic_password(headers, identity)
        if creds.password_hash is None:
            raise HandshakeRefused(401, "no password registered", identity=identity,
                                   counted=True)
        if not await self._verify(identity, ip, password, creds.password_hash):
            raise HandshakeRefused(401, "wrong password", identity=identity)
        return Admitted(identity, profile)

    async def _verify(self, identity: str, ip: str, password: str, password_hash: str) -> bool:
        try:
            return await self._admission.verify(identity, ip, password, password_hash)
        except RateLimited as exc:
            raise HandshakeRefused(429, str(exc), identity=identity,
                                   retry_after_s=exc.retry_after_s) from exc
        except VerifierBusy as exc:
            raise HandshakeRefused(503, str(exc), identity=identity, retry_after_s=5) from exc
        except CacheUnavailable as exc:
            raise HandshakeRefused(503, str(exc), identity=identity, retry_after_s=5) from exc

    async def _find(self, identity: str) -> StationCredentials | None:
        if self._lookup is None:
            return await self._stations.credentials(identity)
        return await self._lookup.submit(identity)

    async def _credentials(self, identity: str) -> StationCredentials:
        """The station's credentials; a database outage is 503 (retry), never 500 or 404."""
        try:
            return await self._registered(identity)
        except DB_FAILURES as exc:
            log.warning("ocpp_handshake_db_unavailable", station_id=identity,
                        error=f"{type(exc).__name__}: {exc}")
            raise HandshakeRefused(503, "station registry unavailable", identity=identity,
                                   retry_after_s=5) from exc

    async def _registered(self, identity: str) -> StationCredentials:
        creds = await self._find(identity)
        if creds is not None:
            return creds
        if not self._auto_register:
            raise HandshakeRefused(404, "unknown station", identity=identity, counted=True)
        try:
            await self._stations.register(NewStation(id=identity, security_profile=0))
            log.warning("ocpp_station_auto_registered", station_id=identity)
        except StationExists:
            pass  # another node registered it a moment ago
        creds = await self._find(identity)
        if creds is None:
            raise HandshakeRefused(404, "station vanished after registration", identity=identity)
        return creds


def _certificate(identity: str, tls: ssl.SSLObject | None) -> Admitted:
    """Profile 3: a client certificate that chained to our CA, whose CN is the identity."""
    name = peer_common_name(tls)
    if name is None:
        raise HandshakeRefused(403, "no verified client certificate", identity=identity,
                               counted=True)
    if not hmac.compare_digest(name.encode(), identity.encode()):
        raise HandshakeRefused(403, f"client certificate CN {name[:64]!r} is not the identity",
                               identity=identity, counted=True)
    return Admitted(identity, 3)
