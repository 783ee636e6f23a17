"""The real server with our CA: a profile-3 station over mutual TLS signs a CSR, is asked to
renew by the renewal job, reconnects with the renewed certificate; certificates over REST."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sigec_actors.pki.exi.codec import ISO2_MSG_DEF, JarExiCodec
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.pki import Pki, make_contract_pki, make_pki
from tests.helpers.server import Api, ServerProcess, free_port, server_env
from tests.pki.ev import Ev, chain_pem, installation_req


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
               nats_url: str) -> Iterator[tuple[ServerProcess, Pki, int, Path]]:
    tmp = tmp_path_factory.mktemp("pki")
    pki = make_pki(tmp)  # the server's own TLS certificate
    port = free_port()
    data = tmp / "data"
    server = ServerProcess(data, server_env(
        data, DATABASE_URL=pg_dsn, NATS_URL=nats_url, SIGEC_SERVER__OCPP_TLS_PORT=str(port),
        SIGEC_OCPP__TLS_CERT=str(pki.server_cert), SIGEC_OCPP__TLS_KEY=str(pki.server_key),
        # every certificate we issue is inside the renewal window; the job runs each second
        SIGEC_PKI__STATION_CERT_DAYS="1", SIGEC_PKI__RENEWAL_CHECK_S="1"), tmp / "server.log")
    server.start()
    yield server, pki, port, data
    assert server.stop() == 0, server.log()


def _bootstrap_cert(data: Path, station_id: str, directory: Path) -> tuple[Path, Path]:
    """The factory's first certificate, issued with our CA's key from the data dir."""
    ca_dir = data / "pki" / "csms"
    ca_key = serialization.load_pem_private_key((ca_dir / "issuing.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((ca_dir / "issuing.crt").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station_id)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    return _files(directory, "boot", key, cert.public_bytes(serialization.Encoding.PEM).decode())


def _files(directory: Path, tag: str, key: ec.EllipticCurvePrivateKey,
           chain: str) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{tag}.crt", directory / f"{tag}.key"
    cert_path.write_text(chain)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _csr(station_id: str, key: ec.EllipticCurvePrivateKey) -> str:
    return x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, station_id)])).sign(
            key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


class Station:
    """A profile-3 station over wss:// answering the CSMS's CALLs as told."""

    def __init__(self, ws: Any, answers: dict[str, dict[str, Any]]) -> None:
        self.ws = ws
        self.answers = answers
        self.calls: asyncio.Queue[list[Any]] = asyncio.Queue()
        self.results: dict[str, asyncio.Future[Any]] = {}
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame[0] == 2:
                await self.ws.send(json.dumps([3, frame[1], self.answers.get(frame[2], {})]))
                await self.calls.put(frame)
            elif frame[1] in self.results:
                self.results.pop(frame[1]).set_result(frame)

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        mid = uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self.results[mid] = future
        await self.ws.send(json.dumps([2, mid, action, payload]))
        return await asyncio.wait_for(future, 15)

    async def next_call(self, action: str) -> list[Any]:
        while True:
            frame = await asyncio.wait_for(self.calls.get(), 15)
            if frame[2] == action:
                return frame


async def _connect(port: int, station_id: str, pki: Pki, cert: tuple[Path, Path],
                   answers: dict[str, dict[str, Any]]) -> tuple[Any, Station]:
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    ws = await websockets.connect(f"wss://127.0.0.1:{port}/ocpp/{station_id}", ssl=context,
                                  subprotocols=["ocpp2.0.1"])  # type: ignore[list-item]
    station = Station(ws, answers)
    boot = await station.call("BootNotification", {
        "reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}})
    assert boot[2]["status"] == "Accepted"
    return ws, station


async def _sign(station: Station, station_id: str, directory: Path,
                tag: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    answer = await station.call("SignCertificate", {"csr": _csr(station_id, key)})
    assert answer[2] == {"status": "Accepted"}
    signed = await station.next_call("CertificateSigned")
    chain = signed[3]["certificateChain"]
    leaf = x509.load_pem_x509_certificates(chain.encode())[0]
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == station_id
    return _files(directory, tag, key, chain)


async def test_renewal_end_to_end_over_mutual_tls(
        tls_server: tuple[ServerProcess, Pki, int, Path], tmp_path: Path) -> None:
    server, pki, port, data = tls_server
    station_id = f"CP-MTLS-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        await api.add_station(station_id, 3)
        ok = {"CertificateSigned": {"status": "Accepted"}, "TriggerMessage": {"status":
                                                                              "Accepted"}}
        ws, station = await _connect(port, station_id, pki,
                                     _bootstrap_cert(data, station_id, tmp_path), ok)
        first = await _sign(station, station_id, tmp_path, "first")
        # the first certificate ends within pki.renew_before_days: the job asks for a new CSR
        trigger = await station.next_call("TriggerMessage")
        assert trigger[3] == {"requestedMessage": "SignChargingStationCertificate"}
        renewed = await _sign(station, station_id, tmp_path, "renewed")
        await ws.close()
        station.reader.cancel()
        ws, station = await _connect(port, station_id, pki, renewed, ok)  # the renewed one
        await ws.close()
        station.reader.cancel()
        status, issued = await api.call(
            "GET", f"/api/v1/devices/{station_id}/certificates/issued")
        assert status == 200 and len(issued) >= 2
        assert "Accepted" in {c["status"] for c in issued}
        assert "Superseded" in {c["status"] for c in issued}
        status, alerts = await api.call("GET", "/api/v1/admin/alerts?kind=certificate_expiring")
        assert status == 200 and station_id in json.dumps(alerts)
    assert first[0].exists()
    stranger = pki.client(station_id, other_ca=True)
    with pytest.raises((ssl.SSLError, websockets.exceptions.InvalidHandshake, OSError)):
        await _connect(port, station_id, pki, stranger, ok)


async def test_certificates_on_a_station_and_trusted_roots_over_rest(
        tls_server: tuple[ServerProcess, Pki, int, Path], tmp_path: Path) -> None:
    server, pki, port, data = tls_server
    station_id = f"CP-CERT-{uuid.uuid4().hex[:6]}"
    mo = make_contract_pki(name="Rest MO")
    answers: dict[str, dict[str, Any]] = {
        "GetInstalledCertificateIds": {"status": "Accepted", "certificateHashDataChain": [{
            "certificateType": "MORootCertificate", "certificateHashData": {
                "hashAlgorithm": "SHA256", "issuerNameHash": "ab", "issuerKeyHash": "cd",
                "serialNumber": "1f"}}]},
        "InstallCertificate": {"status": "Accepted"},
        "DeleteCertificate": {"status": "Accepted"},
    }
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        await api.add_station(station_id, 3)
        ws, station = await _connect(port, station_id, pki,
                                     _bootstrap_cert(data, station_id, tmp_path), answers)
        base = f"/api/v1/devices/{station_id}/certificates"
        status, body = await api.call("GET", base + "?type=MORootCertificate")
        assert status == 200 and body["certificateHashDataChain"][0]["certificateType"] == (
            "MORootCertificate")
        sent = await station.next_call("GetInstalledCertificateIds")
        assert sent[3] == {"certificateType": ["MORootCertificate"]}
        status, body = await api.call("POST", base, {"certificateType": "MORootCertificate",
                                                     "pem": mo.root.pem})
        assert status == 200 and body == {"status": "Accepted"}
        assert (await station.next_call("InstallCertificate"))[3]["certificate"] == mo.root.pem
        status, _ = await api.call("POST", base, {"certificateType": "MORootCertificate",
                                                  "pem": "garbage"})
        assert status == 422
        status, body = await api.call(
            "DELETE", base + "/1f?issuerNameHash=ab&issuerKeyHash=cd")
        assert status == 200 and body == {"status": "Accepted"}
        deleted = await station.next_call("DeleteCertificate")
        assert deleted[3]["certificateHashData"]["serialNumber"] == "1f"
        await ws.close()
        station.reader.cancel()
        # trusted roots
        status, root = await api.call("POST", "/api/v1/admin/pki/roots",
                                      {"rootType": "MO", "pem": mo.root.pem})
        assert status == 201 and root["rootType"] == "MO"
        status, roots = await api.call("GET", "/api/v1/admin/pki/roots")
        assert root["fingerprint"] in {r["fingerprint"] for r in roots}
        status, _ = await api.call("POST", "/api/v1/admin/pki/roots",
                                   {"rootType": "MO", "pem": mo.sub2.pem})  # not a root
        assert status == 422
        status, _ = await api.call("DELETE", f"/api/v1/admin/pki/roots/{root['fingerprint']}")
        assert status == 204
        status, _ = await api.call("DELETE", f"/api/v1/admin/pki/roots/{root['fingerprint']}")
        assert status == 404
        status, ca = await api.call("GET", "/api/v1/admin/pki/ca")
        assert status == 200 and "SIGEC-VE Station CA" in ca["issuerSubject"]


async def test_plug_and_charge_with_the_offline_provider_and_a_registered_emaid(
        tls_server: tuple[ServerProcess, Pki, int, Path], tmp_path: Path, pg_dsn: str) -> None:
    server, pki, port, data = tls_server
    station_id = f"CP-PNC-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        await admin.add_station(station_id, 3)
        ws, station = await _connect(port, station_id, pki,
                                     _bootstrap_cert(data, station_id, tmp_path), {})
        # a simulated EV's CertificateInstallationReq, answered in EXI by the server's provider
        codec = JarExiCodec()
        try:
            cps_root = x509.load_pem_x509_certificate(
                (data / "pki" / "test-cps" / "root.crt").read_bytes())
            exi = await installation_req(codec, Ev.make(), cps_root)
            for _ in range(8):  # the server starts Java on the first request, which its
                got = await station.call("Get15118EVCertificate", {  # deadline may cut short:
                    "iso15118SchemaVersion": ISO2_MSG_DEF, "action": "Install",  # retry
                    "exiRequest": base64.b64encode(exi).decode()})
                if got[0] == 3:
                    break
                assert got[2] == "InternalError", got
                await asyncio.sleep(2)
            assert got[2]["status"] == "Accepted", got
            answer = await codec.decode(base64.b64decode(got[2]["exiResponse"]), ISO2_MSG_DEF)
        finally:
            await codec.close()
        body = answer["V2G_Message"]["Body"]["CertificateInstallationRes"]
        assert body["ResponseCode"] == "OK"
        chain = chain_pem(body["ContractSignatureCertChain"])
        leaf = x509.load_pem_x509_certificates(chain.encode())[0]
        emaid = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        token = {"idToken": emaid, "type": "eMAID"}
        unknown = await station.call("Authorize", {"idToken": token, "certificate": chain})
        assert unknown[2] == {"idTokenInfo": {"status": "Unknown"},
                              "certificateStatus": "ContractCancelled"}
        driver = Api(server.http, http)
        email = f"pnc-{uuid.uuid4().hex[:6]}@example.com"
        status, _ = await driver.call("POST", "/api/v1/auth/register", {
            "name": "Driver", "email": email, "password": "a long driver passphrase"})
        assert status == 201
        await driver.login(email, "a long driver passphrase")
        status, _ = await driver.call("POST", "/api/v1/users/me/id-tokens",
                                      {"idToken": emaid, "type": "eMAID"})
        assert status == 201
        accepted = await station.call("Authorize", {"idToken": token, "certificate": chain})
        assert accepted[2]["certificateStatus"] == "Accepted"
        assert accepted[2]["idTokenInfo"]["status"] == "Accepted"
        other = await station.call("Authorize", {"idToken": {"idToken": "BRXXXC12345678X",
                                                             "type": "eMAID"},
                                                 "certificate": chain})
        assert other[2]["certificateStatus"] == "CertChainError"  # not this contract's EMAID
        await ws.close()
        station.reader.cancel()
    conn = await asyncpg.connect(pg_dsn)
    try:
        row = await conn.fetchrow("SELECT last_status, private_key_enc, certificate_chain "
                                  "FROM iso15118_certificates WHERE emaid = $1", emaid)
    finally:
        await conn.close()
    assert row["last_status"] == "Accepted" and row["certificate_chain"] == chain
    assert row["private_key_enc"] and b"BEGIN" not in bytes(row["private_key_enc"])


async def test_the_simulator_takes_roots_and_renews_when_triggered_over_rest(
        tls_server: tuple[ServerProcess, Pki, int, Path]) -> None:
    server, _, _, _ = tls_server
    station_id = f"CP-SIM-{uuid.uuid4().hex[:6]}"
    mo = make_contract_pki(name="Sim MO")
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station(station_id, 1)
        async with await SimulatedStation.connect(server.ocpp, SimConfig(station_id),
                                                  password=password) as sim:
            assert (await sim.boot()).status == "Accepted"
            base = f"/api/v1/devices/{station_id}/certificates"
            status, body = await api.call("POST", base, {"certificateType": "MORootCertificate",
                                                         "pem": mo.root.pem})
            assert (status, body) == (200, {"status": "Accepted"})
            status, listed = await api.call("GET", base)
            [entry] = listed["certificateHashDataChain"]
            hashes_ = entry["certificateHashData"]
            assert entry["certificateType"] == "MORootCertificate"
            assert hashes_["serialNumber"] == format(mo.root.cert.serial_number, "x")
            status, body = await api.call("POST", f"/api/v1/devices/{station_id}/trigger/"
                                                  "SignChargingStationCertificate")
            assert (status, body) == (200, {"status": "Accepted"})
            for _ in range(100):  # SignCertificate, then CertificateSigned from the server
                if sim.certificates.chain:
                    break
                await asyncio.sleep(0.05)
            subject = sim.certificates.chain[0].subject
            assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == station_id
            status, body = await api.call("DELETE", f"{base}/{hashes_['serialNumber']}?"
                                                    f"issuerNameHash={hashes_['issuerNameHash']}&"
                                                    f"issuerKeyHash={hashes_['issuerKeyHash']}")
            assert (status, body) == (200, {"status": "Accepted"})
            assert sim.certificates.roots["MORootCertificate"] == []
        for _ in range(100):
            status, issued = await api.call("GET", f"{base}/issued")
            if issued and issued[0]["status"] == "Accepted":
                break
            await asyncio.sleep(0.05)
        # the module's certificates all sit in the renewal window: the job may have renewed
        # the simulator's again since (it renews when triggered), superseding the first
        statuses = [c["status"] for c in issued]
        assert statuses[0] == "Accepted" and set(statuses[1:]) <= {"Superseded"}
