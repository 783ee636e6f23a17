"""ISO 15118-2 cryptography around CertificateInstallation/UpdateRes, with `cryptography` only:
the contract private key encrypted for the EV (ephemeral ECDH on secp256r1, the concatenation
KDF of NIST SP 800-56A with SHA-256 and OtherInfo 0x01 0x55 0x56, AES-128-CBC, the 16-byte IV
first) and ECDSA-SHA256 signatures as raw r||s (32 + 32 bytes, no DER)."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

OTHER_INFO = bytes((0x01, 0x55, 0x56))  # AlgorithmID, PartyUInfo ("U"), PartyVInfo ("V")
KEY_BYTES = 32  # a secp256r1 private value


class KeyWrapError(ValueError):
    """The contract key cannot be encrypted for this recipient (not a secp256r1 key)."""


def _session_key(own: ec.EllipticCurvePrivateKey, peer: ec.EllipticCurvePublicKey) -> bytes:
    shared = own.exchange(ec.ECDH(), peer)
    return ConcatKDFHash(algorithm=hashes.SHA256(), length=16, otherinfo=OTHER_INFO).derive(
        shared)


def encrypt_private_key(recipient: ec.EllipticCurvePublicKey,
                        key: ec.EllipticCurvePrivateKey) -> tuple[bytes, bytes]:
    """(DHpublickey: the ephemeral public point, uncompressed; IV || AES-128-CBC ciphertext of
    the 32-byte private value) for the holder of `recipient`'s private key."""
    if not isinstance(recipient.curve, ec.SECP256R1):
        raise KeyWrapError(f"the recipient key is on {recipient.curve.name}, not secp256r1")
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(_session_key(ephemeral, recipient)),
                       modes.CBC(iv)).encryptor()
    secret = key.private_numbers().private_value.to_bytes(KEY_BYTES, "big")
    dh_public = ephemeral.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
    return dh_public, iv + encryptor.update(secret) + encryptor.finalize()


def sign_raw(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_raw(public: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    if len(signature) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                               int.from_bytes(signature[32:], "big"))
    try:
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
