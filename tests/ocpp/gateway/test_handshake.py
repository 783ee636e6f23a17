"""Opening handshake over real loopback sockets: paths, identities, subprotocol, profiles 0 and 1."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from sigec_actors.ocpp.handshake import HandshakeRefused, identity_from_path
from tests.ocpp.gateway.conftest import (
    OCPP,
    PASSWORD,
    MakeGateway,
    basic,
    raw_status,
    raw_upgrade,
    wait_for,
)


async def refused_status(url: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, open_timeout=10, **kwargs):
            pass
    return info.value.response.status_code


# --- pure path rules -------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "identity"), [
    ("/ocpp/CP-1", "CP-1"),
    ("/ocpp/CP%2D1", "CP-1"),            # percent-decoded
    ("/ocpp/cp_1.a*b=c+d|e@f?x=1", "cp_1.a*b=c+d|e@f"),  # query ignored
    ("/ocpp/" + "A" * 48, "A" * 48),
])
def test_identity_from_path_accepts(path: str, identity: str) -> None:
    assert identity_from_path(path) == identity


@pytest.mark.parametrize(("path", "status"), [
    ("/", 404), ("/ocpp", 404), ("/ocpp/", 404), ("/other/CP-1", 404), ("/ocpp/a/b", 404),
    ("/ocpp/CP:1", 400), ("/ocpp/CP%3A1", 400), ("/ocpp/" + "A" * 49, 400),
    ("/ocpp/CP%2F1", 400), ("/ocpp/%FF", 400), ("/ocpp/CP%201", 400), ("/ocpp/" + "%41" * 60, 400),
])
def test_identity_from_path_refuses(path: str, status: int) -> None:
    with pytest.raises(HandshakeRefused) as info:
        identity_from_path(path)
    assert info.value.status == status


# --- over the wire ---------------------------------------------------------------------------

async def test_unknown_identity_is_404_never_101(make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    response = await raw_status(h.port, "/ocpp/NOPE-1", authorization=basic("NOPE-1", PASSWORD))
    assert response.status == 404
    assert h.sessions.sessions == []
    assert h.passwords.verifications == 0


@pytest.mark.parametrize(("path", "status"), [
    ("/ocpp/CP:1", 400), ("/ocpp/" + "X" * 49, 400), ("/elsewhere/CP-1", 404), ("/ocpp/", 404),
])
async def test_bad_paths_and_identities_are_refused(make_gateway: MakeGateway, path: str,
                                                    status: int) -> None:
    h = await make_gateway()
    assert (await raw_status(h.port, path)).status == status


async def test_auto_register_admits_unknown_station_at_profile_0(
        make_gateway: MakeGateway) -> None:
    h = await make_gateway(auto_register=True)
    async with connect(h.url("DEMO-1"), subprotocols=[OCPP]) as ws:
        assert ws.subprotocol == OCPP
        await wait_for(lambda: h.gateway.is_connected("DEMO-1"))
    creds = await h.stations.credentials("DEMO-1")
    assert creds is not None
    assert creds.security_profile == 0


@pytest.mark.parametrize("protocols", [None, "ocpp1.6", "ocpp2.1, ocpp1.6", "ocpp2.0"])
async def test_missing_or_other_subprotocol_is_refused(make_gateway: MakeGateway,
                                                       protocols: str | None) -> None:
    h = await make_gateway()
    await h.add("CP-0", 0)
    response = await raw_status(h.port, "/ocpp/CP-0", protocols=protocols)
    assert response.status == 400
    assert "sec-websocket-protocol" not in response.headers
    assert h.sessions.sessions == []


async def test_ocpp201_is_picked_among_several_offers(make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-0", 0)
    async with connect(h.url("CP-0"), subprotocols=[Subprotocol("ocpp2.1"), OCPP, Subprotocol("ocpp1.6")]) as ws:
        assert ws.subprotocol == OCPP


async def test_profile_0_connects_without_auth(make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-0", 0)
    response = await raw_upgrade(h.port, "/ocpp/CP-0")
    assert response.status == 101
    assert response.headers["sec-websocket-protocol"] == OCPP
    assert "sec-websocket-extensions" not in response.headers  # compression off by default
    assert "server" not in response.headers
    await wait_for(lambda: h.gateway.is_connected("CP-0"))
    link = h.sessions.last("CP-0").link
    assert (link.station_id, link.security_profile, link.is_open) == ("CP-0", 0, True)
    assert link.remote.startswith("127.0.0.1:")
    response.writer.close()


@pytest.mark.parametrize("authorization", [
    None,
    basic("CP-1", "wrong-password-0123456"),
    basic("CP-2", PASSWORD),                    # TC_A_02: username is not the identity
    "Basic !!!not-base64",
    "Bearer abc",
])
async def test_profile_1_refuses_bad_credentials_with_401(make_gateway: MakeGateway,
                                                          authorization: str | None) -> None:
    h = await make_gateway()
    await h.add("CP-1", 1)
    await h.add("CP-2", 1)
    response = await raw_status(h.port, "/ocpp/CP-1", authorization=authorization)
    assert response.status == 401
    assert response.headers["www-authenticate"].startswith("Basic realm=")
    assert h.sessions.sessions == []


async def test_profile_1_right_password_and_frames_flow_as_text(
        make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-1", 1)
    headers = {"Authorization": build_authorization_basic("CP-1", PASSWORD)}
    async with connect(h.url("CP-1"), subprotocols=[OCPP], additional_headers=headers) as ws:
        frame = '[2,"m1","Heartbeat",{}]'
        await ws.send(frame)
        echoed = await ws.recv()
        assert echoed == frame
        assert isinstance(echoed, str)  # a text frame: websockets decodes only those
        link = h.sessions.last("CP-1").link
        await link.send(b'[2,"c1","Reset",{"type":"Immediate"}]')
        assert await ws.recv() == '[2,"c1","Reset",{"type":"Immediate"}]'
        assert link.security_profile == 1
    assert h.sessions.last("CP-1").frames == [frame]
    assert h.passwords.verifications == 1


async def test_reconnect_reuses_verified_credentials_without_argon2(
        make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-1", 1)
    headers = {"Authorization": build_authorization_basic("CP-1", PASSWORD)}
    for _ in range(5):
        async with connect(h.url("CP-1"), subprotocols=[OCPP], additional_headers=headers):
            pass
    assert h.passwords.verifications == 1


async def test_rotated_password_invalidates_the_verified_cache(
        make_gateway: MakeGateway) -> None:
    """TC_A_09: after SetVariables BasicAuthPassword only the new password works."""
    from tests.ocpp.gateway.conftest import password_hash

    h = await make_gateway()
    await h.add("CP-1", 1)
    old = {"Authorization": build_authorization_basic("CP-1", PASSWORD)}
    async with connect(h.url("CP-1"), subprotocols=[OCPP], additional_headers=old):
        pass
    new_password = "rotated-password-0123456789"
    await h.stations.set_credentials("CP-1", password_hash(new_password), 1)
    assert await refused_status(h.url("CP-1"), subprotocols=[OCPP], additional_headers=old) == 401
    new = {"Authorization": build_authorization_basic("CP-1", new_password)}
    async with connect(h.url("CP-1"), subprotocols=[OCPP], additional_headers=new) as ws:
        assert ws.subprotocol == OCPP
