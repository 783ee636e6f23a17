"""The committed gRPC stubs are what api/grpc/codegen.py makes from the committed .proto."""

from __future__ import annotations

from pathlib import Path

from api.grpc import codegen


def test_committed_stubs_are_current(tmp_path: Path) -> None:
    stale = [path.name for path in codegen.generate(tmp_path)
             if path.read_bytes() != (codegen.ROOT / codegen.PROTO.parent / path.name).read_bytes()]
    assert not stale, f"run python -m api.grpc.codegen and commit: {stale} differ"
