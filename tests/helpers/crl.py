"""CRLs built with cryptography, served by a loopback HTTP server (issue 22, CRL checking)."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Collection

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers.pki import Issued


def make_crl(issuer: Issued, revoked: Collection[int] = (), *,
             next_update_s: float = 3600.0, signer_key: ec.EllipticCurvePrivateKey | None = None,
             pem: bool = False) -> bytes:
    """`issuer`'s CRL listing `revoked`, due again in `next_update_s` (negative: out of date);
    DER (PEM with `pem`). `signer_key` forges: it signs with another key than the issuer's."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.cert.subject)
               .last_update(now - datetime.timedelta(minutes=1) if next_update_s > 0
                            else now + datetime.timedelta(seconds=next_update_s * 2))
               .next_update(now + datetime.timedelta(seconds=next_update_s)))
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial)
            .revocation_date(now - datetime.timedelta(minutes=1)).build())
    crl = builder.sign(signer_key or issuer.key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM if pem else serialization.Encoding.DER)


class CrlServer:
    """Serves `crls[path]` at http://127.0.0.1:<port>/<path> (404 for others); `hits` counts
    the requests per path."""

    def __init__(self) -> None:
        self.crls: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        self.base = ""
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    async def start(self) -> CrlServer:
        async def handle(request: web.Request) -> web.Response:
            path = request.match_info["path"]
            self.hits[path] += 1
            if path not in self.crls:
                return web.Response(status=404)
            return web.Response(body=self.crls[path], content_type="application/pkix-crl")

        app = web.Application()
        app.router.add_get("/{path}", handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
