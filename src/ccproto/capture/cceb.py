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

from ccproto.capture.checker import AddFinding, MessageChecker, describe
from ccproto.capture.findings import Finding, Kind, Severity
from ccproto.capture.records import Record
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
from ccproto.core.decoding import Decoded
from ccproto.core.errors import ProtocolError
from ccproto.core.limits import Limits
from ccproto.core.model import Model
from ccproto.core.roles import Role

__all__ = [
    "MAX_TRACKED_SESSIONS",
    "SESSION_EXPIRED_RESUMED",
    "SESSION_NOT_RESUMED",
    "CcebConnectionChecker",
    "connection_label",
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

    def __init__(
        self, *, limits: Limits, strict: bool, registry: Registry | None = None, capture: dict[str, Any] | None = None
    ) -> None:
        super().__init__(limits=limits, strict=strict, capture=capture)
        self._registry = registry if registry is not None else REGISTRY
        self._connection = CcebConnection(Role.SERVER, registry=self._registry, limits=limits, sticky_errors=False)
        self._sessions: _CaptureSessions = self._capture.setdefault("cceb", _CaptureSessions())
        self._hello_ts: float | None = None
        self._issued: list[bytes] = []  # digests of the keys this connection was given
        self._declare_coverage()

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
        if record.ts is not None:
            self._sessions.last_seen[record.conn] = (record.ts, record.number)
        return findings

    def _decode(self, value: dict[str, Any]) -> Decoded[CcebMessage]:
        return codec.decode_value(value, registry=self._registry)

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
        if record.ts is not None:
            self._sessions.closed.setdefault(record.conn, (record.ts, record.number))
        state = self._connection.state
        try:
            self._connection.observe_close(record.sender, code=code, reason=reason, now=record.ts, tag=record.number)
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
        if isinstance(message, Hello):
            self._hello_ts = record.ts
        elif isinstance(message, HelloReply) and self._connection.hello is not None:
            accepted = self._check_session(self._connection.hello, message, record, add) and accepted
        if accepted and self._coverage is not None:
            self._cover_message(message, record.sender, before)  # a record with an error exercises nothing

    def _cover_message(self, message: CcebMessage, sender: Role, before: tuple[Any, Any, Any]) -> None:
        state, phone_validation, off_hook = before
        self._cover("message types", message.message_type)
        self._cover("transitions", connection_label(state, sender, states.input_of(message), self._connection.state))
        if isinstance(message, Action):
            self._cover("actions", message.action)
        elif isinstance(message, PhoneValidation):
            self._cover("phone validation", _phase_label(
                "phone_validation", phone_validation, message.state, self._connection.phone_validation
            ))
        elif isinstance(message, OffHook):
            self._cover("off hook", _phase_label("off_hook", off_hook, message.state, self._connection.off_hook))

    def _check_session(self, hello: Hello, reply: HelloReply, record: Record, add: AddFinding) -> bool:
        """Apply the cross-connection session rules to a reply; whether it kept them."""
        kept = True
        if hello.session_key is not None and self._hello_ts is not None:
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
                after = _duration(self._hello_ts - disconnected_at)
                resumable = is_resumable(disconnected_at, self._hello_ts)
                related = tuple(dict.fromkeys((issued.record, last_record)))
                if reply.resumed and not resumable and closed is not None:
                    kept = False
                    add(Severity.ERROR, Kind.SEQUENCE, SESSION_EXPIRED_RESUMED, "/data/resumed",
                        f"session resumed {after} after its connection {issued.conn!r} ended "
                        f"(sessions expire {SESSION_LIFETIME / 3600:g} h after disconnection)", related)
                elif not reply.resumed and resumable:
                    kept = False
                    add(Severity.ERROR, Kind.SEQUENCE, SESSION_NOT_RESUMED, "/data/resumed",
                        f"the key's session was still valid ({after} after its connection {issued.conn!r} "
                        f"ended, under {SESSION_LIFETIME / 3600:g} h) but was not resumed", related)
        if reply.session_key is not None:
            digest = key_digest(reply.session_key)
            keys = self._sessions.keys
            keys.pop(digest, None)  # re-inserted last: the oldest sessions are forgotten first
            keys[digest] = _Issued(conn=record.conn, record=record.number)
            self._issued.append(digest)
            if len(keys) > MAX_TRACKED_SESSIONS:
                del keys[next(iter(keys))]
        return kept

    def _expire(self, now: float) -> list[tuple[Any, str, str]]:
        return [
            (item.tag, "/uuid", f"{item.message_type} from the {item.sender.value}")
            for item in self._connection.handle_timer(now)
        ]

    def finish(self, file: str, conn: str, last_record: int) -> list[Finding]:
        """Warnings for what was never answered before the capture ended (captures get cut).

        The connection's times move into its sessions' entries, so nothing is kept per finished connection.
        """
        closed = self._sessions.closed.pop(conn, None)
        last = self._sessions.last_seen.pop(conn, None)
        for digest in self._issued:
            issued = self._sessions.keys.get(digest)
            if issued is not None and issued.conn == conn and issued.ended is None:
                issued.ended, issued.closed = closed or last, closed is not None
        return self._unanswered(file, conn, last_record, [
            (item.tag, "/uuid", f"{item.message_type} from the {item.sender.value}")
            for item in self._connection.in_flight()
        ])
