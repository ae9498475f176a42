"""What every protocol's connection object shares: blaming the right side, sticky errors, error context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccproto.core.errors import ProtocolError, UnexpectedMessageError
from ccproto.core.redact import redact
from ccproto.core.roles import Role

__all__ = ["ConnectionBase"]


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
        if self.error is not None:
            kind = UnexpectedMessageError.Local if sender is self.our_role else UnexpectedMessageError.Remote
            raise kind(
                f"the connection failed earlier ({self.error!s}); nothing more can be sent or received",
                role=sender, state=self.ERROR_STATE, code="channel-failed",
            ) from self.error
