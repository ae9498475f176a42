"""The conformance harness's common part: adapters, the recorded capture, and the base state machine.

A system under test (SUT) is reached through an *adapter*: ``send(text)`` hands it
one message, ``receive()`` returns what it sent since the last call.  The harness
plays the other role with ccproto's own connection object, checks every message the
SUT sends with it, and records the conversation as a JSON Lines capture.  When a
check fails it raises :class:`ConformanceFailure`, whose text is the capture
(secrets replaced by stable placeholders) that ``ccproto validate`` reproduces.

Time is virtual: the harness's clock starts at :data:`EPOCH` and moves by small
steps, and by ``Limits.request_timeout`` when it gives up waiting for an answer;
adapters that can move the SUT's clock (``advance``) let the harness test the rules
that depend on time (long-lived CCEB sessions).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from ccproto.capture.recording import Recording
from ccproto.capture.records import Record, read_jsonl
from ccproto.capture.validator import validate_records
from ccproto.core.checker import ANSWER_TIMEOUT
from ccproto.core.connection import Connection
from ccproto.core.errors import ProtocolError
from ccproto.core.findings import Finding, Severity
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.model import Model
from ccproto.core.roles import Role
from ccproto.protocols import KNOWN
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.strategies import Numbers, from_model, simplest

__all__ = [
    "EPOCH",
    "Adapter",
    "AsyncAdapter",
    "BaseAdapter",
    "Capture",
    "ConformanceFailure",
    "ConformanceMachine",
    "PeerAdapter",
    "sync_adapter",
]

#: Where the harness's virtual clock starts (epoch seconds: 2027-01-15, so captures read like real ones).
EPOCH = 1_800_000_000.0
#: How far the virtual clock moves between two messages of the harness.
STEP = 0.25

_M = TypeVar("_M", bound=Model)
#: Rounds of replies ``collect`` reads before deciding the SUT will never stop.
MAX_ROUNDS = 1000
#: Rounds holding only unsolicited messages (events) that ``collect`` reads while the SUT owes an answer, before
#: leaving the answer to later steps (and, at the end, to ``demand_answers``): a streaming SUT never falls silent.
UNSOLICITED_ROUNDS = 40

@runtime_checkable
class Adapter(Protocol):
    """How the harness reaches a system under test: one message at a time, as text.

    Only ``send`` and ``receive`` are required.  The harness also uses, when the
    adapter has them (see :class:`BaseAdapter` for their meaning): ``connect()``,
    ``close()``, ``advance(seconds)``, ``stimulate(name)``, ``stimuli``,
    ``expect(answer)`` and ``linger()``.
    """

    def send(self, text: str) -> None:
        """Deliver one whole message (JSON text) to the system under test."""

    def receive(self) -> list[str]:
        """Every message the system under test sent since the last call, oldest first (may wait a little)."""
        ...


class AsyncAdapter(Protocol):
    """The async variant of :class:`Adapter` (``send`` and ``receive`` are coroutines); see :func:`sync_adapter`."""

    async def send(self, text: str) -> None:
        """Deliver one whole message to the system under test."""

    async def receive(self) -> list[str]:
        """Every message the system under test sent since the last call."""
        ...


class BaseAdapter:
    """An adapter with every optional method; subclass it and implement ``send`` and ``receive``.

    ``connect`` starts a new connection (the harness calls it first, and again to
    reconnect); ``close`` ends it from the harness's side; ``advance`` moves the
    SUT's clock (return ``False`` when it cannot); ``stimulate`` asks the SUT to act
    on its own (what a user or a switch would make it do), with names from ``stimuli``.
    """

    #: Names ``stimulate`` understands (see the role's reference peer for the usual ones).
    stimuli: frozenset[str] = frozenset()
    #: Whether the adapter reaches the system under test through real I/O (a socket, a process): its examples take
    #: real time, so the harness runs them without hypothesis's per-example deadline unless the settings set one.
    live: bool = False

    def connect(self) -> None:
        """Start a new connection to (or from) the system under test."""

    def send(self, text: str) -> None:
        """Deliver one whole message to the system under test."""
        raise NotImplementedError

    def receive(self) -> list[str]:
        """Every message the system under test sent since the last call."""
        raise NotImplementedError

    def close(self) -> None:
        """End the current connection from the harness's side."""

    def advance(self, seconds: float) -> bool:
        """Move the system under test's clock forward; ``False`` if it cannot (time rules are then skipped)."""
        return False

    def stimulate(self, name: str) -> None:
        """Make the system under test do ``name`` on its own initiative."""

    def expect(self, answer: bool) -> None:
        """Whether the harness waits for the system under test to say something before the next ``receive``.

        ``True``: it owes an answer (or opens the conversation), so ``receive`` may wait for it; ``False``: it owes
        nothing, so ``receive`` should only take what already arrived.  An adapter that waits in ``receive``
        (a live one) uses it to wait only when an answer is due; others ignore it.
        """

    def linger(self) -> None:
        """The harness lets a moment pass (its ``listen`` step): a live adapter's next ``receive`` may wait a moment
        for what the system under test sends on its own, even though nothing is due; others ignore it."""


class PeerAdapter(BaseAdapter):
    """Reach a :class:`~ccproto.testing.peers.ReferencePeer` (or any object with its methods) as an adapter.

    The adapter owns the peer's clock: it starts at :data:`EPOCH` and moves only with ``advance``.
    """

    def __init__(self, peer: ReferencePeer, *, now: float = EPOCH) -> None:
        self.peer = peer
        self.now = now
        self.stimuli = frozenset(peer.STIMULI)
        self._outbox: list[str] = []

    def connect(self) -> None:
        """Open a new connection: whatever the peer sends first is queued."""
        self._outbox.extend(self.peer.connect(now=self.now))

    def send(self, text: str) -> None:
        """Hand ``text`` to the peer; its replies are queued."""
        self._outbox.extend(self.peer.receive(text, now=self.now))

    def receive(self) -> list[str]:
        """What the peer sent since the last call."""
        out, self._outbox = self._outbox, []
        return out

    def close(self) -> None:
        """The connection ends; the peer keeps what outlives connections."""
        self._outbox.extend(self.peer.disconnect(now=self.now))

    def advance(self, seconds: float) -> bool:
        """Move the peer's clock."""
        self.now += seconds
        self._outbox.extend(self.peer.advance(now=self.now))
        return True

    def stimulate(self, name: str) -> None:
        """Ask the peer to do ``name``."""
        self._outbox.extend(self.peer.stimulate(name, now=self.now))


def sync_adapter(adapter: AsyncAdapter, run: Callable[[Any], Any]) -> BaseAdapter:
    """Drive an :class:`AsyncAdapter` from the (synchronous) harness with ``run``.

    ``run`` runs one awaitable to completion on the caller's event loop, e.g.
    ``asyncio.Runner().run`` (ccproto never starts an event loop itself).
    Optional methods may be plain or coroutine functions.
    """
    return _SyncAdapter(adapter, run)


class _SyncAdapter(BaseAdapter):
    def __init__(self, adapter: Any, run: Callable[[Any], Any]) -> None:
        self._adapter = adapter
        self._run = run
        self.stimuli = frozenset(getattr(adapter, "stimuli", ()))
        # An adapter whose methods are awaited waits on something real (a socket, a process) unless it says not.
        self.live = bool(getattr(adapter, "live", True))

    def _call(self, name: str, *args: Any, default: Any = None) -> Any:
        method = getattr(self._adapter, name, None)
        if method is None:
            return default
        result = method(*args)
        return self._run(result) if inspect.isawaitable(result) else result

    def connect(self) -> None:
        self._call("connect")

    def send(self, text: str) -> None:
        self._call("send", text)

    def receive(self) -> list[str]:
        return list(self._call("receive", default=[]))

    def close(self) -> None:
        self._call("close")

    def advance(self, seconds: float) -> bool:
        return bool(self._call("advance", seconds, default=False))

    def stimulate(self, name: str) -> None:
        self._call("stimulate", name)

    def expect(self, answer: bool) -> None:
        self._call("expect", answer)

    def linger(self) -> None:
        self._call("linger")


def _call_optional(adapter: Any, name: str, *args: Any, default: Any = None) -> Any:
    method = getattr(adapter, name, None)
    return default if method is None else method(*args)


# -- the recorded capture ---------------------------------------------------------------------


class Capture:
    """The conversation so far, as ``ccproto validate`` records; secrets become stable placeholders.

    Each distinct secret value (a member whose name is a secret's, e.g. ``password``,
    ``token``, ``session_key``) is replaced by ``secret-1``, ``secret-2``, ...
    consistently, so equal secrets stay equal and the capture validates exactly
    as the real conversation did (:class:`ccproto.capture.recording.Recording`).
    """

    def __init__(self, protocol: str, *, name: str = "conformance") -> None:
        self.protocol = protocol
        self.name = name
        self._recording = Recording()
        self.records = self._recording.records

    def conn(self, index: int) -> str:
        """The ``conn`` of the ``index``-th connection."""
        return f"{self.name}-{index}"

    def opened(self, *, conn: str, now: float) -> None:
        """Record that a connection opened (the capture holds it from its start: never read as joined)."""
        self._recording.opened(conn=conn, sender=Role.CLIENT, protocol=self.protocol, now=_microseconds(now))

    def message(self, *, conn: str, sender: Role, now: float, text: str) -> None:
        """Record one message as it crossed (text that is not a JSON object is kept as ``raw``)."""
        self._recording.message(conn=conn, sender=sender, protocol=self.protocol, now=_microseconds(now), text=text)

    def close(self, *, conn: str, sender: Role, now: float, code: int | None = None, reason: str = "") -> None:
        """Record that ``sender`` closed the connection."""
        self._recording.close(conn=conn, sender=sender, protocol=self.protocol, now=_microseconds(now), code=code,
                              reason=reason)

    def jsonl(self) -> str:
        """The capture as JSON Lines (one record a line, ending with a newline)."""
        return self._recording.jsonl()


def _microseconds(now: float) -> float:
    """``now`` rounded to microseconds: the virtual clock adds up binary fractions (0.001 is not one), and a
    capture should read ``1800000000.502``, not ``1800000000.5019999``."""
    return round(now, 6)


class ConformanceFailure(AssertionError):
    """The system under test broke the protocol; ``str()`` tells what and gives the capture to replay it.

    ``code`` and ``record`` are the rule and the record ``ccproto validate`` names on the capture (one judge:
    the harness reports what the validator reports), or the harness's own when the validator has nothing to say
    (e.g. ``kept-sending``).
    """

    def __init__(
        self, reason: str, *, protocol: str, role: Role, capture: str, error: ProtocolError | None = None,
        code: str = "protocol-error", record: int | None = None,
    ) -> None:
        super().__init__(reason)
        #: What went wrong (never contains a secret).
        self.reason = reason
        self.protocol = protocol
        #: The role of the system under test.
        self.role = role
        #: The conversation as a JSON Lines capture (secrets replaced), ending with the offending record.
        self.capture = capture
        #: The protocol error the harness's connection raised, if that is how the failure was found.
        self.error = error
        #: The rule broken, as ``ccproto validate`` names it (its finding code).
        self.code = code
        #: The record of ``capture`` that breaks it (1-based, as ``ccproto validate`` numbers them).
        self.record = record

    def __str__(self) -> str:
        where = f", record {self.record}" if self.record is not None else ""
        return (
            f"the {self.protocol} {self.role.value} under test broke the protocol: {self.reason}"
            f" [{self.code}{where}]\n"
            f"Replay: save the {_lines(self.capture)} below as capture.jsonl and run"
            f" `ccproto validate capture.jsonl`\n{self.capture}"
        )


def _verdict(capture: str, sut_role: Role) -> tuple[Finding | None, int]:
    """:func:`judge`'s finding, and how many errors the validator reports on ``capture`` in all."""
    lines = capture.splitlines(keepends=True) if capture else []
    if not lines:
        return None, 0
    records = list(read_jsonl(lines, file="capture"))
    report = validate_records(iter(records))
    errors = [finding for finding in report.findings if finding.severity is Severity.ERROR]
    if not errors:
        return None, 0
    last = len(records)
    on_last = [finding for finding in errors if finding.record == last]
    if on_last:
        return on_last[0], len(errors)
    by_sut = {item.number for item in records if isinstance(item, Record) and item.sender is sut_role}
    # A request the SUT never answered is blamed on the request's record (the harness's), yet is the SUT's fault.
    blamed = [finding for finding in errors if finding.record in by_sut or finding.code == ANSWER_TIMEOUT]
    return (max(blamed, key=lambda finding: finding.record) if blamed else None), len(errors)


def judge(capture: str, sut_role: Role) -> Finding | None:
    """What ``ccproto validate`` blames on the system under test in ``capture``: its most specific error.

    An error on the last record (where the harness stopped) first; else the latest error on a record the SUT
    sent, or an answer that never came; ``None`` when the validator finds no fault of the SUT (the harness's own
    rules, e.g. a SUT that never stops sending).  Other errors on what the harness sent (invalid on purpose)
    are not the SUT's.
    """
    return _verdict(capture, sut_role)[0]


def without_unsolicited(failure: ConformanceFailure, unsolicited: tuple[type, ...]) -> ConformanceFailure:
    """``failure`` with the SUT's unsolicited messages (events, notifications) taken out of its capture wherever
    ``ccproto validate`` still names the same rule and finds no more errors.

    Shrinking cannot remove what the SUT sends on its own (a stream of events), so a shrunk conversation may
    still hold dozens of them; the validator, the one judge, decides which the failure does not need.  The
    rule's record is renumbered accordingly.
    """
    if not unsolicited or failure.record is None:
        return failure
    lines = failure.capture.splitlines(keepends=True)
    target, errors = _verdict(failure.capture, failure.role)
    if target is None or target.code != failure.code:
        return failure  # the harness's own rule (kept-sending, ...): nothing to judge a trimmed capture by
    spec = KNOWN.get(failure.protocol)
    if spec is None:
        return failure
    decode = spec.decode
    for index in reversed(range(len(lines) - 1)):  # never the last record: where the harness stopped
        if not _is_unsolicited(lines[index], failure.role, decode, unsolicited):
            continue
        trial = lines[:index] + lines[index + 1:]
        found, count = _verdict("".join(trial), failure.role)
        if found is not None and found.code == target.code and count <= errors:
            lines, target, errors = trial, found, count
    if len(lines) == len(failure.capture.splitlines()):
        return failure
    trimmed = ConformanceFailure(
        target.message, protocol=failure.protocol, role=failure.role, capture="".join(lines), error=failure.error,
        code=target.code, record=target.record,
    )
    return trimmed


def _is_unsolicited(line: str, sut_role: Role, decode: Callable[[str], Any], unsolicited: tuple[type, ...]) -> bool:
    try:
        record = json.loads(line)
        if record.get("from") != sut_role.value or not isinstance(record.get("message"), dict):
            return False
        return isinstance(decode(json.dumps(record["message"])), unsolicited)
    except (ValueError, ProtocolError):
        return False




def _lines(text: str) -> str:
    count = text.count("\n")  # not splitlines(): it also splits at U+0085 or U+2028 inside a JSON string
    return f"{count} line" if count == 1 else f"{count} lines"


# -- the base state machine ---------------------------------------------------------------------


class ConformanceMachine(RuleBasedStateMachine):
    """Plays one role of a protocol against a system under test reached through an adapter.

    Subclasses (one per protocol and role, in each protocol's testing slice,
    ``ccproto.testing.slices.<protocol>.conformance``) give ``protocol``, ``sut_role``,
    ``new_connection`` (the harness's own connection object, of the other role), ``react``
    (answer what the SUT sent) and ``owed`` (what the SUT still has to answer), and add
    rules.  The machine is bound to an adapter factory by :func:`ccproto.testing.conformance.machine_for`.
    """

    protocol: ClassVar[str] = ""
    sut_role: ClassVar[Role] = Role.SERVER
    #: Messages the SUT may send at any time and at any rate (events, notifications): never awaited, and a stream
    #: of them never keeps the harness waiting for silence.
    unsolicited: ClassVar[tuple[type, ...]] = ()
    #: Whether the SUT speaks first on a new connection (the harness then waits for it).
    sut_speaks_first: ClassVar[bool] = False
    #: Makes a fresh adapter (one per example); set by ``machine_for``.
    make_adapter: ClassVar[Callable[[], Any]]
    limits: ClassVar[Limits] = DEFAULT_LIMITS
    #: The numbers drawn into messages (docs/quirks.md N2); set by ``machine_for``.
    numbers: ClassVar[Numbers] = Numbers.INTEROPERABLE

    def __init__(self) -> None:
        super().__init__()
        self.adapter: Any = type(self).make_adapter()
        self.now = EPOCH
        self.capture = Capture(self.protocol)
        self.index = 0
        self.conn: Any = None
        self.open = False
        self.stimuli = tuple(sorted(getattr(self.adapter, "stimuli", ())))
        self.can_reconnect = callable(getattr(self.adapter, "connect", None))
        self.failed = False
        self._collecting = False

    # -- what a role supplies ---------------------------------------------------------------

    def new_connection(self) -> Connection[Any]:
        """The harness's connection object for a new connection (role: the SUT's peer, sticky errors).

        Any connection object (``core.connection.Connection``); ``self.conn`` holds it, typed ``Any`` so that each
        protocol's machine reaches its own connection's state without casts.
        """
        raise NotImplementedError

    def react(self, message: Any, data: st.DataObject | None) -> None:
        """Answer one (already checked) message of the SUT, as the harness's role must."""

    def owed(self) -> list[str]:
        """What the SUT still has to answer on the current connection, described (empty: nothing)."""
        return []

    def expire(self, now: float) -> list[str]:
        """Expire what the SUT owes at ``now`` (the harness's connection's ``handle_timer``), described."""
        raise NotImplementedError

    def encode(self, message: Any) -> str:
        """The text of a message the harness sends (checked by its own connection)."""
        return str(self.conn.send(message, now=self.now))

    def check(self, text: str) -> Any:
        """Check one text of the SUT with the harness's connection; returns the message."""
        return self.conn.receive_message(text, now=self.now)

    def after_check(self, message: Any) -> None:
        """Checks beyond the connection object's (e.g. rules across connections); raise via ``fail``."""

    def draw(self, data: st.DataObject, cls: type[_M], label: str = "message") -> _M:
        """A valid instance of ``cls``: the simplest one, or (about half the time) one with drawn content.

        Drawn content (any Unicode, big integers, unknown extension members) finds
        what the simplest message cannot, but costs hundreds of choices that the
        shrinker must then undo; conversations whose failure does not depend on
        content shrink to simplest messages in a few steps.
        """
        if not data.draw(st.booleans(), label=f"{label}: varied content"):
            return simplest(cls)  # type: ignore[no-any-return]
        with_extra = data.draw(st.booleans(), label=f"{label}: with extension members")
        message: _M = data.draw(from_model(cls, with_extra=with_extra, numbers=self.numbers), label=label)
        return message

    @precondition(lambda self: self.open and bool(self.stimuli))
    @rule(data=st.data())
    def stimulate(self, data: st.DataObject) -> None:
        """Ask the SUT to act on its own (up to three of its adapter's ``stimuli`` in a row) and check what it sends.

        Several in one step make sequences such as "stop, then resume" likely enough for the random search.
        """
        names = data.draw(st.lists(st.sampled_from(self.stimuli), min_size=1, max_size=3), label="stimuli")
        for name in names:
            self.tick()
            self.adapter.stimulate(name)
            self.collect(data, expect=True)

    @rule()
    def listen(self) -> None:
        """Let a moment pass and take whatever the SUT sends on its own (always possible, so a run never stalls).

        A live adapter is told (``linger``) to let a moment of real time pass too, as it does not when it only
        takes what arrived between two steps.
        """
        self.tick()
        if self.open:
            _call_optional(self.adapter, "linger")
            self.collect(None)

    # -- driving ----------------------------------------------------------------------------

    @property
    def conn_name(self) -> str:
        """The capture's name of the current connection."""
        return self.capture.conn(self.index)

    def fail(
        self, reason: str, error: ProtocolError | None = None, *, code: str | None = None
    ) -> ConformanceFailure:
        """The failure to raise (with the capture so far), naming the rule ``ccproto validate`` names.

        ``code``: the harness's own name for what went wrong, used when the validator finds no fault (default:
        the error's code).
        """
        self.failed = True
        capture = self.capture.jsonl()
        finding = judge(capture, self.sut_role)
        record: int | None
        if finding is not None:
            reason, code, record = finding.message, finding.code, finding.record
        else:
            code = code if code is not None else (error.code if error is not None else "protocol-error")
            record = capture.count("\n") or None
        return ConformanceFailure(
            reason, protocol=self.protocol, role=self.sut_role, capture=capture, error=error, code=code,
            record=record,
        )

    def start_connection(self, data: st.DataObject | None = None) -> None:
        """Open a new connection and collect what the SUT sends first."""
        self.index += 1
        self.conn = self.new_connection()
        self.open = True
        self.capture.opened(conn=self.conn_name, now=self.now)
        _call_optional(self.adapter, "connect")
        self.collect(data, expect=self.sut_speaks_first)

    def end_connection(self) -> None:
        """Close the current connection from the harness's side (recorded as a close)."""
        if not self.open:
            return
        self.collect(None)
        self.demand_answers()
        self.tick()
        self.capture.close(conn=self.conn_name, sender=self.sut_role.peer, now=self.now, code=1000)
        self.closed_connection()
        _call_optional(self.adapter, "close")
        self.open = False
        self.heard_after_close()

    def closed_connection(self) -> None:
        """The harness closed the current connection (e.g. tell its connection object); nothing by default."""

    def tick(self, seconds: float = STEP) -> None:
        """Move the harness's virtual clock."""
        self.now += seconds

    def transmit(self, message: Any, data: st.DataObject | None = None) -> str:
        """Send ``message`` (checked by the harness's connection), record it, and collect the replies."""
        self.tick()
        text = self.encode(message)
        self.transmit_text(text, data)
        return text

    def transmit_text(self, text: str, data: st.DataObject | None = None) -> None:
        """Send text as it is (e.g. an invalid message), record it, and collect the replies.

        Called while collecting (an answer to the SUT), it only sends: the collecting
        loop reads the replies, so answers never nest however long the exchange runs.
        """
        __tracebackhide__ = True  # pytest would show ``text`` (a raw message, secrets and all)
        self.capture.message(conn=self.conn_name, sender=self.sut_role.peer, now=self.now, text=text)
        self.adapter.send(text)
        if not self._collecting:
            self.collect(data)

    def collect(self, data: st.DataObject | None, *, expect: bool | None = None) -> None:
        """Check (and answer) everything the SUT sent, until it has nothing more to say.

        Or until it says only what it may say at any rate (:attr:`unsolicited`, e.g. events while a report
        runs) and owes nothing: a subscription never falls silent, and that is legal.  ``expect`` tells the
        adapter whether to wait for a first message (default: whether the SUT owes an answer).
        """
        self._collecting = True
        try:
            streaming = 0  # consecutive rounds of unsolicited messages only
            for _ in range(MAX_ROUNDS):  # answers may cause replies; a SUT that never stops replying fails
                owed = bool(self.owed())
                _call_optional(self.adapter, "expect", owed if expect is None else expect)
                expect = None
                texts = self.adapter.receive()
                if not texts:
                    return
                solicited = False
                for text in texts:
                    message = self.receive_one(text, data)
                    solicited = solicited or not isinstance(message, self.unsolicited)
                if solicited:
                    streaming = 0
                    continue
                streaming += 1
                if not self.owed() or streaming >= UNSOLICITED_ROUNDS:
                    return  # what is still owed is awaited by later steps, and at the end by demand_answers
            raise self.fail(
                f"the system under test kept sending ({MAX_ROUNDS} rounds of replies)", code="kept-sending"
            )
        finally:
            self._collecting = False

    def heard_after_close(self) -> None:
        """Fail if the SUT sent anything after the harness closed the connection."""
        texts = self.adapter.receive()
        for text in texts:
            self.capture.message(conn=self.conn_name, sender=self.sut_role, now=self.now, text=text)
        if texts:
            raise self.fail(
                f"it sent {len(texts)} message(s) on a closed connection (after the harness closed it)",
                code="message-after-close",
            )

    def receive_one(self, text: str, data: st.DataObject | None) -> Any:
        """Record, check and react to one text of the SUT; returns the message."""
        __tracebackhide__ = True  # pytest would show ``text`` (a raw message, secrets and all)
        self.tick(0.001)
        self.capture.message(conn=self.conn_name, sender=self.sut_role, now=self.now, text=text)
        if not self.open:
            raise self.fail("it sent a message on a closed connection", code="message-after-close")
        try:
            message = self.check(text)
        except ProtocolError as exc:
            raise self.fail(str(exc), exc) from None
        self.after_check(message)
        self.react(message, data)
        return message

    def demand_answers(self) -> None:
        """Fail if the SUT still owes an answer once it fell silent (after waiting ``request_timeout``)."""
        if not self.owed():
            return
        self.now += self.limits.request_timeout + 1
        late = self.expire(self.now)
        if late:
            # The close recorded at this time shows ``ccproto validate`` that the wait expired (V9).
            self.capture.close(conn=self.conn_name, sender=self.sut_role.peer, now=self.now, code=1000)
            raise self.fail("no answer within request_timeout to: " + "; ".join(late), code=ANSWER_TIMEOUT)

    def teardown(self) -> None:
        """The example ends: the SUT must have answered everything; then the connection closes."""
        try:
            # After a failure, teardown must not replace it with a consequence (e.g. the answer it rejected).
            if self.open and not self.failed:
                self.collect(None)
                self.demand_answers()
        finally:
            if self.open:
                _call_optional(self.adapter, "close")
                self.open = False
                if not self.failed:
                    self.heard_after_close()

