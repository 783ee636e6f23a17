"""The EXI codec port and its adapter on the EXIficient jar (EXICodec.jar from the PyPI package
iso15118, installed by `make exi-codec`): a Java child process speaking JSON lines
(ExiServer.java beside this file), started on first use, one request at a time (a request may
carry several operations: `encode_many`), each bounded by a timeout, stopped by `close`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import structlog

log = structlog.get_logger("pki.exi")

ISO2_MSG_DEF = "urn:iso:15118:2:2013:MsgDef"
XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"
SERVER = Path(__file__).with_name("ExiServer.java")
MAX_LINE = 1 << 20  # one answer line: certificate chains are a few KiB


def default_jar() -> Path:
    """Where `make exi-codec` puts the jar: inside the running virtual environment."""
    return Path(sys.prefix) / "share" / "sigec-exi" / "EXICodec.jar"


class ExiError(Exception):
    """The codec refused a message (not EXI, not valid for the schema, ...)."""


class ExiUnavailable(ExiError):
    """The codec cannot run here (no Java, no jar, the process died); says how to fix it."""


class ExiCodec(Protocol):
    """Encodes JSON-shaped ISO 15118 messages (or signable fragments) to EXI and back."""

    async def encode(self, message: dict[str, Any], namespace: str) -> bytes: ...

    async def encode_many(self, messages: Sequence[tuple[dict[str, Any], str]]
                          ) -> list[bytes]:
        """`encode` of each (message, namespace), in order, in one round trip."""
        ...

    async def decode(self, exi: bytes, namespace: str) -> dict[str, Any]: ...

    async def close(self) -> None: ...

    async def warm(self) -> None:
        """Be ready for the first call (start what must be started)."""


class JarExiCodec:
    """The EXIficient jar driven through ExiServer.java (Java 11+ runs a source file directly)."""

    def __init__(self, jar: Path | None = None, *, java: str = "java",
                 timeout_s: float = 10.0, start_timeout_s: float = 60.0) -> None:
        self._jar = jar or default_jar()
        self._java = java
        self._timeout = timeout_s
        self._start_timeout = start_timeout_s
        self._process: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Future[asyncio.subprocess.Process] | None = None
        self._unread = 0  # requests sent whose answers nobody read yet (cancelled callers)
        self._lock = asyncio.Lock()
        self._unavailable: str | None = None

    def _missing(self) -> str | None:
        if shutil.which(self._java) is None:
            return f"Java not found ({self._java!r}): install a JDK 11+ (openjdk-17-jdk-headless)"
        if not self._jar.is_file():
            return (f"EXI codec jar not found at {self._jar}: run `make exi-codec` or set "
                    "pki.exi_codec_jar")
        return None

    async def _ready(self) -> asyncio.subprocess.Process:
        """The running process, started if need be. The start runs in its own task, shielded:
        a caller cancelled by its deadline (Java takes seconds to start) leaves it going on for
        the next call."""
        if self._process is not None and self._process.returncode is None:
            return self._process
        reason = self._missing()
        if reason is not None:
            raise self._give_up(reason)
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._spawn())
        return await asyncio.shield(self._starting)

    async def _spawn(self) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            self._java, "-Xss4m", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
            "-cp", str(self._jar), str(SERVER),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, limit=MAX_LINE)
        try:
            ready = await self._read(process, self._start_timeout)
            if not ready.get("ready"):
                raise ExiError(f"unexpected first line {str(ready)[:200]}")
        except ExiError as exc:
            _kill(process)
            raise self._give_up(f"EXI codec did not start: {exc}") from exc
        except BaseException:  # cancelled by close()
            _kill(process)
            raise
        self._process, self._unread = process, 0
        log.info("pki_exi_codec_started", jar=str(self._jar), pid=process.pid)
        return process

    def _give_up(self, reason: str) -> ExiUnavailable:
        if self._unavailable != reason:  # logged once per distinct reason
            self._unavailable = reason
            log.error("pki_exi_codec_unavailable", reason=reason)
        return ExiUnavailable(reason)

    async def _read(self, process: asyncio.subprocess.Process, within_s: float
                    ) -> dict[str, Any]:
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), within_s)
        except TimeoutError as exc:
            raise ExiError(f"no answer within {within_s:g} s") from exc
        except ValueError as exc:  # longer than MAX_LINE
            raise ExiError("answer too long") from exc
        if not line:
            raise ExiError(f"the codec process ended (exit {process.returncode})")
        try:
            answer = json.loads(line)
        except ValueError as exc:
            raise ExiError("malformed answer") from exc
        if not isinstance(answer, dict):
            raise ExiError("malformed answer")
        return answer

    async def _call(self, ops: list[dict[str, str]]) -> list[dict[str, Any]]:
        """One round trip for all of `ops` (one JSON line each way); ExiError for the first op
        the codec refused."""
        async with self._lock:
            process = await self._ready()
            assert process.stdin is not None
            try:
                while self._unread:  # answers to callers that were cancelled meanwhile
                    await self._read(process, self._timeout)
                    self._unread -= 1
                process.stdin.write(json.dumps({"ops": ops}).encode() + b"\n")
                self._unread += 1
                await process.stdin.drain()
                answer = await self._read(process, self._timeout)
                self._unread -= 1
            except (ExiError, OSError) as exc:
                self._abandon()  # out of step with the process: the next call restarts it
                raise ExiUnavailable(f"EXI codec failed: {exc}") from exc
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != len(ops):
            raise ExiError(str(answer.get("error", "malformed answer"))[:500])
        for result in results:
            if not isinstance(result, dict):
                raise ExiError("malformed answer")
            if "error" in result:
                raise ExiError(str(result["error"])[:500])
        return results

    @property
    def running(self) -> bool:
        """Whether the Java process is up and answered that it is ready."""
        return self._process is not None and self._process.returncode is None

    async def warm(self) -> None:
        """Start Java and the codec now (ExiUnavailable when they are missing or fail)."""
        async with self._lock:
            await self._ready()

    async def encode(self, message: dict[str, Any], namespace: str) -> bytes:
        [exi] = await self.encode_many([(message, namespace)])
        return exi

    async def encode_many(self, messages: Sequence[tuple[dict[str, Any], str]]
                          ) -> list[bytes]:
        if not messages:
            return []
        answers = await self._call([{"op": "encode", "ns": namespace,
                                     "json": json.dumps(message)}
                                    for message, namespace in messages])
        encoded = []
        for answer in answers:
            exi = answer.get("exi")
            if not isinstance(exi, str):
                raise ExiError("the codec answered no EXI")
            encoded.append(base64.b64decode(exi))
        return encoded

    async def decode(self, exi: bytes, namespace: str) -> dict[str, Any]:
        [answer] = await self._call([{"op": "decode", "ns": namespace,
                                      "exi": base64.b64encode(exi).decode()}])
        try:
            decoded = json.loads(answer["json"])
        except (KeyError, ValueError) as exc:
            raise ExiError("the codec answered no JSON") from exc
        if not isinstance(decoded, dict):
            raise ExiError("the codec answered no JSON object")
        return decoded

    async def stats(self) -> dict[str, Any]:
        """The Java side's counters: `jaxbContexts`, how many JAXB contexts it has built (one
        per message family while it runs; the jar alone builds one per call)."""
        [answer] = await self._call([{"op": "stats"}])
        return answer

    def _abandon(self) -> None:
        process, self._process, self._unread = self._process, None, 0
        if process is not None:
            _kill(process)

    async def close(self) -> None:
        """Stop the Java process (closing stdin ends it; killed if it lingers) or its start."""
        starting, self._starting = self._starting, None
        if starting is not None and not starting.done():
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
        async with self._lock:
            process, self._process = self._process, None
            if process is None or process.returncode is not None:
                return
            assert process.stdin is not None
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                _kill(process)
                await process.wait()


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill now, without waiting (asyncio reaps the child)."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
