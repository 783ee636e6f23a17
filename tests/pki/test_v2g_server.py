"""The real server's V2G sub-CA: a profile-3 station over mutual TLS gets its SECC certificate
(SignCertificate of type V2GCertificate), and the V2G root shows among the trusted roots."""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers.pki import Pki
from tests.helpers.server import Api, ServerProcess
from tests.pki.test_mtls_server import _bootstrap_cert, _connect, _csr, tls_server

__all__ = ["tls_server"]  # the fixture: this module's own server


async def test_a_station_gets_its_secc_certificate_and_the_v2g_root_is_listed(
        tls_server: tuple[ServerProcess, Pki, int, Path], tmp_path: Path) -> None:
    server, pki, port, data = tls_server
    station_id = f"CP-V2G-{uuid.uuid4().hex[:6]}"
    root = x509.load_pem_x509_certificate((data / "pki" / "v2g" / "root.crt").read_bytes())
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        await api.add_station(station_id, 3)
        ws, station = await _connect(port, station_id, pki,
                                     _bootstrap_cert(data, station_id, tmp_path),
                                     {"CertificateSigned": {"status": "Accepted"}})
        key = ec.generate_private_key(ec.SECP256R1())
        answer = await station.call("SignCertificate", {"csr": _csr(station_id, key),
                                                        "certificateType": "V2GCertificate"})
        assert answer[2] == {"status": "Accepted"}
        signed = await station.next_call("CertificateSigned")
        assert signed[3]["certificateType"] == "V2GCertificate"
        leaf, sub2, sub1 = x509.load_pem_x509_certificates(
            signed[3]["certificateChain"].encode())
        for cert, issuer in ((leaf, sub2), (sub2, sub1), (sub1, root)):
            cert.verify_directly_issued_by(issuer)
        assert leaf.public_key() == key.public_key()
        issued = await api.until(f"/api/v1/devices/{station_id}/certificates/issued",
                                 lambda rows: rows and rows[0]["status"] == "Accepted")
        assert [(r["certificateType"], r["serialNumber"]) for r in issued] == [
            ("V2GCertificate", format(leaf.serial_number, "x"))]
        roots = await api.until("/api/v1/admin/pki/roots",
                                lambda rows: [r for r in rows if r["rootType"] == "V2G"])
        [v2g] = [r for r in roots if r["rootType"] == "V2G"]
        assert x509.load_pem_x509_certificate(v2g["pem"].encode()) == root
        await ws.close()
        station.reader.cancel()
