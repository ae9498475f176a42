"""A reference CCT server as far as public facts go: sessions, their timeout, subscriptions, failovers.

A pure machine (no I/O, no clock: ``now`` is an argument, seconds) that answers the calls a
:class:`~ccproto.cct.supervisor.Supervisor` asks for with the outcomes the supervisor takes back, so that the
conformance machine (:mod:`ccproto.testing.slices.cct.conformance`) can play the server side without XML and without
any payload nothing public specifies. What it follows, and where each fact comes from (docs/cct.md,
``/work/shared/notes/cct.md``):

* a session starts with ``LogInToCCTServer`` and has a timeout; every later call on it but ``GetVersion`` resets the
  timeout; a session that reaches its timeout is gone (Avaya support document 101090657);
* a call on a session the server does not know faults with ``SessionNotCreatedException`` (the public WSDLs);
* subscriptions belong to their session and end with it;
* Hot and Warm Standby failovers lose every session (and so every subscription); Mission Critical keeps them and may
  send a courtesy HA-switch notification carrying no identifiers; during the switchover (a down period the caller
  chooses) no call gets an answer: a transport error.

Everything else is this module's reading, listed in docs/quirks.md (K40 onwards): whether ``GetVersion`` needs a
session, whether a faulted call resets the timeout, what a subscription id looks like.
"""

from __future__ import annotations

import enum

import attrs

from ccproto.cct.config import refuses_session_reset
from ccproto.cct.states import FaultKind
from ccproto.cct.supervisor import (
    Call,
    CallFailed,
    GiveUp,
    HaSwitch,
    KeepAlive,
    KeepAliveSucceeded,
    LoggedIn,
    LoggedOff,
    LogIn,
    LogOff,
    Outcome,
    Probe,
    ProbeSucceeded,
    SessionTerminated,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
)

__all__ = ["EndReason", "FailoverMode", "ReferenceCctServer", "Seen", "ServerSession"]


class FailoverMode(enum.Enum):
    """The AACC high-availability modes (support document 101090657)."""

    #: Sessions and subscriptions are lost in the switchover.
    HOT_STANDBY = "hot-standby"
    #: Sessions and subscriptions are lost in the switchover.
    WARM_STANDBY = "warm-standby"
    #: Sessions and notifications are kept; an optional courtesy HA-switch notification is sent.
    MISSION_CRITICAL = "mission-critical"

    @property
    def loses_sessions(self) -> bool:
        """Whether the switchover loses every session (Hot and Warm Standby)."""
        return self is not FailoverMode.MISSION_CRITICAL


class EndReason(enum.Enum):
    """Why a session ended on the server."""

    LOGGED_OFF = "logged off"
    TIMED_OUT = "timed out"
    FAILOVER = "lost in a failover"
    TERMINATED = "terminated"


@attrs.frozen(kw_only=True)
class Seen:
    """One call the server answered on a session (what the duty checks read)."""

    #: When it reached the server.
    at: float
    #: The call's kind (``Probe``, ``KeepAlive``, ``Subscribe``...).
    kind: str
    #: The operation called (a probe's or keep-alive's own; the fixed one of the others).
    operation: str
    #: Whether it reset the session's timeout (every call but ``GetVersion``).
    reset: bool
    #: The outcome's class name (``ProbeSucceeded``, ``CallFailed``...).
    answer: str


@attrs.define(kw_only=True)
class ServerSession:
    """One session the server issued: its number (the token stays a secret), its timeout's reset, its
    subscriptions and what it saw."""

    #: 1, 2, ... in the order the server issued them (how reports name a session: never by its token).
    number: int
    token: str = attrs.field(repr=False)
    created_at: float
    #: The last call that reset the timeout reached the server then.
    last_reset: float
    #: subscription id -> listener, the live ones.
    subscriptions: dict[str, str] = attrs.field(factory=dict)
    #: Every subscription ever made on the session: (subscription id, listener), in order.
    subscribed: list[tuple[str, str]] = attrs.field(factory=list)
    seen: list[Seen] = attrs.field(factory=list)
    ended_at: float | None = None
    end: EndReason | None = None

    @property
    def alive(self) -> bool:
        """Whether the session still exists on the server."""
        return self.end is None

    def expires_at(self, session_timeout: float) -> float:
        """When the session reaches its timeout unless a call resets it first."""
        return self.last_reset + session_timeout

    def listeners(self) -> set[str]:
        """The listeners holding a live subscription on the session."""
        return set(self.subscriptions.values())


class ReferenceCctServer:
    """A CCT server for one client, as far as sessions go (pure: ``now`` is passed in, nothing is read or sent).

    ``answer(call, token=..., now=...)`` makes one call the supervisor asked for, with the token the integrator
    holds, and returns the outcome to report back; ``fail_over``, ``terminate`` and ``end_subscription`` are what
    the server does on its own (they return the notifications the client's consumer endpoint receives);
    ``advance(now)`` lets sessions time out. Every session ever issued stays in :attr:`sessions` with what it saw.
    """

    def __init__(self, *, session_timeout: float, token_prefix: str = "cct-sso") -> None:
        if not session_timeout > 0:
            raise ValueError(f"session_timeout must be above 0, not {session_timeout!r}")
        self.session_timeout = float(session_timeout)
        self._token_prefix = token_prefix
        self._by_token: dict[str, ServerSession] = {}
        #: Every session issued, oldest first (ended ones included).
        self.sessions: list[ServerSession] = []
        #: Until when no call gets an answer (a switchover in progress).
        self.down_until = float("-inf")
        self._made = 0

    def __repr__(self) -> str:
        # Never a token.
        live = [s.number for s in self.sessions if s.alive]
        return f"ReferenceCctServer(live_sessions={live}, down_until={self.down_until})"

    # -- what the client does -------------------------------------------------------------------------------

    def is_up(self, now: float) -> bool:
        """Whether the server answers at ``now``."""
        return now >= self.down_until

    def session(self, token: str | None) -> ServerSession | None:
        """The session ``token`` names (alive or ended), if the server issued it."""
        return None if token is None else self._by_token.get(token)

    def live_session(self, token: str | None) -> ServerSession | None:
        """The session ``token`` names, if it is alive."""
        found = self.session(token)
        return found if found is not None and found.alive else None

    def answer(self, call: Call, *, token: str | None, now: float, fault: FaultKind | None = None) -> Outcome:
        """Make ``call`` at ``now`` with ``token`` (the session the integrator holds, ``None`` if none), and return
        its outcome.

        ``fault`` is one the test injects: ``TRANSPORT`` (the call never reached the server), ``OTHER`` (the server
        refused it: ``SubscribeFailedFault``, an operation's own fault); ``SESSION_NOT_CREATED`` is the server's to
        decide, not injectable.
        """
        if isinstance(call, GiveUp):
            raise ValueError("GiveUp is not a call the server answers")
        if fault is FaultKind.SESSION_NOT_CREATED:
            raise ValueError("SessionNotCreatedException is the server's to decide: inject TRANSPORT or OTHER")
        self.advance(now)
        if not self.is_up(now) or fault is FaultKind.TRANSPORT:
            return CallFailed(call=call, fault=FaultKind.TRANSPORT)
        if isinstance(call, LogIn):
            if fault is FaultKind.OTHER:
                return CallFailed(call=call, fault=FaultKind.OTHER)
            return LoggedIn(token=self._new_session(now).token)
        operation = call.operation if isinstance(call, (Probe, KeepAlive)) else type(call).OPERATION
        if refuses_session_reset(operation):
            # Support document 101090657: GetVersion does not reset the timeout. Whether it needs a session at all
            # is not public: it is answered either way (quirks K40), the worst case for a client relying on it.
            held = self.live_session(token)
            outcome: Outcome = ProbeSucceeded() if isinstance(call, Probe) else KeepAliveSucceeded()
            if held is not None:
                held.seen.append(Seen(at=now, kind=type(call).__name__, operation=operation, reset=False,
                                      answer=type(outcome).__name__))
            return outcome
        session = self.live_session(token)
        if session is None:
            return CallFailed(call=call, fault=FaultKind.SESSION_NOT_CREATED)
        # Every call on the session but GetVersion resets its timeout, a refused one too (quirks K41).
        session.last_reset = now
        outcome = self._perform(session, call, now) if fault is None else CallFailed(call=call, fault=FaultKind.OTHER)
        session.seen.append(Seen(at=now, kind=type(call).__name__, operation=operation, reset=True,
                                 answer=type(outcome).__name__))
        return outcome

    def _perform(self, session: ServerSession, call: Call, now: float) -> Outcome:
        if isinstance(call, Subscribe):
            self._made += 1
            # The public client's reply is ``<consumerURI>:<subscriptionId>``; the id's form is ours (quirks K42).
            subscription_id = f"urn:cct:consumer:{session.number}:{self._made}"
            session.subscriptions[subscription_id] = call.listener
            session.subscribed.append((subscription_id, call.listener))
            return Subscribed(listener=call.listener, subscription_id=subscription_id)
        if isinstance(call, Unsubscribe):
            if session.subscriptions.get(call.subscription_id) != call.listener:
                return CallFailed(call=call, fault=FaultKind.OTHER)  # UnsubscribeFailedFault
            del session.subscriptions[call.subscription_id]
            return Unsubscribed(listener=call.listener, subscription_id=call.subscription_id)
        if isinstance(call, LogOff):
            self._end(session, now, EndReason.LOGGED_OFF)
            return LoggedOff()
        return ProbeSucceeded() if isinstance(call, Probe) else KeepAliveSucceeded()

    def _new_session(self, now: float) -> ServerSession:
        number = len(self.sessions) + 1
        session = ServerSession(number=number, token=f"{self._token_prefix}-{number}", created_at=now,
                                last_reset=now)
        self.sessions.append(session)
        self._by_token[session.token] = session
        return session

    @staticmethod
    def _end(session: ServerSession, at: float, reason: EndReason) -> None:
        # Subscriptions belong to their session: they end with it.
        session.subscriptions.clear()
        session.ended_at = at
        session.end = reason

    # -- what the server does on its own --------------------------------------------------------------------

    def advance(self, now: float) -> list[ServerSession]:
        """Let the clock reach ``now``: every session that reached its timeout without a resetting call is gone.
        Returns those that timed out now (each ended at its own expiry time)."""
        expired = []
        for session in self.sessions:
            if session.alive and now >= session.expires_at(self.session_timeout):
                self._end(session, session.expires_at(self.session_timeout), EndReason.TIMED_OUT)
                expired.append(session)
        return expired

    def fail_over(
        self, now: float, mode: FailoverMode, *, down_for: float = 0.0, notify: bool = False
    ) -> list[Outcome]:
        """A switchover at ``now``: no answer for ``down_for`` seconds; Hot and Warm Standby lose every session and
        subscription, Mission Critical keeps them. Returns the notifications the client receives (``HaSwitch`` with
        ``notify`` in Mission Critical: the courtesy notification, which carries no identifiers)."""
        if down_for < 0:
            raise ValueError(f"down_for must be >= 0, not {down_for!r}")
        self.advance(now)
        if mode.loses_sessions:
            for session in self.sessions:
                if session.alive:
                    self._end(session, now, EndReason.FAILOVER)
        self.down_until = max(self.down_until, now + down_for)
        return [HaSwitch()] if notify and mode is FailoverMode.MISSION_CRITICAL else []

    def recover(self, now: float) -> None:
        """The switchover is over at ``now``: calls get answers again (a down period ends early)."""
        self.down_until = min(self.down_until, now)

    def terminate(self, token: str | None, now: float) -> list[Outcome]:
        """End the session ``token`` names (an administrator, a licence): the session-termination notification
        if it was alive, nothing otherwise."""
        self.advance(now)
        session = self.live_session(token)
        if session is None:
            return []
        self._end(session, now, EndReason.TERMINATED)
        return [SessionTerminated()]

    def end_subscription(self, subscription_id: str, now: float) -> list[Outcome]:
        """End one live subscription on the server's own initiative: the ``Unsubscribed`` word the client's consumer
        receives, or nothing if no live session holds it."""
        self.advance(now)
        for session in self.sessions:
            listener = session.subscriptions.pop(subscription_id, None) if session.alive else None
            if listener is not None:
                return [Unsubscribed(listener=listener, subscription_id=subscription_id)]
        return []
