"""Small helpers for service URLs: swap the database of a PostgreSQL DSN, redact passwords."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

_NATS_SCHEMES = ("nats", "tls", "ws", "wss")


def with_database(dsn: str, database: str) -> str:
    """Return `dsn` pointing at another database on the same server."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def redact(url: str | None) -> str | None:
    """Hide the password of a URL so it can be logged or written to runtime.json.

    A NATS URL's user without a password is a token (`nats://<token>@host`): hidden too.
    """
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    if parts.password is None:
        if parts.username and parts.scheme in _NATS_SCHEMES:
            return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query,
                               parts.fragment))
        return url
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))
