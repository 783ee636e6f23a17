"""Account hygiene (issue #13): look-alike emails and weak passwords are refused, with the field."""

from __future__ import annotations

import pytest

from sigec_actors.services.accounts import InvalidEmail, normalize_email
from tests.api.harness import Api

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
STRONG = "a long passphrase"


@pytest.mark.parametrize("email", [
    "ana\u200b@example.com",        # zero-width space
    "ana\u200d@example.com",        # zero-width joiner
    "\ufeffana@example.com",        # byte order mark
    "ana\u202e@example.com",        # right-to-left override
    "\uff41na@example.com",         # fullwidth a
    "ana@\uff45xample.com",         # fullwidth e in the domain
    "p\u0430ypal@example.com",      # Cyrillic a among Latin letters
    "ana@ex\u0430mple.com",         # Cyrillic a in the domain
    "\u0430\u0440\u0440\u04cf\u0435@example.com",  # all-Cyrillic look-alike of "apple"
    "ana@xn--80ak6aa92e.com",       # the same look-alike as a punycode domain
])
async def test_register_refuses_look_alike_emails(api: Api, email: str) -> None:
    problem = await api.json("POST", REGISTER, status=422,
                             json={"name": "Ana", "email": email, "password": STRONG})
    assert problem["field"] == "email" and problem["status"] == 422


@pytest.mark.parametrize("email", ["ana@example.com", "Ana.Silva+ev@Example.COM",
                                   "иван@почта.рф", "admin@sigec.local"])
def test_ordinary_emails_are_kept(email: str) -> None:
    normalized = normalize_email(f" {email} ")
    assert normalized.lower() == email.lower()


def test_a_fullwidth_address_is_not_another_account() -> None:
    with pytest.raises(InvalidEmail):
        normalize_email("\uff55ser@example.com")


async def test_login_normalizes_the_email_like_registration(api: Api) -> None:
    await api.json("POST", REGISTER, status=201,
                   json={"name": "Ana", "email": "Ana@Example.com", "password": STRONG})
    await api.json("POST", LOGIN, json={"email": "  ana@EXAMPLE.com ", "password": STRONG})
    problem = await api.json("POST", LOGIN, status=422,
                             json={"email": "\uff41na@example.com", "password": STRONG})
    assert problem["field"] == "email"


@pytest.mark.parametrize(("password", "fragment"), [
    (" " * 10, "whitespace"),
    ("\t \u00a0" * 4, "whitespace"),
    ("Password123!", "too weak"),
    ("aaaaaaaaaaaaaaaa", "too weak"),
    ("qwertyuiop12", "too weak"),
    ("carla@example.com", "too weak"),     # the user's own email
    ("quintanilha2024", "too weak"),       # the user's own name (strong for anyone else)
])
async def test_register_refuses_weak_passwords(api: Api, password: str, fragment: str) -> None:
    resp = await api.call("POST", REGISTER, json={
        "name": "Carla Quintanilha", "email": "carla@example.com", "password": password})
    problem = await resp.json(content_type=None)
    assert resp.status == 422 and problem["field"] == "password", problem
    assert fragment in problem["detail"]


async def test_weak_password_problem_carries_zxcvbn_feedback(api: Api) -> None:
    problem = await api.json("POST", REGISTER, status=422, json={
        "name": "Dan", "email": "dan@example.com", "password": "Password123!"})
    assert "strength 1 of 4" in problem["detail"] and problem["suggestions"]
