"""What every protocol's connection object shares: blaming the right side, sticky errors, error context."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol, TypeVar

import attrs

from ccproto.core.errors import ProtocolError, UnexpectedMessageError
from ccproto.core.redact import redact
from ccproto.core.roles import Role
from ccproto.core.timing import warn_untimed

__all__ = ["Connection", "ConnectionBase", "EarliestDeadline", "slot_builder"]

_T = TypeVar("_T", bound=attrs.AttrsInstance)

#: ccproto's own directory: a warning skips the frames in it, so that it points at the line that called a
#: connection object (an integrator's), not at ccproto's plumbing ...
_CCPROTO = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
#: ... except in the layers above the protocols, whose calls are a caller's (ccproto.testing's, the CLI's).
_CALLERS = tuple(os.path.join(_CCPROTO, name) for name in ("capture" + os.sep, "testing" + os.sep,
                                                           "transports" + os.sep, "cli.py", "__main__.py"))


def _plumbing(filename: str) -> bool:
    return filename.startswith(_CCPROTO) and not filename.startswith(_CALLERS)


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside the protocol packages, for ``warn_untimed`` to pass on.

    Called from a method of a connection object: level 1 is ``warn_untimed`` itself, 2 that method.
    """
    level = 2
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and _plumbing(frame.f_code.co_filename):
        level, frame = level + 1, frame.f_back
    return level


MessageT = TypeVar("MessageT")


class Connection(Protocol[MessageT]):
    """The contract every connection object meets (``ControlChannel``, ``ProcessorSession``, ``CcebConnection``):
    what a transport (``ccproto.transports.MessageStream``) and the conformance harness use, written once.

    Generic over the protocol's message type: ``ControlChannel`` is a ``Connection[BridgeMessage]``.
    :class:`ConnectionBase` gives every method but the protocol's own.
    """

    def send_text(self, message: MessageT, *, now: float | None = None) -> str:
        """Check a message we are about to send and return its JSON text (one transport message)."""
        ...

    def receive_message(self, data: str | bytes, *, now: float | None = None) -> MessageT:
        """Check a message the peer sent (text or bytes as it crossed) and return it."""
        ...

    def outstanding(self) -> tuple[Any, ...]:
        """Everything still waiting for an answer, oldest first (what a lost connection leaves unanswered)."""
        ...

    def get_timer(self) -> float | None:
        """The earliest deadline of anything outstanding (``None`` if there is none)."""
        ...

    def handle_timer(self, now: float) -> tuple[Any, ...]:
        """Expire (and return) everything outstanding whose deadline is at or before ``now``."""
        ...

    def receive_close(self, code: int | None = None, reason: str = "", *, now: float | None = None) -> Any:
        """The peer closed the transport."""
        ...

    def close(self, code: int | None = None, reason: str = "", *, now: float | None = None) -> Any:
        """We close the transport."""
        ...


class ConnectionBase:
    """Error handling for a sans-I/O connection seen from ``our_role``.

    Errors blame the sender: ``Remote`` kinds when the sender is our peer,
    ``Local`` kinds when it is us.  With ``sticky_errors`` (the default, as in
    h11) the first error is kept in ``error`` and the connection refuses
    everything after it; validators turn that off to keep checking.
    """

    #: The state the connection is in once an error has made it unusable.
    ERROR_STATE: Any = "error"

    def __init__(self, our_role: Role, *, sticky_errors: bool) -> None:
        self.our_role = our_role
        self.sticky_errors = sticky_errors
        #: The error that made the connection unusable, if any.
        self.error: ProtocolError | None = None
        self._warned_untimed = False

    @property
    def their_role(self) -> Role:
        """The peer's role."""
        return self.our_role.peer

    @property
    def current_state(self) -> Any:
        """The state errors are reported in (each protocol names its own)."""
        raise NotImplementedError

    def _enter_error_state(self) -> None:
        raise NotImplementedError

    def _warn_if_untimed(self, now: float | None, what: str | None) -> None:
        """Issue the :class:`~ccproto.core.timing.UntimedWarning` (once per object) when ``what`` got no deadline.

        Called by the public send/receive methods only: passive observers (the validator's ``observe``) are
        never warned, a capture may have no timestamps (core/timing.py).
        """
        if now is not None or what is None or self._warned_untimed:
            return
        self._warned_untimed = True
        warn_untimed(type(self).__name__, what, stacklevel=_caller_stacklevel())

    # -- what a transport needs (``ccproto.transports.MessageStream``), the same for every protocol -----

    def send_text(self, message: Any, *, now: float | None = None) -> str:
        """Check a message we are about to send and return its JSON text (one transport message)."""
        raise NotImplementedError

    def outstanding(self) -> tuple[Any, ...]:
        """Everything still waiting for an answer, oldest first (what a lost connection leaves unanswered)."""
        raise NotImplementedError

    def get_timer(self) -> float | None:
        """The earliest deadline of anything outstanding (``None`` if there is none)."""
        raise NotImplementedError

    def handle_timer(self, now: float) -> tuple[Any, ...]:
        """Expire (and return) everything outstanding whose deadline is at or before ``now``."""
        raise NotImplementedError

    def receive_close(self, code: int | None = None, reason: str = "", *, now: float | None = None) -> Any:
        """The peer closed the transport.  Protocols without a closing rule (bridge, processor) note nothing."""
        return None

    def close(self, code: int | None = None, reason: str = "", *, now: float | None = None) -> Any:
        """We close the transport.  Protocols without a closing rule (bridge, processor) note nothing."""
        return None

    def _blame(self, kind: Any, sender: Role, detail: str, **kwargs: Any) -> ProtocolError:
        """An error of ``kind`` (a class with ``.Local``/``.Remote``) blaming ``sender``."""
        side = kind.Local if sender is self.our_role else kind.Remote
        error: ProtocolError = side(detail, **kwargs)
        return error

    def _fail(
        self, exc: ProtocolError, sender: Role, encode: Callable[[], Any] | None = None, fallback: str = ""
    ) -> ProtocolError:
        """Fill in the error's context (role, state, redacted message) and, if errors are sticky, stop."""
        if exc.role is None:
            exc.role = sender
        if exc.state is None:
            exc.state = self.current_state
        if exc.message is None and encode is not None:
            try:
                exc.message = redact(encode())
            except ProtocolError:
                exc.message = fallback  # a model's repr, which never shows secrets
        if self.sticky_errors:
            self._enter_error_state()
            self.error = exc
        return exc

    def _check_usable(self, sender: Role) -> None:
        """Raise if an earlier error made the connection unusable.

        Per-message callers test ``self.error is not None`` before calling: the call would cost more than the test.
        """
        if self.error is not None:
            kind = UnexpectedMessageError.Local if sender is self.our_role else UnexpectedMessageError.Remote
            raise kind(
                f"the connection failed earlier ({self.error!s}); nothing more can be sent or received",
                role=sender, state=self.ERROR_STATE, code="channel-failed",
            ) from self.error


def slot_builder(cls: type[_T]) -> Callable[..., _T]:
    """A constructor of the frozen, slotted attrs class ``cls`` taking every field positionally, in order.

    It sets the slots through their descriptors, as ``core.compiled`` does for models: a frozen attrs
    ``__init__`` goes through ``object.__setattr__`` for each field, which costs more than the rest of
    observing a message.  The instance is the one ``__init__`` would build (equal, same ``repr``), so only
    classes whose ``__init__`` does nothing else are accepted: no validator, converter or post-init hook,
    and no slot but the fields' (and ``__weakref__``).
    """
    fields = attrs.fields(cls)
    names = [field.name for field in fields]
    slots = [slot for klass in cls.__mro__ for slot in getattr(klass, "__slots__", ())]
    if (
        sorted(slot for slot in slots if slot != "__weakref__") != sorted(names)
        or any(field.validator is not None or field.converter is not None for field in fields)
        or hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__")
    ):
        raise TypeError(f"{cls.__qualname__}: __init__ does more than set its fields")
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def build_{cls.__name__}({', '.join(names)}):", "    obj = _new(_cls)"]
    for index, name in enumerate(names):
        namespace[f"_set{index}"] = getattr(cls, name).__set__
        lines.append(f"    _set{index}(obj, {name})")
    lines.append("    return obj")
    exec(compile("\n".join(lines), f"<ccproto slot builder {cls.__qualname__}>", "exec"), namespace)
    builder: Callable[..., _T] = namespace[f"build_{cls.__name__}"]
    return builder


class EarliestDeadline:
    """The earliest deadline of what a connection has outstanding, kept up to date as items come and go.

    It makes "nothing is due yet" an O(1) answer for ``handle_timer`` (called for every record of a
    capture) instead of a scan of everything outstanding.  ``earliest`` is trusted only while ``known``: it
    is then exactly what ``min()`` over the outstanding deadlines returns, in the order the owner scans them.
    Whatever could make the two differ (removing an item whose deadline may be the earliest, a NaN, a tie
    between values that do not print alike: ``30`` and ``30.0``, ``0.0`` and ``-0.0``) makes it unknown,
    and the owner scans again (:meth:`recompute`), the way it always did.
    """

    __slots__ = ("earliest", "known")

    def __init__(self) -> None:
        self.earliest: float | None = None
        #: Whether ``earliest`` is exact (otherwise the owner must :meth:`recompute` it).
        self.known = True

    def added(self, deadline: float | None) -> None:
        """An item with ``deadline`` was added (after every item already outstanding, in scan order)."""
        if deadline is None or not self.known:
            return
        earliest = self.earliest
        if deadline != deadline:  # NaN: min() then depends on the order it meets it
            self.known = False
        elif earliest is None or deadline < earliest:
            self.earliest = deadline
        elif deadline == earliest and (deadline.__class__ is not earliest.__class__ or not deadline):
            self.known = False  # min() keeps the first of equal values: let the owner's scan pick it

    def removed(self, deadline: float | None, *, empty: bool) -> None:
        """An item with ``deadline`` left; ``empty``: nothing is outstanding any more."""
        if empty:
            self.earliest, self.known = None, True
        elif deadline is not None and self.known and (self.earliest is None or not deadline > self.earliest):
            self.known = False

    def surely_not_due(self, now: float) -> bool:
        """Whether nothing outstanding can be due at ``now`` (``False``: scan to find out)."""
        earliest = self.earliest
        return self.known and (earliest is None or not earliest <= now)

    def recompute(self, deadlines: list[float]) -> float | None:
        """``min(deadlines)`` (the deadlines in the owner's scan order), which becomes the known earliest."""
        earliest = min(deadlines) if deadlines else None
        self.earliest = earliest
        self.known = all(deadline == deadline for deadline in deadlines)
        return earliest
