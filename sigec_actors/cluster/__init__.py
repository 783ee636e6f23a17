"""Cluster: thespian director and NodeHosts, the thespian<->asyncio bridge, cross-node routing."""
