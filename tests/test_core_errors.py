"""The error hierarchy: kinds x sides, stable codes, rendering and attributes."""

from __future__ import annotations

import enum

import pytest

from ccproto.core.errors import (
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
from ccproto.core.roles import Role

KINDS: list[tuple[type[ProtocolError], str]] = [
    (SchemaViolationError, "schema-violation"),
    (UnknownMessageError, "unknown-message"),
    (UnexpectedMessageError, "unexpected-message"),
    (UnknownCorrelationIdError, "unknown-correlation-id"),
    (DuplicateCorrelationIdError, "duplicate-correlation-id"),
    (InvalidTransitionError, "invalid-transition"),
    (LimitExceededError, "limit-exceeded"),
]
KIND_IDS = [kind.__name__ for kind, _ in KINDS]


class ConnState(enum.Enum):
    AWAITING_STATUS = "awaiting-status"
    IN_SERVICE = "in-service"


@pytest.mark.parametrize(("kind", "code"), KINDS, ids=KIND_IDS)
def test_local_subclasses_kind_and_local_side(kind: type[ProtocolError], code: str) -> None:
    local = kind.Local  # type: ignore[attr-defined]
    assert issubclass(local, kind)
    assert issubclass(local, LocalProtocolError)
    assert issubclass(local, ProtocolError)
    assert not issubclass(local, RemoteProtocolError)
    assert local.__qualname__ == f"{kind.__qualname__}.Local"
    assert local.code == code


@pytest.mark.parametrize(("kind", "code"), KINDS, ids=KIND_IDS)
def test_remote_subclasses_kind_and_remote_side(kind: type[ProtocolError], code: str) -> None:
    remote = kind.Remote  # type: ignore[attr-defined]
    assert issubclass(remote, kind)
    assert issubclass(remote, RemoteProtocolError)
    assert issubclass(remote, ProtocolError)
    assert not issubclass(remote, LocalProtocolError)
    assert remote.__qualname__ == f"{kind.__qualname__}.Remote"
    assert remote.code == code


@pytest.mark.parametrize(("kind", "code"), KINDS, ids=KIND_IDS)
def test_sides_are_distinct_and_caught_by_kind_and_side(kind: type[ProtocolError], code: str) -> None:
    assert kind.Local is not kind.Remote  # type: ignore[attr-defined]
    # A kind is not itself a side: only its concrete subclasses are.
    assert not issubclass(kind, LocalProtocolError)
    assert not issubclass(kind, RemoteProtocolError)
    with pytest.raises(kind) as by_kind:
        raise kind.Remote("peer broke it")  # type: ignore[attr-defined]
    assert isinstance(by_kind.value, RemoteProtocolError)
    assert by_kind.value.code == code
    with pytest.raises(LocalProtocolError) as by_side:
        raise kind.Local("we broke it")  # type: ignore[attr-defined]
    assert isinstance(by_side.value, kind)
    assert by_side.value.code == code


@pytest.mark.parametrize(("kind", "code"), KINDS, ids=KIND_IDS)
def test_kind_code_is_stable(kind: type[ProtocolError], code: str) -> None:
    assert kind.code == code
    assert kind("x").code == code


def test_kinds_are_not_related_to_each_other() -> None:
    for kind, _ in KINDS:
        for other, _ in KINDS:
            if other is not kind:
                assert not issubclass(kind.Local, other)  # type: ignore[attr-defined]
                assert not issubclass(kind.Remote, other)  # type: ignore[attr-defined]


def test_decode_error_is_remote() -> None:
    assert issubclass(DecodeError, RemoteProtocolError)
    assert issubclass(DecodeError, ProtocolError)
    assert not issubclass(DecodeError, LocalProtocolError)
    assert DecodeError.code == "decode-error"
    with pytest.raises(RemoteProtocolError):
        raise DecodeError("not JSON")


def test_codes_are_distinct() -> None:
    classes: list[type[ProtocolError]] = [ProtocolError, DecodeError, *(kind for kind, _ in KINDS)]
    codes = [cls.code for cls in classes]
    assert len(set(codes)) == len(codes), codes
    assert ProtocolError.code == "protocol-error"
    assert all(code and code == code.strip() for code in codes)


def test_code_override_is_per_instance() -> None:
    error = LimitExceededError.Remote("too big", code="frame-too-large")
    assert error.code == "frame-too-large"
    # The class code and other instances are unaffected.
    assert LimitExceededError.code == "limit-exceeded"
    assert LimitExceededError.Remote.code == "limit-exceeded"
    assert LimitExceededError.Remote("other").code == "limit-exceeded"
    assert DecodeError("x", code="bad-utf8").code == "bad-utf8"
    assert DecodeError.code == "decode-error"


def test_attributes_are_kept() -> None:
    message = {"header": {"requestId": "r1"}, "body": {"agentPassword": "***"}}
    error = UnexpectedMessageError.Remote(
        "request not allowed now",
        message=message,
        role=Role.SERVER,
        state=ConnState.AWAITING_STATUS,
        pointer="/header/name",
        hint="reply with a FAILURE response",
    )
    assert error.detail == "request not allowed now"
    assert error.args == ("request not allowed now",)
    assert error.message is message
    assert error.role is Role.SERVER
    assert error.state is ConnState.AWAITING_STATUS
    assert error.pointer == "/header/name"
    assert error.hint == "reply with a FAILURE response"
    assert error.code == "unexpected-message"


def test_defaults() -> None:
    error = SchemaViolationError.Local("bad")
    assert error.message is None
    assert error.role is None
    assert error.state is None
    assert error.pointer == ""
    assert error.hint is None
    assert str(error) == "bad"


def test_str_includes_pointer_state_name_and_hint() -> None:
    error = InvalidTransitionError.Remote(
        "status jump", pointer="/body/status", state=ConnState.IN_SERVICE, hint="send cti.serverstatuschanged"
    )
    text = str(error)
    assert text.startswith("status jump")
    assert "/body/status" in text
    assert "IN_SERVICE" in text
    # The state's name, not its value or the enum's repr.
    assert "in-service" not in text
    assert "ConnState" not in text
    assert "send cti.serverstatuschanged" in text
    assert text == "status jump at /body/status in state IN_SERVICE (hint: send cti.serverstatuschanged)"


def test_str_with_state_as_text() -> None:
    error = UnknownMessageError.Remote("no such name", state="CONNECTED")
    assert str(error) == "no such name in state CONNECTED"


def test_str_with_only_pointer() -> None:
    error = SchemaViolationError.Remote("expected string, got integer", pointer="/body/agentId")
    assert str(error) == "expected string, got integer at /body/agentId"


def test_repr_names_class_code_and_pointer() -> None:
    error = DuplicateCorrelationIdError.Remote("reused id", pointer="/header/requestId")
    text = repr(error)
    assert "DuplicateCorrelationIdError.Remote" in text
    assert "duplicate-correlation-id" in text
    assert "/header/requestId" in text


def test_protocol_warning_equality_and_hash() -> None:
    first = ProtocolWarning("quirk", "lower-case GUID", "/header/requestId")
    same = ProtocolWarning("quirk", "lower-case GUID", "/header/requestId")
    assert first == same
    assert hash(first) == hash(same)
    assert len({first, same}) == 1
    assert first != ProtocolWarning("other", "lower-case GUID", "/header/requestId")
    assert first != ProtocolWarning("quirk", "other", "/header/requestId")
    assert first != ProtocolWarning("quirk", "lower-case GUID", "/body")
    assert first != ("quirk", "lower-case GUID", "/header/requestId")
    assert ProtocolWarning("quirk", "x").pointer == ""
    assert "quirk" in repr(first)
    assert "/header/requestId" in repr(first)


def test_protocol_warning_is_not_raised_type() -> None:
    assert not issubclass(ProtocolWarning, BaseException)
