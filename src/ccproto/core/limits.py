"""Bounds on everything a peer can make us hold in memory, and how strictly JSON text is read."""

from __future__ import annotations

import attrs


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"{attribute.name} must be a positive int, got {value!r}")


@attrs.frozen(kw_only=True)
class Limits:
    """Configured bounds; every connection and reader takes one (defaults are sane).

    Going over a bound raises :class:`~ccproto.core.errors.LimitExceededError`
    (remote when the peer caused it, local when we did); the connection is not
    left holding the excess.
    """

    #: Largest message, in bytes of UTF-8 JSON (a bridge frame's payload).
    max_message_bytes: int = attrs.field(default=1024 * 1024, validator=_positive)
    #: Deepest nesting of JSON arrays and objects in one message.
    max_depth: int = attrs.field(default=64, validator=_positive)
    #: Most requests/queries outstanding on one connection at once.
    max_pending: int = attrs.field(default=1024, validator=_positive)
    #: Most connections the capture validator tracks at once (over it, the one idle longest is no longer
    #: tracked, with a warning), and most names of connections it finished by a bound that it remembers.
    max_connections: int = attrs.field(default=100_000, validator=_positive)
    #: Most long-lived sessions a CCEB :class:`~ccproto.cceb.SessionStore` holds.
    max_sessions: int = attrs.field(default=100_000, validator=_positive)
    #: Accept a key repeated in one JSON object, keeping its last value (as Python's ``json`` does).
    #: Off by default: two parsers may read different messages from such a text.  The CCEB server role
    #: and the capture validator refuse repeated keys whatever this says (docs/security.md).
    allow_duplicate_keys: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    #: Seconds a request may stay unanswered before ``handle_timer`` expires it.
    request_timeout: float = attrs.field(default=30.0)

    @request_timeout.validator
    def _check_timeout(self, attribute: attrs.Attribute[float], value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"request_timeout must be a positive number, got {value!r}")


DEFAULT_LIMITS = Limits()
