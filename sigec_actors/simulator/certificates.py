"""The simulator's certificates: installed roots, its own key and CSR (SignCertificate when
triggered), and CertificateSigned / InstallCertificate / DeleteCertificate /
GetInstalledCertificateIds answered from memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from ocpp.routing import on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

F = TypeVar("F", bound=Callable[..., Any])


def _route(action: Action) -> Callable[[F], F]:
    """The library's `on` route decorator, typed."""
    return cast(Callable[[F], F], on(action))


def hash_data(cert: x509.Certificate, issuer: x509.Certificate) -> dict[str, str]:
    """OCPP CertificateHashData (SHA256) of `cert` issued by `issuer`."""
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    return {"hash_algorithm": "SHA256", "issuer_name_hash": request.issuer_name_hash.hex(),
            "issuer_key_hash": request.issuer_key_hash.hex(),
            "serial_number": format(request.serial_number, "x")}


@dataclass
class CertificateStore:
    """What the simulated station holds: roots by use, its certificate chain and keys."""

    roots: dict[str, list[x509.Certificate]] = field(default_factory=dict)
    chain: list[x509.Certificate] = field(default_factory=list)
    key: ec.EllipticCurvePrivateKey | None = None
    pending_key: ec.EllipticCurvePrivateKey | None = None

    def key_pem(self) -> bytes | None:
        if self.key is None:
            return None
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


class CertificateMode:
    """Mixin for SimulatedStation; the host provides `call`, `config` and `_gate`."""

    config: Any
    call: Any  # the host's ChargePoint.call and CommandHandlers._gate (annotations only)
    _gate: Any
    _certs: CertificateStore | None = None

    @property
    def certificates(self) -> CertificateStore:
        if self._certs is None:
            self._certs = CertificateStore()
        return self._certs

    async def sign_certificate(self) -> Any:
        """Send SignCertificate with a CSR for a new EC P-256 key (CN = the station id)."""
        key = ec.generate_private_key(ec.SECP256R1())
        self.certificates.pending_key = key
        csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, self.config.station_id),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.config.vendor)])).sign(
                key, hashes.SHA256())
        return await self.call(call.SignCertificate(
            csr=csr.public_bytes(serialization.Encoding.PEM).decode(),
            certificate_type="ChargingStationCertificate"), suppress=False)

    @_route(Action.certificate_signed)
    async def on_certificate_signed(self, certificate_chain: str, **kw: Any) -> Any:
        ok = await self._gate("CertificateSigned")
        store = self.certificates
        try:
            chain = x509.load_pem_x509_certificates(certificate_chain.encode())
        except ValueError:
            ok = False
        if ok and store.pending_key is not None and chain[0].public_key() == (
                store.pending_key.public_key()):
            store.chain, store.key, store.pending_key = chain, store.pending_key, None
        else:
            ok = False
        return call_result.CertificateSigned(status="Accepted" if ok else "Rejected")

    @_route(Action.install_certificate)
    async def on_install_certificate(self, certificate_type: str, certificate: str,
                                     **kw: Any) -> Any:
        ok = await self._gate("InstallCertificate")
        try:
            cert = x509.load_pem_x509_certificate(certificate.encode())
        except ValueError:
            return call_result.InstallCertificate(status="Rejected")
        if ok:
            self.certificates.roots.setdefault(certificate_type, []).append(cert)
        return call_result.InstallCertificate(status="Accepted" if ok else "Rejected")

    @_route(Action.get_installed_certificate_ids)
    async def on_get_installed_certificate_ids(self, certificate_type: list[str] | None = None,
                                               **kw: Any) -> Any:
        await self._gate("GetInstalledCertificateIds")
        found = [{"certificate_type": use, "certificate_hash_data": hash_data(cert, cert)}
                 for use, certs in self.certificates.roots.items()
                 if not certificate_type or use in certificate_type for cert in certs]
        if not found:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(status="Accepted",
                                                      certificate_hash_data_chain=found)

    @_route(Action.delete_certificate)
    async def on_delete_certificate(self, certificate_hash_data: dict[str, str],
                                    **kw: Any) -> Any:
        ok = await self._gate("DeleteCertificate")
        wanted = {k: v if k == "hash_algorithm" else v.lower()
                  for k, v in certificate_hash_data.items()}
        for certs in self.certificates.roots.values():
            for cert in certs:
                if ok and hash_data(cert, cert) == wanted:
                    certs.remove(cert)
                    return call_result.DeleteCertificate(status="Accepted")
        return call_result.DeleteCertificate(status="NotFound" if ok else "Failed")
