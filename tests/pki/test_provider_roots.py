"""The EV's ListOfRootCertificateIDs decides whether the offline provider can answer: its
SAProvisioningCertificateChain must end in a V2G root the EV lists (the EV verifies the answer
against it). When it lists none of ours, the EV gets ISO 15118-2's
FAILED_NoCertificateAvailable in EXI and no contract is issued."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509

from sigec_actors.ocpp.generated.v201 import (
    CertificateActionEnum,
    Get15118EVCertificateRequest,
    Get15118EVCertificateResponse,
    Iso15118EVCertificateStatusEnum,
)
from sigec_actors.pki.exi.codec import ISO2_MSG_DEF, ExiCodec
from sigec_actors.pki.provider import OfflineContractProvider
from tests.pki.ev import Ev, decrypt_contract_key, der_b64, signed_request
from tests.pki.test_provider_exi import jar, offline
from tests.pki.test_station_handlers import World, world

__all__ = ["jar", "world"]


def _id(issuer: str, serial: int) -> dict[str, Any]:
    return {"X509IssuerName": issuer, "X509SerialNumber": serial}


def _reversed_rdns(name: x509.Name) -> str:
    """The same name with its RDNs in the other order (X.500 order, not RFC 4514's)."""
    return ",".join(reversed(name.rfc4514_string().split(",")))


async def _ask(world: World, codec: ExiCodec, ev: Ev, root_ids: list[dict[str, Any]],
               action: str = "Install", update: dict[str, Any] | None = None
               ) -> tuple[Get15118EVCertificateResponse, dict[str, Any]]:
    provider = world.pki.provider
    assert isinstance(provider, OfflineContractProvider)
    if update is None:
        exi = await signed_request(codec, "CertificateInstallationReq", {
            "Id": "ID1", "OEMProvisioningCert": der_b64(ev.oem_cert),
            "ListOfRootCertificateIDs": {"RootCertificateID": root_ids}}, ev.oem_key, "0A0B")
    else:
        exi = await signed_request(codec, "CertificateUpdateReq", {
            "Id": "ID2", **update["element"],
            "ListOfRootCertificateIDs": {"RootCertificateID": root_ids}}, update["key"], "0A0B")
    answer = await provider.certificate("CP-1", Get15118EVCertificateRequest(
        iso15118_schema_version=ISO2_MSG_DEF, action=CertificateActionEnum(action),
        exi_request=base64.b64encode(exi).decode()))
    assert answer.status is Iso15118EVCertificateStatusEnum.ACCEPTED, answer
    body = (await codec.decode(base64.b64decode(answer.exi_response), ISO2_MSG_DEF))[
        "V2G_Message"]["Body"]
    [(name, res)] = body.items()
    assert name == ("CertificateInstallationRes" if action == "Install"
                    else "CertificateUpdateRes")
    return answer, res


@pytest.mark.usefixtures("jar")
async def test_a_listed_root_in_either_rdn_order_gets_a_contract(world: World) -> None:
    provider, codec = offline(world)
    ours = provider.cps.v2g_root
    other = world.pki.v2g.ca.root  # a V2G root, but not the one our CPS chain ends in
    _, res = await _ask(world, codec, Ev.make(), [
        _id(other.issuer.rfc4514_string(), other.serial_number),
        _id(_reversed_rdns(ours.issuer), ours.serial_number)])
    assert res["ResponseCode"] == "OK"
    leaf = x509.load_der_x509_certificate(base64.b64decode(
        res["SAProvisioningCertificateChain"]["Certificate"]))
    sub = x509.load_der_x509_certificate(base64.b64decode(
        res["SAProvisioningCertificateChain"]["SubCertificates"]["Certificate"][0]))
    leaf.verify_directly_issued_by(sub)
    sub.verify_directly_issued_by(ours)  # the chain ends in the root the EV listed
    assert len(world.store.contracts) == 1


@pytest.mark.usefixtures("jar")
async def test_no_listed_root_of_ours_is_failed_no_certificate_available(world: World) -> None:
    provider, codec = offline(world)
    ours = provider.cps.v2g_root
    other = world.pki.v2g.ca.root
    ev = Ev.make()
    for root_ids in ([_id(other.issuer.rfc4514_string(), other.serial_number)],
                     [_id(ours.issuer.rfc4514_string(), ours.serial_number + 1)],  # serial
                     [_id("CN=Someone Else", ours.serial_number)]):  # name
        answer, res = await _ask(world, codec, ev, root_ids)
        assert res["ResponseCode"] == "FAILED_NoCertificateAvailable", root_ids
        assert answer.status_info is not None
        assert answer.status_info.reason_code == "NoTrustedV2GRoot"
        assert ours.subject.rfc4514_string() in (answer.status_info.additional_info or "")
        assert res["eMAID"]["value"] == "ZZ000000000000"  # a placeholder, no contract
    assert world.store.contracts == {}

    # the same for an update: the contract stays as it is
    _, installed = await _ask(world, codec, ev, [_id(ours.issuer.rfc4514_string(),
                                                     ours.serial_number)])
    emaid = installed["eMAID"]["value"]
    before = world.store.contracts[emaid]
    key = decrypt_contract_key(ev.oem_key, installed)
    answer, res = await _ask(world, codec, ev, [
        _id(other.issuer.rfc4514_string(), other.serial_number)], action="Update",
        update={"key": key, "element": {
            "ContractSignatureCertChain": installed["ContractSignatureCertChain"],
            "eMAID": emaid}})
    assert res["ResponseCode"] == "FAILED_NoCertificateAvailable"
    assert world.store.contracts[emaid] == before
