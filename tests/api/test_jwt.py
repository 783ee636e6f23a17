"""JWT verification (A4): pinned HS256, required claims, iss/aud, expiry on the injected clock."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from sigec_actors.domain.records import Role
from sigec_actors.services import tokens
from sigec_actors.services.tokens import AccessClaims, InvalidToken, TokenKey
from tests.api.harness import SECRET, Api

KEY = TokenKey.from_secret(SECRET)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _claims(**changes: object) -> dict[str, object]:
    iat = int(NOW.timestamp())
    base: dict[str, object] = {"sub": "u1", "role": "user", "jti": "j1", "iat": iat,
                               "exp": iat + 300, "iss": tokens.ISSUER, "aud": tokens.AUDIENCE}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def _sign(claims: dict[str, object], *, key: str = SECRET, alg: str = "HS256",
          kid: str | None = KEY.kid) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_issued_token_verifies_with_all_claims() -> None:
    token, claims = tokens.issue_access(KEY, "u1", Role.OPERATOR, now=NOW, ttl_s=900, jti="j")
    assert tokens.verify_access(KEY, token, now=NOW) == claims
    assert claims == AccessClaims(sub="u1", role=Role.OPERATOR, jti="j",
                                  iat=int(NOW.timestamp()), exp=int(NOW.timestamp()) + 900)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": KEY.kid, "typ": "JWT"}


def test_access_ttl_is_at_most_15_minutes() -> None:
    with pytest.raises(ValueError, match="TTL"):
        tokens.issue_access(KEY, "u1", Role.USER, now=NOW, ttl_s=901, jti="j")
    long_lived = _sign(_claims(exp=int(NOW.timestamp()) + 3600))
    with pytest.raises(InvalidToken):
        tokens.verify_access(KEY, long_lived, now=NOW)


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        TokenKey.from_secret("short")


BAD_TOKENS = {
    "alg none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims()) + ".",
    "alg none, kid": _b64({"alg": "none", "kid": KEY.kid}) + "." + _b64(_claims()) + ".",
    "wrong alg HS512": _sign(_claims(), alg="HS512"),
    "wrong key": _sign(_claims(), key="another-secret-" + "x" * 60),
    "unknown kid": _sign(_claims(), kid="rotated-away"),
    "expired": _sign(_claims(exp=int(NOW.timestamp()) - 1)),
    "missing exp": _sign(_claims(exp=None)),
    "missing jti": _sign(_claims(jti=None)),
    "missing iat": _sign(_claims(iat=None)),
    "wrong iss": _sign(_claims(iss="someone-else")),
    "wrong aud": _sign(_claims(aud="another-api")),
    "no aud": _sign(_claims(aud=None)),
    "unknown role": _sign(_claims(role="root")),
    "issued in the future": _sign(_claims(iat=int(NOW.timestamp()) + 3600,
                                          exp=int(NOW.timestamp()) + 3700)),
    "garbage": "not.a.jwt",
}
_HEADER, _, _SIGNATURE = _sign(_claims()).split(".")
BAD_TOKENS["tampered payload"] = f"{_HEADER}.{_b64(_claims(role='admin'))}.{_SIGNATURE}"


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_rejected_tokens(case: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify_access(KEY, BAD_TOKENS[case], now=NOW)


async def test_rejected_tokens_get_401_problem_with_challenge(api: Api) -> None:
    for case, token in BAD_TOKENS.items():
        resp = await api.client.get("/api/v1/users/me",
                                    headers={"Authorization": f"Bearer {token}"})
        body = await resp.json(content_type=None)
        assert resp.status == 401, case
        assert resp.content_type == "application/problem+json"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Traceback" not in json.dumps(body) and "alg" not in body.get("detail", "")


async def test_missing_or_malformed_authorization_header(api: Api) -> None:
    for header in ("", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc"):
        resp = await api.client.get("/api/v1/users/me", headers={"Authorization": header})
        assert resp.status == 401, header


async def test_token_expires_on_the_injected_clock(api: Api) -> None:
    token = api.token_for(api.ids["user"], Role.USER, ttl_s=60)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/api/v1/users/me", headers=headers)).status == 200
    api.clock.advance(60)
    assert (await api.client.get("/api/v1/users/me", headers=headers)).status == 401


def test_refresh_tokens_are_opaque_and_stored_hashed() -> None:
    a, b = tokens.new_refresh_token(), tokens.new_refresh_token()
    assert a != b and len(a) >= 40
    assert tokens.refresh_hash(a) == tokens.refresh_hash(a) != tokens.refresh_hash(b)
    assert len(tokens.refresh_hash(a)) == 32


def test_claims_reach_past_the_clock_only_through_now() -> None:
    token, _ = tokens.issue_access(KEY, "u1", Role.USER, now=NOW, ttl_s=60, jti="j")
    tokens.verify_access(KEY, token, now=NOW + timedelta(seconds=59))
    with pytest.raises(InvalidToken):
        tokens.verify_access(KEY, token, now=NOW + timedelta(seconds=60))
