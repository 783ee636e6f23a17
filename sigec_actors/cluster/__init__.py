"""Cluster: thespian director and NodeHosts, the thespian<->asyncio bridge, cross-node routing."""

from sigec_actors.cluster import bind as _bind

_bind.apply()  # before any thespian socket, in every process that loads our actors (see bind.py)
