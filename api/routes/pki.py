"""Our PKI (admin): trusted roots for Plug & Charge and stations, and our own CA's chain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from api.errors import InvalidInput, NotConfigured, NotFound
from api.routing import Call, Resource, json_response
from api.schemas.base import Body, Out
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import AuditEntry, Role
from sigec_actors.pki.ca import pem
from sigec_actors.pki.store import RootType, TrustedRoot
from sigec_actors.pki.wiring import EXTRAS_KEY, PkiWiring

resource = Resource("pki", authenticate)
routes = resource.table
BASE = "/api/v1/admin/pki"
FINGERPRINT_PATH = {"fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}


class RootBody(Body, frozen=True, kw_only=True):
    root_type: RootType
    pem: Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]


class RootOut(Out, frozen=True, kw_only=True):
    fingerprint: str
    root_type: str
    subject: str
    valid_to: datetime
    pem: str

    @classmethod
    def of(cls, root: TrustedRoot) -> RootOut:
        return cls(fingerprint=root.fingerprint, root_type=root.root_type.value,
                   subject=root.subject, valid_to=root.valid_to, pem=root.certificate_pem)


class CaOut(Out, frozen=True, kw_only=True):
    """Our station-issuing CA and its root (install the root on stations as CSMSRoot)."""

    issuer_subject: str
    root_subject: str
    chain_pem: str


def pki_of(call: Call) -> PkiWiring:
    """The node's PKI (503 when the node runs without it: pki.enabled = false)."""
    pki = call.ctx.extras.get(EXTRAS_KEY)
    if not isinstance(pki, PkiWiring):
        raise NotConfigured("pki")
    return pki


def one_certificate(text: str) -> x509.Certificate:
    """The single X.509 certificate in PEM `text`; 422 naming `pem` otherwise."""
    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        raise InvalidInput("pem", "not a PEM X.509 certificate") from None
    if len(certs) != 1:
        raise InvalidInput("pem", "exactly one certificate")
    return certs[0]


def _root(body: RootBody) -> TrustedRoot:
    cert = one_certificate(body.pem)
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca = False
    if not ca or cert.issuer != cert.subject:
        raise InvalidInput("pem", "a self-signed CA certificate (basicConstraints CA:true)")
    if cert.not_valid_after_utc <= datetime.now(UTC):
        raise InvalidInput("pem", "the certificate has expired")
    return TrustedRoot(fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
                       root_type=body.root_type, subject=cert.subject.rfc4514_string(),
                       certificate_pem=pem(cert), valid_to=cert.not_valid_after_utc)


async def _audit(call: Call, action: str, fingerprint: str, details: dict[str, str]) -> None:
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", action, call.caller.sub, "pki_root", fingerprint, details=details,
        ip=call.request.remote))


@resource.get(BASE + "/roots", "Trusted roots (V2G, MO, CSMS, Manufacturer)", role=Role.ADMIN,
              response=list[RootOut], errors=(503,))
async def list_roots(call: Call) -> web.Response:
    return json_response([RootOut.of(r) for r in await pki_of(call).store.roots()])


@resource.post(BASE + "/roots", "Trust a root (a self-signed CA certificate, PEM)",
               role=Role.ADMIN, body=RootBody, response=RootOut, status=201,
               errors=(422, 503))
async def add_root(call: Call) -> web.Response:
    root = await pki_of(call).store.add_root(_root(call.body(RootBody)))
    await _audit(call, "pki.root.add", root.fingerprint,
                 {"rootType": root.root_type.value, "subject": root.subject})
    return json_response(RootOut.of(root), status=201)


@resource.delete(BASE + "/roots/{fingerprint}", "Stop trusting a root", role=Role.ADMIN,
                 status=204, errors=(404, 503), path_types=FINGERPRINT_PATH)
async def delete_root(call: Call) -> web.Response:
    fingerprint = call.path("fingerprint")
    if not await pki_of(call).store.delete_root(fingerprint.lower()):
        raise NotFound("root", fingerprint)
    await _audit(call, "pki.root.delete", fingerprint, {})
    return web.Response(status=204)


@resource.get(BASE + "/ca", "Our station-issuing CA chain (PEM)", role=Role.ADMIN,
              response=CaOut, errors=(503,))
async def our_ca(call: Call) -> web.Response:
    ca = pki_of(call).ca
    return json_response(CaOut(issuer_subject=ca.issuer.subject.rfc4514_string(),
                               root_subject=ca.root.subject.rfc4514_string(),
                               chain_pem=pem(*ca.chain)))
