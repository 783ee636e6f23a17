"""Our typed errors as gRPC status codes: the REST status decides (api.problems), then STATUS."""

from __future__ import annotations

import grpc
import pytest

from api.commands import CommandBusy, CommandOffline, CommandRejected, CommandTimeout
from api.error_codes import failure_of
from api.errors import Forbidden, InvalidInput, NotConfigured, NotFound, StartRefused
from api.grpc.calls import STATUS, peer_ip
from sigec_actors.errors import SigecError


@pytest.mark.parametrize(("error", "code"), [
    (NotFound("station", "CP-9"), grpc.StatusCode.NOT_FOUND),
    (Forbidden("user", "operator"), grpc.StatusCode.PERMISSION_DENIED),
    (CommandOffline("CP-9"), grpc.StatusCode.FAILED_PRECONDITION),
    (StartRefused("NoCredit"), grpc.StatusCode.FAILED_PRECONDITION),
    (CommandBusy("CP-9"), grpc.StatusCode.UNAVAILABLE),
    (NotConfigured("station commander"), grpc.StatusCode.UNAVAILABLE),
    (CommandRejected("CP-9", "NotSupported"), grpc.StatusCode.UNAVAILABLE),
    (CommandTimeout("CP-9", 30), grpc.StatusCode.DEADLINE_EXCEEDED),
    (InvalidInput("evseId", "must be >= 1"), grpc.StatusCode.INVALID_ARGUMENT),
])
def test_error_maps_to_status(error: SigecError, code: grpc.StatusCode) -> None:
    failure = failure_of(error)
    assert failure is not None
    assert STATUS[failure.status] is code


def test_a_bug_is_no_failure_but_internal() -> None:
    assert failure_of(SigecError("unmapped")) is None
    assert failure_of(RuntimeError("boom")) is None


@pytest.mark.parametrize(("peer", "ip"), [
    ("ipv4:127.0.0.1:50123", "127.0.0.1"),
    ("ipv6:[::1]:50123", "::1"),
    ("ipv6:[::ffff:127.0.0.1]:50123", "127.0.0.1"),
    ("unix:/tmp/sock", None),
    ("", None),
])
def test_the_callers_address_comes_from_the_grpc_peer(peer: str, ip: str | None) -> None:
    """Station commands sent over gRPC are audited with the client's address, as on REST."""
    assert peer_ip(peer) == ip
