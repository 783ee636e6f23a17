"""A simulated EV for Plug & Charge contract installation: an OEM provisioning certificate, its
signed CertificateInstallationReq / CertificateUpdateReq (EXI, through the codec), and the EV's
own reading of the answer: digests, the provisioning leaf's signature and the contract key
decrypted with ECDH + the ISO 15118-2 concatenation KDF + AES-128-CBC, written here from the
standard rather than with the provider's code."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.x509.oid import NameOID

from sigec_actors.pki.exi.codec import ISO2_MSG_DEF, XMLDSIG, ExiCodec
from sigec_actors.pki.exi.messages import sign

SIGNED = ("ContractSignatureCertChain", "ContractSignatureEncryptedPrivateKey", "DHpublickey",
          "eMAID")


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          signer: ec.EllipticCurvePrivateKey, *, ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256()))


@dataclass(frozen=True)
class Ev:
    oem_key: ec.EllipticCurvePrivateKey
    oem_cert: x509.Certificate

    @classmethod
    def make(cls, pcid: str = "WMIV1234567890ABCD") -> Ev:
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = _cert("Test OEM Root", root_key, x509.Name([x509.NameAttribute(
            NameOID.COMMON_NAME, "Test OEM Root")]), root_key, ca=True)
        key = ec.generate_private_key(ec.SECP256R1())
        return cls(key, _cert(pcid, key, root.subject, root_key, ca=False))


def der_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


async def signed_request(codec: ExiCodec, name: str, element: dict[str, Any],
                         key: ec.EllipticCurvePrivateKey, session_id: str) -> bytes:
    fragment = await codec.encode({name: element}, ISO2_MSG_DEF)
    signature = await sign(codec, key, {element["Id"]: fragment})
    return await codec.encode({"V2G_Message": {
        "Header": {"SessionID": session_id, "Signature": signature},
        "Body": {name: element}}}, ISO2_MSG_DEF)


async def installation_req(codec: ExiCodec, ev: Ev, v2g_root: x509.Certificate,
                           session_id: str = "0A0B0C0D0E0F1011") -> bytes:
    return await signed_request(codec, "CertificateInstallationReq", {
        "Id": "ID1", "OEMProvisioningCert": der_b64(ev.oem_cert),
        "ListOfRootCertificateIDs": {"RootCertificateID": [{
            "X509IssuerName": v2g_root.subject.rfc4514_string(),
            "X509SerialNumber": v2g_root.serial_number}]}}, ev.oem_key, session_id)


def _raw_verify(public: ec.EllipticCurvePublicKey, raw: bytes, data: bytes) -> None:
    assert len(raw) == 64
    public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                       int.from_bytes(raw[32:], "big")),
                  data, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature


async def check_signature(codec: ExiCodec, header: dict[str, Any], body: dict[str, Any],
                          signer: x509.Certificate) -> None:
    """Each Reference digest is the SHA-256 of its element's EXI fragment, and the value
    verifies with `signer` over the EXI of SignedInfo."""
    signed_info = header["Signature"]["SignedInfo"]
    digests = {r["URI"]: base64.b64decode(r["DigestValue"]) for r in signed_info["Reference"]}
    assert set(digests) == {"#" + body[name]["Id"] for name in SIGNED}
    for name in SIGNED:
        fragment = await codec.encode({name: body[name]}, ISO2_MSG_DEF)
        assert hashlib.sha256(fragment).digest() == digests["#" + body[name]["Id"]], name
    exi = await codec.encode({"SignedInfo": signed_info}, XMLDSIG)
    public = signer.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    _raw_verify(public, base64.b64decode(header["Signature"]["SignatureValue"]["value"]), exi)


def decrypt_contract_key(own: ec.EllipticCurvePrivateKey, body: dict[str, Any]
                         ) -> ec.EllipticCurvePrivateKey:
    dh = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), base64.b64decode(body["DHpublickey"]["value"]))
    session = ConcatKDFHash(hashes.SHA256(), 16, b"\x01\x55\x56").derive(
        own.exchange(ec.ECDH(), dh))
    blob = base64.b64decode(body["ContractSignatureEncryptedPrivateKey"]["value"])
    assert len(blob) == 48  # IV + the 32-byte private value
    decryptor = Cipher(algorithms.AES(session), modes.CBC(blob[:16])).decryptor()
    value = decryptor.update(blob[16:]) + decryptor.finalize()
    return ec.derive_private_key(int.from_bytes(value, "big"), ec.SECP256R1())


def chain_pem(chain: dict[str, Any]) -> str:
    ders = [chain["Certificate"], *chain.get("SubCertificates", {}).get("Certificate", [])]
    return "".join(x509.load_der_x509_certificate(base64.b64decode(d)).public_bytes(
        serialization.Encoding.PEM).decode() for d in ders)
