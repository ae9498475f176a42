"""What every protocol shares: errors, roles, limits, JSON I/O and the model/converter/schema machinery."""

from ccproto.core.errors import (
    ConnectionLostError,
    DecodeError,
    DuplicateCorrelationIdError,
    InvalidTransitionError,
    LimitExceededError,
    LocalProtocolError,
    ProtocolError,
    ProtocolWarning,
    RemoteProtocolError,
    SchemaViolationError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
    UnknownMessageError,
)
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role, RoleName
from ccproto.core.timing import UntimedWarning

__all__ = [
    "DEFAULT_LIMITS",
    "ConnectionLostError",
    "DecodeError",
    "DuplicateCorrelationIdError",
    "InvalidTransitionError",
    "LimitExceededError",
    "Limits",
    "LocalProtocolError",
    "ProtocolError",
    "ProtocolWarning",
    "RemoteProtocolError",
    "Role",
    "RoleName",
    "SchemaViolationError",
    "UnexpectedMessageError",
    "UnknownCorrelationIdError",
    "UnknownMessageError",
    "UntimedWarning",
]
