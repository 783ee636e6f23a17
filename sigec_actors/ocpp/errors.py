"""OCPP-J RPC error codes and the typed errors that carry a CALLERROR's data."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from sigec_actors.errors import SigecError

UNREADABLE_ID = "-1"
"""Message id of a CALLERROR answering a frame whose id cannot be read (Part 4 §4.2.3)."""

MAX_MESSAGE_ID = 36
"""Message ids are string[36] (Part 4 §4.1.4)."""

MAX_DESCRIPTION = 255
"""errorDescription is at most 255 characters; longer text is truncated on encode."""


class MessageType(enum.IntEnum):
    """OCPP-J MessageTypeId values known to OCPP 2.0.1."""

    CALL = 2
    CALL_RESULT = 3
    CALL_ERROR = 4


class ErrorCode(enum.StrEnum):
    """The twelve OCPP 2.0.1 RPC framework error codes (Part 4 §4.3)."""

    FORMAT_VIOLATION = "FormatViolation"
    GENERIC_ERROR = "GenericError"
    INTERNAL_ERROR = "InternalError"
    MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"
    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    PROTOCOL_ERROR = "ProtocolError"
    RPC_FRAMEWORK_ERROR = "RpcFrameworkError"
    SECURITY_ERROR = "SecurityError"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"


class PayloadError(SigecError):
    """A payload that does not conform to its schema.

    `code` is the CALLERROR code that answers it, `path` the JSON path of the offending value
    (`$` for the payload itself) and `description` the human-readable reason.
    """

    def __init__(self, code: ErrorCode, description: str, path: str = "$") -> None:
        self.code = code
        self.description = description
        self.path = path
        super().__init__(f"{code}: {description}")

    def __repr__(self) -> str:
        return f"PayloadError({self.code!s}, {self.description!r}, path={self.path!r})"


class FrameError(SigecError):
    """An inbound frame that cannot be processed, with the CALLERROR that answers it.

    `message_type` is the frame's MessageTypeId when it could be read. Only CALLs and
    unclassifiable frames are answered (`reply`); a broken CALLRESULT or CALLERROR is logged,
    never answered (OCPP-J 2.0.1), but its `message_id` still lets the caller fail the pending CALL.
    """

    def __init__(
        self,
        message_id: str,
        code: ErrorCode,
        description: str,
        details: Mapping[str, Any] | None = None,
        *,
        message_type: MessageType | None = None,
    ) -> None:
        self.message_id = message_id
        self.code = code
        self.description = description[:MAX_DESCRIPTION]
        self.details: Mapping[str, Any] = dict(details or {})
        self.message_type = message_type
        super().__init__(f"{code} for message {message_id!r}: {self.description}")

    @property
    def reply(self) -> bool:
        """True when a CALLERROR must be sent back for this frame."""
        return self.message_type not in (MessageType.CALL_RESULT, MessageType.CALL_ERROR)

    def __repr__(self) -> str:
        return (
            f"FrameError({self.message_id!r}, {self.code!s}, {self.description!r}, "
            f"message_type={self.message_type!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrameError):
            return NotImplemented
        mine = (self.message_id, self.code, self.description, self.details, self.message_type)
        return mine == (
            other.message_id, other.code, other.description, other.details, other.message_type
        )

    def __hash__(self) -> int:
        return hash((self.message_id, self.code, self.description, self.message_type))
