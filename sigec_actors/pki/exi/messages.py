"""ISO 15118-2 CertificateInstallation/Update messages as the codec's JSON shapes, and their
header signatures (xmldsig): one Reference per signed element, its digest the SHA-256 of the
element's EXI fragment encoding; the SignatureValue an ECDSA-SHA256 (raw r||s) over the EXI
encoding of SignedInfo."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sigec_actors.pki.exi.codec import ISO2_MSG_DEF, XMLDSIG, ExiCodec, ExiError, ExiUnavailable
from sigec_actors.pki.exi.crypto import sign_raw, verify_raw

CANONICAL_EXI = "http://www.w3.org/TR/canonical-exi/"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
REQUESTS = {"Install": "CertificateInstallationReq", "Update": "CertificateUpdateReq"}
RESPONSES = {"Install": "CertificateInstallationRes", "Update": "CertificateUpdateRes"}


class MessageError(ValueError):
    """The EV's message is not what ISO 15118-2 asks for (missing field, bad signature...)."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise MessageError(f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MessageError(f"{what} is not base64") from exc


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def load_cert(value: object, what: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(unb64(value, what))
    except ValueError as exc:
        raise MessageError(f"{what} is not a DER certificate") from exc


def chain_json(leaf: x509.Certificate, subs: tuple[x509.Certificate, ...],
               id_: str | None = None) -> dict[str, Any]:
    """A CertificateChainType: the leaf, then its sub-CAs (at most 2, the root left out)."""
    chain: dict[str, Any] = {"Id": id_} if id_ else {}
    chain["Certificate"] = b64(der(leaf))
    if subs:
        chain["SubCertificates"] = {"Certificate": [b64(der(c)) for c in subs]}
    return chain


def chain_certs(chain: object, what: str) -> list[x509.Certificate]:
    if not isinstance(chain, dict):
        raise MessageError(f"{what} is missing")
    subs = chain.get("SubCertificates", {}).get("Certificate", [])
    return [load_cert(chain.get("Certificate"), what),
            *(load_cert(c, f"{what} sub-CA") for c in subs)]


def _signed_info(references: dict[str, bytes]) -> dict[str, Any]:
    return {"CanonicalizationMethod": {"Algorithm": CANONICAL_EXI},
            "SignatureMethod": {"Algorithm": ECDSA_SHA256},
            "Reference": [{"URI": "#" + id_, "Transforms": {"Transform": [
                {"Algorithm": CANONICAL_EXI}]}, "DigestMethod": {"Algorithm": SHA256},
                "DigestValue": b64(hashlib.sha256(fragment).digest())}
                for id_, fragment in references.items()]}


async def sign(codec: ExiCodec, key: ec.EllipticCurvePrivateKey,
               references: dict[str, bytes]) -> dict[str, Any]:
    """The header's Signature over `references` (Id -> that element's EXI fragment)."""
    signed_info = _signed_info(references)
    exi = await codec.encode({"SignedInfo": signed_info}, XMLDSIG)
    return {"SignedInfo": signed_info, "SignatureValue": {"value": b64(sign_raw(key, exi))}}


def _check_references(signature: object, references: dict[str, bytes]) -> dict[str, Any]:
    """The SignedInfo of `signature` when it references exactly `references` with matching
    digests and ecdsa-sha256; MessageError otherwise."""
    if not isinstance(signature, dict) or not isinstance(signature.get("SignedInfo"), dict):
        raise MessageError("the header carries no Signature")
    signed_info: dict[str, Any] = signature["SignedInfo"]
    listed = {}
    for reference in signed_info.get("Reference", []):
        listed[str(reference.get("URI", "")).removeprefix("#")] = unb64(
            reference.get("DigestValue"), "DigestValue")
    if set(listed) != set(references):
        raise MessageError(f"the signature references {sorted(listed)}, not {sorted(references)}")
    for id_, fragment in references.items():
        if hashlib.sha256(fragment).digest() != listed[id_]:
            raise MessageError(f"the digest of #{id_} does not match")
    if signed_info.get("SignatureMethod", {}).get("Algorithm") != ECDSA_SHA256:
        raise MessageError("the signature method is not ecdsa-sha256")
    return signed_info


def _check_value(signature: dict[str, Any], public: ec.EllipticCurvePublicKey,
                 signed_info_exi: bytes) -> None:
    value = unb64(signature.get("SignatureValue", {}).get("value"), "SignatureValue")
    if not verify_raw(public, value, signed_info_exi):
        raise MessageError("the signature does not verify")


@dataclass(frozen=True)
class EvRequest:
    """A decoded CertificateInstallationReq or CertificateUpdateReq, its signature checked.

    `signer` is the certificate that signed it and whose key receives the new contract key:
    the OEM provisioning certificate (Install) or the contract certificate to replace (Update).
    """

    session_id: str
    signer: x509.Certificate
    root_ids: tuple[tuple[str, int], ...]
    emaid: str | None  # Update: the eMAID of the contract being replaced


def _body(message: dict[str, Any], action: str) -> tuple[dict[str, Any], dict[str, Any]]:
    v2g = message.get("V2G_Message")
    if not isinstance(v2g, dict):
        raise MessageError("not a V2G_Message")
    header, body = v2g.get("Header", {}), v2g.get("Body", {})
    element = body.get(REQUESTS[action]) if isinstance(body, dict) else None
    if not isinstance(element, dict) or not isinstance(header, dict):
        raise MessageError(f"the body is not a {REQUESTS[action]}")
    return header, element


async def read_request(codec: ExiCodec, exi: bytes, action: str) -> EvRequest:
    """The EV's request: decoded, its signer's certificate read and its signature checked."""
    header, element = _body(await codec.decode(exi, ISO2_MSG_DEF), action)
    if action == "Install":
        signer = load_cert(element.get("OEMProvisioningCert"), "OEMProvisioningCert")
        emaid = None
    else:
        signer = chain_certs(element.get("ContractSignatureCertChain"),
                             "ContractSignatureCertChain")[0]
        emaid = str(element.get("eMAID", ""))
    public = signer.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
            public.curve, ec.SECP256R1):
        raise MessageError("the EV's certificate has no secp256r1 key")
    id_ = element.get("Id")
    if not isinstance(id_, str) or not id_:
        raise MessageError(f"{REQUESTS[action]} has no Id")
    signature = header.get("Signature")
    signed_info = signature.get("SignedInfo") if isinstance(signature, dict) else None
    if not isinstance(signature, dict) or not isinstance(signed_info, dict):
        raise MessageError("the header carries no Signature")
    try:  # the element and SignedInfo in one round trip
        fragment, signed_info_exi = await codec.encode_many([
            ({REQUESTS[action]: element}, ISO2_MSG_DEF), ({"SignedInfo": signed_info}, XMLDSIG)])
    except ExiUnavailable:
        raise
    except ExiError as exc:
        raise MessageError(f"{REQUESTS[action]} or its SignedInfo does not re-encode: {exc}"
                           ) from exc
    _check_references(signature, {id_: fragment})
    _check_value(signature, public, signed_info_exi)
    roots = element.get("ListOfRootCertificateIDs", {}).get("RootCertificateID", [])
    return EvRequest(session_id=str(header.get("SessionID", "")), signer=signer,
                     root_ids=tuple((str(r.get("X509IssuerName", "")),
                                     int(r.get("X509SerialNumber", 0))) for r in roots),
                     emaid=emaid)


def _attributes(name: str) -> list[tuple[str, str]] | None:
    try:
        parsed = x509.Name.from_rfc4514_string(name)
    except ValueError:
        return None
    return sorted((a.oid.dotted_string, str(a.value)) for a in parsed)


def lists_root(request: EvRequest, root: x509.Certificate) -> bool:
    """Whether the EV's ListOfRootCertificateIDs names `root` (X509IssuerName: the root's
    issuer as RFC 4514 text, in either RDN order; X509SerialNumber: its serial)."""
    ours = sorted((a.oid.dotted_string, str(a.value)) for a in root.issuer)
    for issuer, serial in request.root_ids:
        if serial == root.serial_number and (
                _attributes(issuer) == ours or issuer == root.issuer.rfc4514_string()):
            return True
    return False


async def build_failed_response(codec: ExiCodec, request: EvRequest, action: str,
                                code: str) -> bytes:
    """A CertificateInstallationRes / CertificateUpdateRes with ResponseCode `code` (a FAILED_*
    of ISO 15118-2), unsigned. The schema makes every element mandatory even then, so they
    carry placeholders, which an EV ignores after a FAILED code."""
    placeholder = b64(b"\x00")
    body: dict[str, Any] = {
        "ResponseCode": code,
        "SAProvisioningCertificateChain": {"Certificate": placeholder},
        "ContractSignatureCertChain": {"Id": "id1", "Certificate": placeholder},
        "ContractSignatureEncryptedPrivateKey": {"Id": "id2", "value": placeholder},
        "DHpublickey": {"Id": "id3", "value": placeholder},
        "eMAID": {"Id": "id4", "value": "ZZ000000000000"},
    }
    return await codec.encode({"V2G_Message": {"Header": {"SessionID": request.session_id},
                                               "Body": {RESPONSES[action]: body}}},
                              ISO2_MSG_DEF)


@dataclass(frozen=True)
class Issued:
    """What goes into the response: the contract chain, its encrypted key and the signer."""

    contract: x509.Certificate
    contract_subs: tuple[x509.Certificate, ...]
    dh_public: bytes
    encrypted_key: bytes
    emaid: str
    provisioning: x509.Certificate
    provisioning_subs: tuple[x509.Certificate, ...]
    provisioning_key: ec.EllipticCurvePrivateKey


async def build_response(codec: ExiCodec, request: EvRequest, issued: Issued,
                         action: str) -> bytes:
    """The EXI CertificateInstallationRes / CertificateUpdateRes, signed by the provisioning
    leaf over its four Id'd elements."""
    signed = {
        "ContractSignatureCertChain": chain_json(issued.contract, issued.contract_subs, "id1"),
        "ContractSignatureEncryptedPrivateKey": {"Id": "id2",
                                                 "value": b64(issued.encrypted_key)},
        "DHpublickey": {"Id": "id3", "value": b64(issued.dh_public)},
        "eMAID": {"Id": "id4", "value": issued.emaid},
    }
    fragments = await codec.encode_many([({name: element}, ISO2_MSG_DEF)
                                         for name, element in signed.items()])
    references = {element["Id"]: fragment
                  for element, fragment in zip(signed.values(), fragments, strict=True)}
    signature = await sign(codec, issued.provisioning_key, references)
    body: dict[str, Any] = {"ResponseCode": "OK",
                            "SAProvisioningCertificateChain": chain_json(
                                issued.provisioning, issued.provisioning_subs), **signed}
    if action == "Update":
        body["RetryCounter"] = 0
    message = {"V2G_Message": {"Header": {"SessionID": request.session_id,
                                          "Signature": signature},
                               "Body": {RESPONSES[action]: body}}}
    return await codec.encode(message, ISO2_MSG_DEF)
