"""Every thespian listener binds cluster.bind: patches thespian's all-interfaces bind of its ports.

thespian 4.0.1 (thespian/system/transport/IPBase.py, IPActorAddress.__init__) sets
`bindname = ('', port)` for every "external" address, and every actor's, the admin's and the
external client's TCP address is external: each listens on 0.0.0.0 whatever
THESPIAN_BASE_IPADDR says, and unpickles what arrives there. `apply()` wraps that constructor
so an address binds the address it exports (THESPIAN_BASE_IPADDR, set by `use_address`).

The package's __init__ applies it, so any process that imports sigec_actors.cluster is
patched before it creates an ActorSystem; thespian's admin, logger, director and NodeHost
processes are forked from such a process (we pin "Process Startup Method" to fork) and
inherit the patched class before they open a socket.
"""

from __future__ import annotations

import os
from typing import Any

from thespian.system.transport import IPBase

BASE_ADDRESS_ENV = "THESPIAN_BASE_IPADDR"
"""thespian's own variable: the address its TCP addresses export (and now bind)."""

_thespian_init = IPBase.IPActorAddress.__init__


def _init_bound_to_exported(self: Any, *args: Any, **kwargs: Any) -> None:
    _thespian_init(self, *args, **kwargs)
    self.bindname = self.sockname


def apply() -> None:
    """Make every thespian IP address bind the address it exports, never ''. Idempotent."""
    IPBase.IPActorAddress.__init__ = _init_bound_to_exported


def applied() -> bool:
    return bool(IPBase.IPActorAddress.__init__ is _init_bound_to_exported)


def use_address(address: str) -> None:
    """thespian in this process (and the processes it forks) exports and binds `address`."""
    apply()
    os.environ[BASE_ADDRESS_ENV] = address
    IPBase.thisSystem.add_local_addr(address)  # read from the environment only at import
