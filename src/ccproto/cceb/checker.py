"""Checking CCEB connections: schema, each connection's rules, and long-lived sessions across connections.

Across the connections of one capture, a hello that gives a ``session_key``
seen earlier in the capture must be resumed (same key, ``resumed: true``) when
the session's last connection ended at most 72 hours before (by ``ts``: its
close record, or else its last record, which it ended no earlier than), and
must get a new session and key after its close record is 72 hours old.  A key the capture never issued
cannot be judged (its session may predate the capture).  Keys are held only as
digests and never appear in a finding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ccproto.cceb import codec, states
from ccproto.cceb.connection import CcebConnection
from ccproto.cceb.models import (
    REGISTRY,
    Ack,
    Action,
    CcebMessage,
    Hello,
    HelloReply,
    OffHook,
    PhoneValidation,
    Registry,
)
from ccproto.cceb.quirks import SESSION_LIFETIME
from ccproto.cceb.sessions import is_resumable, key_digest
from ccproto.core.checker import AddFinding, MessageChecker, Start, describe
from ccproto.core.decoding import Decoded
from ccproto.core.errors import ProtocolError
from ccproto.core.findings import Finding, Kind, Severity
from ccproto.core.jsonio import loads_fast, parse_object
from ccproto.core.limits import Limits
from ccproto.core.model import Model
from ccproto.core.record import Record
from ccproto.core.roles import Role

__all__ = [
    "MAX_TRACKED_SESSIONS",
    "SESSION_EXPIRED_RESUMED",
    "SESSION_NOT_RESUMED",
    "CcebConnectionChecker",
    "CcebSessionShadow",
    "connection_label",
    "opens_connection",
]

#: Finding code: a session resumed although its last connection ended more than 72 h before.
SESSION_EXPIRED_RESUMED = "session-expired-resumed"
#: Finding code: a new session was created although the key's session was still resumable.
SESSION_NOT_RESUMED = "session-not-resumed"


#: Most sessions the validator remembers across connections (the oldest are forgotten first; a key
#: forgotten is judged like one issued before the capture began: not at all).
MAX_TRACKED_SESSIONS = 100_000


@attrs.define
class _Issued:
    """Where a session key was last in use."""

    conn: str
    record: int
    #: Once its connection finished: (ts, record) of its first close record or else its last record.
    ended: tuple[float, int] | None = None
    #: Whether ``ended`` is a close record (only a real disconnection time can prove a session expired).
    closed: bool = False


@attrs.define
class _CaptureSessions:
    """What the CCEB connections of one capture share."""

    #: Digest of a key -> where it was last issued or resumed.
    keys: dict[bytes, _Issued] = attrs.Factory(dict)
    #: conn -> (ts, record number) of its latest record with a time (it disconnected no earlier).
    last_seen: dict[str, tuple[float, int]] = attrs.Factory(dict)
    #: conn -> (ts, record number) of its first close record: when it really disconnected.
    closed: dict[str, tuple[float, int]] = attrs.Factory(dict)


def opens_connection(value: dict[str, Any], sender: Role) -> bool:
    """Whether a message (its JSON value) can be a CCEB connection's first: only the client's hello."""
    return sender is Role.CLIENT and value.get("type") == "hello"


class _SessionFeed:
    """What one CCEB connection tells the capture's sessions, and the session findings it earns.

    The connection's checker and, when another shard checks the connection (``--jobs``), its
    :class:`CcebSessionShadow` feed the capture's sessions through this same class, so every shard
    keeps the same sessions.  The session hello is the connection's first hello from the client (if it
    is valid and the capture did not join the connection mid-conversation); every valid ``hello_reply``
    registers its key, and one that answers a session hello with a ``session_key`` is judged.
    """

    def __init__(self, sessions: _CaptureSessions, start: Start) -> None:
        self._sessions = sessions
        self._start = start
        self._placed = False
        self._joined = False
        self._hello_seen = False
        self.hello: Hello | None = None
        self.hello_ts: float | None = None
        self._issued: list[bytes] = []  # digests of the keys this connection was given

    def closed(self, record: Record) -> None:
        """A close record of the connection."""
        if record.ts is not None:
            self._sessions.closed.setdefault(record.conn, (record.ts, record.number))

    @property
    def placed(self) -> bool:
        """Whether the connection's first message was seen (and the connection read as joined or not)."""
        return self._placed

    def message(self, record: Record, value: dict[str, Any], registry: Registry) -> None:
        """A record of the connection whose message parsed as a JSON object (before it is decoded)."""
        if not self._placed:
            self._placed = True
            self._joined = self._start is not Start.OPENED and not opens_connection(value, record.sender)
        if record.sender is Role.CLIENT and not self._hello_seen and value.get("type") == "hello":
            self._hello_seen = True
            if not self._joined:
                try:
                    hello = codec.decode_value(value, registry=registry).message
                except ProtocolError:
                    return
                if isinstance(hello, Hello):
                    self.hello, self.hello_ts = hello, record.ts

    def seen(self, record: Record) -> None:
        """Any record of the connection, last: its time is the connection's latest."""
        if record.ts is not None:
            self._sessions.last_seen[record.conn] = (record.ts, record.number)

    def reply(self, reply: HelloReply, record: Record) -> list[tuple[str, str, str, tuple[int, ...]]]:
        """Apply the cross-connection session rules to a valid ``hello_reply``: ``(code, pointer, detail, related)``."""
        found: list[tuple[str, str, str, tuple[int, ...]]] = []
        hello = self.hello
        if hello is not None and hello.session_key is not None and self.hello_ts is not None:
            issued = self._sessions.keys.get(key_digest(hello.session_key))
            closed: tuple[float, int] | None = None
            last: tuple[float, int] | None = None
            if issued is not None and issued.ended is not None:
                last, closed = issued.ended, (issued.ended if issued.closed else None)
            elif issued is not None:
                closed = self._sessions.closed.get(issued.conn)
                last = closed or self._sessions.last_seen.get(issued.conn)
            if issued is not None and last is not None and (issued.conn != record.conn or issued.ended):
                # Without a close record the old connection ended at its last record or later: that can prove a
                # session still valid, never one expired.
                disconnected_at, last_record = last
                after = _duration(self.hello_ts - disconnected_at)
                resumable = is_resumable(disconnected_at, self.hello_ts)
                related = tuple(dict.fromkeys((issued.record, last_record)))
                if reply.resumed and not resumable and closed is not None:
                    found.append((SESSION_EXPIRED_RESUMED, "/data/resumed",
                                  f"session resumed {after} after its connection {issued.conn!r} ended "
                                  f"(sessions expire {SESSION_LIFETIME / 3600:g} h after disconnection)", related))
                elif not reply.resumed and resumable:
                    found.append((SESSION_NOT_RESUMED, "/data/resumed",
                                  f"the key's session was still valid ({after} after its connection {issued.conn!r} "
                                  f"ended, under {SESSION_LIFETIME / 3600:g} h) but was not resumed", related))
        if reply.session_key is not None:
            digest = key_digest(reply.session_key)
            keys = self._sessions.keys
            keys.pop(digest, None)  # re-inserted last: the oldest sessions are forgotten first
            keys[digest] = _Issued(conn=record.conn, record=record.number)
            self._issued.append(digest)
            if len(keys) > MAX_TRACKED_SESSIONS:
                del keys[next(iter(keys))]
        return found

    def finish(self, conn: str) -> None:
        """The connection ended: its times move into its sessions' entries (nothing is kept per connection)."""
        closed = self._sessions.closed.pop(conn, None)
        last = self._sessions.last_seen.pop(conn, None)
        for digest in self._issued:
            issued = self._sessions.keys.get(digest)
            if issued is not None and issued.conn == conn and issued.ended is None:
                issued.ended, issued.closed = closed or last, closed is not None


class CcebSessionShadow:
    """Follows a CCEB connection another shard checks, so this shard's capture sessions stay the same.

    Made by the validator for ``--jobs`` on one capture: it reads only what the session rules need (the
    hello and hello_reply messages, times, closes) and reports nothing.
    """

    def __init__(self, conn: str, *, start: Start, limits: Limits, capture: dict[str, Any],
                 registry: Registry | None = None) -> None:
        self._limits = limits
        self._registry = registry if registry is not None else REGISTRY
        sessions: _CaptureSessions = capture.setdefault("cceb", _CaptureSessions())
        self._conn = conn
        self._feed = _SessionFeed(sessions, start)

    def check(self, record: Record) -> None:
        """Follow one record."""
        if record.close is not None:
            self._feed.closed(record)
        elif record.open is None:
            value = record.message if record.raw is None else loads_fast(record.raw, self._limits)
            if value.__class__ is dict and value.get("type") not in _SESSION_TYPES and self._feed.placed:
                value = None  # neither hello nor hello_reply: nothing for the sessions (and no need to parse)
            else:
                value = _parsed(record, self._limits)
            if value is not None:
                self._feed.message(record, value, self._registry)
                if value.get("type") == "hello_reply":
                    try:
                        reply = codec.decode_value(value, registry=self._registry).message
                    except ProtocolError:
                        reply = None
                    if isinstance(reply, HelloReply):
                        self._feed.reply(reply, record)
        self._feed.seen(record)

    def finish(self) -> None:
        """The connection ended."""
        self._feed.finish(self._conn)


#: The messages the capture's sessions learn from.
_SESSION_TYPES = frozenset({"hello", "hello_reply"})


def _parsed(record: Record, limits: Limits) -> dict[str, Any] | None:
    """A record's message as the standard parser reads it, if it is a JSON object."""
    try:
        value = parse_object(record.raw, limits=limits) if record.raw is not None else record.exact_message()
    except ProtocolError:
        return None
    return value if isinstance(value, dict) else None


def connection_label(state: states.ConnectionState, sender: Role, input_: states.Input,
                     target: states.ConnectionState) -> str:
    """The coverage label of a connection-table transition."""
    party = "client" if sender is Role.CLIENT else "cceb"
    return f"{state.name} --{party}: {input_.value}--> {target.name}"


def _phase_label(name: str, phase: Any, notified: Any, target: Any) -> str:
    return f"{name} {phase.name} --{notified.value}--> {target.name}"


def _duration(seconds: float) -> str:
    """``72 h 0 min 1 s``: exact enough to show which side of the limit a time is."""
    whole = int(seconds)
    text = f"{whole // 3600} h {whole % 3600 // 60} min {whole % 60} s"
    return text if whole == seconds else f"{text} (+{seconds - whole:.3f} s)"


class CcebConnectionChecker(MessageChecker):
    """Feeds one connection's records through the codec and a non-sticky ``CcebConnection``.

    ``capture`` is shared by the checkers of one capture: it carries the session
    keys issued so far, for the cross-connection session rules.
    """

    protocol = "cceb"
    # (a lambda, not a partial: a partial with keywords builds a dict per call)
    compiled = staticmethod(lambda value: codec.decode_compiled(value, REGISTRY, False))

    def __init__(
        self, *, limits: Limits, strict: bool, registry: Registry | None = None, capture: dict[str, Any] | None = None
    ) -> None:
        super().__init__(limits=limits, strict=strict, capture=capture)
        self._registry = registry if registry is not None else REGISTRY
        self._connection = CcebConnection(Role.SERVER, registry=self._registry, limits=limits, sticky_errors=False)
        self._sessions: _CaptureSessions = self._capture.setdefault("cceb", _CaptureSessions())
        self._feed = _SessionFeed(self._sessions, Start.OPENED)
        self._declare_coverage()

    def begin(self, start: Start, *, partial: bool = False, history_until: float | None = None) -> None:
        """Say where the connection's first record stands (see :class:`MessageChecker`)."""
        super().begin(start, partial=partial, history_until=history_until)
        self._feed = _SessionFeed(self._sessions, start)

    def _opens(self, value: dict[str, Any], sender: Role) -> bool:
        return opens_connection(value, sender)

    def _join(self) -> None:
        super()._join()
        self._connection.join(history_until=self._history_until)

    @staticmethod
    def _what(value: dict[str, Any]) -> str:
        kind = value.get("type")
        return f"a {kind!r} message" if isinstance(kind, str) and len(kind) <= 40 else "a message"

    def universe(self) -> Mapping[str, Sequence[str]]:
        """Every message type, action, connection transition and notification phase transition."""
        return {
            "message types": [*(str(cls.TYPE) for cls in (Hello, HelloReply, Action, Ack)),
                              *self._registry.notification_types()],
            "actions": list(self._registry.actions()),
            "transitions": [
                connection_label(*key, target) for key, (_, target) in states.CONNECTION_TRANSITIONS.items()
            ],
            "phone validation": [
                _phase_label("phone_validation", *key, target)
                for key, target in states.PHONE_VALIDATION_TRANSITIONS.items()
            ],
            "off hook": [
                _phase_label("off_hook", *key, target) for key, target in states.OFF_HOOK_TRANSITIONS.items()
            ],
        }

    def check(self, record: Record) -> list[Finding]:
        """Findings for one record (and note its time as the connection's latest)."""
        findings = super().check(record)
        self._feed.seen(record)
        return findings

    _wants_values = True

    def _message_parsed(self, value: dict[str, Any], record: Record) -> None:
        self._feed.message(record, value, self._registry)

    def _deadline(self) -> float | None:
        return self._connection.get_timer()

    def _decode(self, value: dict[str, Any]) -> Decoded[CcebMessage]:
        return codec.decode_value(value, registry=self._registry)

    def _decode_fast(self, value: dict[str, Any]) -> Decoded[CcebMessage] | None:
        return codec.decode_fast(value, registry=self._registry)

    def _schema_finding(self, value: dict[str, Any], pointer: str, detail: str) -> tuple[str, str]:
        named = codec.reserved_field_error(pointer, local=False) if value.get("type") == "action" else None
        return (named.code, describe(named)) if named is not None else super()._schema_finding(value, pointer, detail)

    def _schema_class(self, value: dict[str, Any]) -> type[Model]:
        return codec.message_class_for(value, self._registry)

    def _invalid(self, value: dict[str, Any], record: Record) -> None:
        # An action the CCEB must refuse: acking it is an error of its own.
        self._connection.observe_invalid(value, record.sender, now=record.ts, tag=record.number)

    def _closed(self, record: Record, add: AddFinding) -> None:
        code, reason = record.close or (None, "")
        self._feed.closed(record)
        state = self._connection.state
        try:
            self._connection.observe_close(record.sender, code=code, reason=reason, now=record.ts, tag=record.number)
            if (state, record.sender, states.Input.CLOSE) in states.CONNECTION_TRANSITIONS:
                self._cover("transitions", connection_label(state, record.sender, states.Input.CLOSE,
                                                            self._connection.state))
        except ProtocolError as exc:
            add(Severity.ERROR, Kind.SEQUENCE, exc.code, exc.pointer, describe(exc))

    def _observe(self, decoded: Decoded[Any], record: Record, add: AddFinding) -> None:
        message: CcebMessage = decoded.message
        related: Any = None
        if isinstance(message, Ack):
            owner = record.sender.peer
            related = self._connection.in_flight_tag(owner, message.uuid)
            if related is None and owner is Role.CLIENT:
                related = self._connection.refused_action_tag(message.uuid)
            settled = self._connection.settled_tags(owner, message.uuid) if related is None else None
            if settled is not None:
                related = tuple(tag for tag in settled if isinstance(tag, int))  # the message and its first ack
        elif isinstance(message, HelloReply):
            if self._connection.pending_hello is not None:
                related = self._connection.pending_hello.tag
        else:
            related = self._connection.in_flight_tag(record.sender, message.uuid)  # a uuid reused too early
        before = (self._connection.state, self._connection.phone_validation, self._connection.off_hook)
        accepted = True
        try:
            self._connection.observe(message, record.sender, now=record.ts, tag=record.number)
        except ProtocolError as exc:
            accepted = False
            add(Severity.ERROR, Kind.SEQUENCE, exc.code, exc.pointer, describe(exc),
                related if isinstance(related, tuple) else (related,) if isinstance(related, int) else ())
        if isinstance(message, HelloReply):
            for code, pointer, detail, found_related in self._feed.reply(message, record):
                accepted = False
                add(Severity.ERROR, Kind.SEQUENCE, code, pointer, detail, found_related)
        if accepted and self._coverage is not None:
            self._cover_message(message, record.sender, before)  # a record with an error exercises nothing

    def _cover_message(self, message: CcebMessage, sender: Role, before: tuple[Any, Any, Any]) -> None:
        state, phone_validation, off_hook = before
        self._cover("message types", message.message_type)
        input_ = states.input_of(message)
        if (state, sender, input_) in states.CONNECTION_TRANSITIONS:  # not the joined reading's rows
            self._cover("transitions", connection_label(state, sender, input_, self._connection.state))
        if isinstance(message, Action):
            self._cover("actions", message.action)
        elif isinstance(message, PhoneValidation):
            if phone_validation is not states.PhoneValidationPhase.UNKNOWN:  # not the joined reading's rows
                self._cover("phone validation", _phase_label(
                    "phone_validation", phone_validation, message.state, self._connection.phone_validation
                ))
        elif isinstance(message, OffHook):
            self._cover("off hook", _phase_label("off_hook", off_hook, message.state, self._connection.off_hook))

    def _expire(self, now: float) -> list[tuple[Any, str, str]]:
        return [
            (item.tag, "/uuid", f"{item.message_type} from the {item.sender.value}")
            for item in self._connection.handle_timer(now)
        ]

    def finish(self, file: str, conn: str, last_record: int, *, ended: str = "the capture ended") -> list[Finding]:
        """Warnings for what was never answered before the connection's part of the capture ended.

        The connection's times move into its sessions' entries, so nothing is kept per finished connection.
        """
        self._feed.finish(conn)
        return self._unanswered(file, conn, last_record, [
            (item.tag, "/uuid", f"{item.message_type} from the {item.sender.value}")
            for item in self._connection.in_flight()
        ], ended)
