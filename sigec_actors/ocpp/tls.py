"""TLS for OCPP security profiles 2 and 3: the server context and the client certificate's name."""

from __future__ import annotations

import ssl

from sigec_actors.errors import SigecError

# OCTT TC_086_CSMS suites for TLS 1.2 (ECDHE-ECDSA and RSA with AES-GCM), plus ECDHE-RSA-GCM so an
# RSA server certificate still gets forward secrecy. TLS 1.3 suites are all AEAD and stay as
# OpenSSL ships them. SECLEVEL 2 makes OpenSSL refuse RSA keys < 2048 bits and EC keys < 224 bits.
TLS12_CIPHERS = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "@SECLEVEL=2",
))


class TlsConfigError(SigecError):
    """The TLS files in `ocpp.tls_*` cannot be used; `key` names the setting."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"TLS config error: ocpp.{key}: {problem}")


def server_context(cert: str, key: str, client_ca: str = "") -> ssl.SSLContext:
    """A server SSLContext: TLS >= 1.2, TC_086 suites, optional client certificates.

    With `client_ca`, a client certificate is *optional* at the TLS level (profile 1 and 2
    stations have none) but, when presented, must chain to that CA; the gateway then demands
    one, with the right name, from stations registered at profile 3.
    """
    if not cert or not key:
        raise TlsConfigError("tls_cert", "a certificate and a key are both required for wss://")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError("tls_cert", f"cannot load {cert} / {key}: {exc}") from exc
    if client_ca:
        try:
            ctx.load_verify_locations(cafile=client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError("tls_client_ca", f"cannot load {client_ca}: {exc}") from exc
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def peer_common_name(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The subject CN of a *verified* client certificate, or None (no TLS, no cert, several CNs).

    `getpeercert()` only returns the parsed subject when OpenSSL verified the chain, so a
    certificate that does not chain to the configured CA never yields a name here.
    """
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    if not cert:
        return None
    subject = cert.get("subject", ())
    names = [pair[1] for rdn in subject if isinstance(rdn, tuple) for pair in rdn
             if isinstance(pair, tuple) and pair[0] == "commonName"]
    return names[0] if len(names) == 1 else None
