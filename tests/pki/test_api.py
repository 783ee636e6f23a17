"""The certificate and PKI routes in process: what reaches the station, and bad input refused
before anything is sent or stored."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from sigec_actors.ocpp.generated import v201
from sigec_actors.pki.ca import pem as pem_of
from sigec_actors.pki.wiring import EXTRAS_KEY, PkiWiring
from tests.api.harness import Api, start_api
from tests.helpers.pki import issue, make_contract_pki

BASE = "/api/v1/devices/CP-1/certificates"


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    app = await start_api()
    yield app
    await app.close()


async def test_station_certificate_commands(api: Api) -> None:
    root = make_contract_pki(name="Api MO").root
    await api.json("GET", BASE + "?type=V2GRootCertificate", "admin")
    await api.json("POST", BASE, "admin", json={"certificateType": "MORootCertificate",
                                                 "pem": root.pem})
    await api.json("DELETE", BASE + "/0A1b?issuerNameHash=aa&issuerKeyHash=bb", "admin")
    sent = [request for _, request in api.commander.sent]
    assert sent == [
        v201.GetInstalledCertificateIdsRequest(
            certificate_type=(v201.GetCertificateIdUseEnum.V2_GROOT_CERTIFICATE,)),
        v201.InstallCertificateRequest(
            certificate_type=v201.InstallCertificateUseEnum.MOROOT_CERTIFICATE,
            certificate=root.pem),
        v201.DeleteCertificateRequest(certificate_hash_data=v201.CertificateHashData(
            hash_algorithm=v201.HashAlgorithmEnum.SHA256, issuer_name_hash="aa",
            issuer_key_hash="bb", serial_number="0A1b"))]


async def test_bad_input_is_refused_before_anything_is_sent(api: Api) -> None:
    root = make_contract_pki(name="Api MO").root
    await api.json("POST", BASE, "admin", status=422,
                   json={"certificateType": "MORootCertificate", "pem": "-----BEGIN junk"})
    await api.json("POST", BASE, "admin", status=422,
                   json={"certificateType": "MORootCertificate", "pem": root.pem + root.pem})
    await api.json("DELETE", BASE + "/xyz?issuerNameHash=aa&issuerKeyHash=bb", "admin",
                   status=422)
    await api.json("DELETE", BASE + "/0a?issuerNameHash=zz&issuerKeyHash=bb", "admin",
                   status=422)
    await api.json("GET", "/api/v1/devices/NOPE/certificates", "admin", status=404)
    await api.json("GET", "/api/v1/devices/CP-2/certificates", "admin", status=409)  # offline
    await api.json("GET", "/api/v1/devices/NOPE/certificates/issued", "admin", status=404)
    assert api.commander.sent == []
    await api.json("GET", BASE, "operator", status=403)


async def test_roots_only_self_signed_unexpired_cas(api: Api) -> None:
    pki = api.ctx.extras[EXTRAS_KEY]
    assert isinstance(pki, PkiWiring)
    mo = make_contract_pki(name="Roots MO")
    old = issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Old Root")]), None, ca=True, path_length=1, days=1,
                start=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=3))
    roots = "/api/v1/admin/pki/roots"
    for pem in (mo.sub1.pem, mo.leaf("BRXXXC12345678X").pem, old.pem, "junk"):
        await api.json("POST", roots, "admin", status=422, json={"rootType": "MO", "pem": pem})
    await api.json("POST", roots, "admin", status=422, json={"rootType": "EV", "pem": mo.root.pem})
    assert await pki.store.roots() == []
    made = await api.json("POST", roots, "admin", status=201,
                          json={"rootType": "V2G", "pem": mo.root.pem})
    again = await api.json("POST", roots, "admin", status=201,
                           json={"rootType": "V2G", "pem": mo.root.pem})
    assert made == again
    assert [r["fingerprint"] for r in await api.json("GET", roots, "admin")] == [
        made["fingerprint"]]
    assert [r.entry.action for r in api.audit.records][-2:] == ["pki.root.add"] * 2
    await api.call("DELETE", f"{roots}/{made['fingerprint']}", "admin")
    await api.json("DELETE", f"{roots}/{made['fingerprint']}", "admin", status=404)
    ca = await api.json("GET", "/api/v1/admin/pki/ca", "admin")
    assert "BEGIN CERTIFICATE" in ca["chainPem"]


async def test_our_v2g_root_is_a_trusted_v2g_root_an_admin_sees(api: Api) -> None:
    pki = api.ctx.extras[EXTRAS_KEY]
    assert isinstance(pki, PkiWiring)
    roots = "/api/v1/admin/pki/roots"
    assert await api.json("GET", roots, "admin") == []  # published when the node starts
    await pki.publish_roots()
    [row] = await api.json("GET", roots, "admin")
    assert row["rootType"] == "V2G" and row["pem"] == pem_of(pki.v2g.ca.root)
    assert "V2G Root CA" in row["subject"]
