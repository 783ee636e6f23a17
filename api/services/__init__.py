"""The services behind the handlers, built once per app from its AppContext."""

from __future__ import annotations

from functools import cached_property
from typing import TypeVar

from aiohttp import web

from api.commands import Commands
from api.context import AppContext
from api.errors import NotConfigured
from api.services.devices import Devices
from api.services.stations import StationAdmin
from sigec_actors.config import AuthConfig
from sigec_actors.services.accounts import PasswordRules
from sigec_actors.services.auth import AuthService, LoginPolicy, RegistrationPolicy
from sigec_actors.services.tokens import TokenKey

T = TypeVar("T")


def need(value: T | None, port: str) -> T:
    """The port, or NotConfigured (503) when the node was started without it."""
    if value is None:
        raise NotConfigured(port)
    return value


class ApiServices:
    """Lazily built services; each asks only for the ports it uses."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @cached_property
    def auth(self) -> AuthService:
        c = self.ctx
        if not c.jwt_secret:
            raise NotConfigured("jwt secret")
        return AuthService(
            need(c.users, "users"), need(c.refresh_tokens, "refresh tokens"),
            need(c.cache, "cache"), need(c.passwords, "passwords"),
            TokenKey.from_secret(c.jwt_secret), access_ttl_s=c.settings.auth.access_ttl_s,
            refresh_ttl_s=c.settings.auth.refresh_ttl_s, clock=c.clock,
            policy=login_policy(c.settings.auth),
            registration=registration_policy(c.settings.auth))

    @cached_property
    def commands(self) -> Commands:
        return Commands(need(self.ctx.stations, "stations"), self.ctx.commander,
                        self.ctx.request_ids)

    @cached_property
    def stations(self) -> StationAdmin:
        c = self.ctx
        return StationAdmin(need(c.stations, "stations"), need(c.passwords, "passwords"),
                            need(c.audit, "audit log"), self.commands)

    @cached_property
    def devices(self) -> Devices:
        return Devices(need(self.ctx.stations, "stations"), self.ctx.live, self.commands)


def login_policy(auth: AuthConfig) -> LoginPolicy:
    return LoginPolicy(source_failures=auth.login_failures_per_source,
                       account_failures=auth.login_failures_per_account,
                       failure_window_s=auth.login_failure_window_s)


def registration_policy(auth: AuthConfig) -> RegistrationPolicy:
    return RegistrationPolicy(per_ip=auth.register_per_ip, window_s=auth.register_window_s,
                              passwords=PasswordRules(auth.min_password_score))


SERVICES = web.AppKey("services", ApiServices)


def services_of(request: web.Request) -> ApiServices:
    return request.app[SERVICES]
