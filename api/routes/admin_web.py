"""The operator web page at /admin/: static files shipped in the package, no build step.

The page talks only to the public REST API. Its files are served with a strict CSP (no inline
script or style, same-origin connections only) and are not API routes (no OpenAPI entry).
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from api.routing import Resource

resource = Resource("admin-web")
routes = resource.table
STATIC = resources.files("api") / "static" / "admin"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
         ".png": "image/png", ".svg": "image/svg+xml"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _files() -> dict[str, tuple[bytes, str]]:
    """Name -> (bytes, content type) of the shipped files (read once: they never change)."""
    found = {}
    for entry in STATIC.iterdir():
        suffix = entry.name[entry.name.rfind("."):]
        if entry.is_file() and suffix in TYPES:
            found[entry.name] = (entry.read_bytes(), TYPES[suffix])
    return found


FILES = _files()


def _serve(name: str) -> web.Response:
    found = FILES.get(name)
    if found is None:
        raise web.HTTPNotFound(text="not found", headers=SECURITY_HEADERS)
    body, content_type = found
    return web.Response(body=body, content_type=content_type, charset="utf-8"
                        if content_type.startswith("text/") else None,
                        headers=SECURITY_HEADERS)


@routes.get("/admin")
async def admin_root(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/admin/")


@routes.get("/admin/")
async def admin_index(_request: web.Request) -> web.Response:
    return _serve("index.html")


@routes.get("/admin/{name}")
async def admin_file(request: web.Request) -> web.Response:
    return _serve(request.match_info["name"])
