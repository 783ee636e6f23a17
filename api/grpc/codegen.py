"""Generate the gRPC stubs beside api/grpc/proto/sigec.proto (committed; a test checks them).

Run from anywhere: `python -m api.grpc.codegen` (grpcio-tools, a dev dependency).
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO = Path("api/grpc/proto/sigec.proto")
OUTPUTS = ("sigec_pb2.py", "sigec_pb2.pyi", "sigec_pb2_grpc.py")


def generate(out_root: Path) -> list[Path]:
    """Write the stubs under `out_root` (as api/grpc/proto/...); return their paths."""
    from grpc_tools import protoc

    well_known = resources.files("grpc_tools") / "_proto"
    args = ["grpc_tools.protoc", f"-I{ROOT}", f"-I{well_known}", f"--python_out={out_root}",
            f"--pyi_out={out_root}", f"--grpc_python_out={out_root}", str(ROOT / PROTO)]
    (out_root / PROTO.parent).mkdir(parents=True, exist_ok=True)
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {PROTO}")
    return [out_root / PROTO.parent / name for name in OUTPUTS]


def main() -> int:
    for path in generate(ROOT):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
