"""Test helpers shipped with the package: fake clock, in-memory ports, deterministic runners.

Each area keeps its fakes in a submodule and re-exports them here.
"""
