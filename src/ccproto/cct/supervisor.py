"""A CCT SOAP client's session supervisor, sans-I/O: it says which call to make next, and takes back what happened.

The seed (000) leaves high availability to the client: detect a failover (by polling), re-establish the session
after the switchover, re-register every event listener. :class:`Supervisor` does that bookkeeping and nothing
else: it makes no call itself, reads no clock and draws no random number. The integrator makes each
:data:`Call` it asks for (with zeep, against the customer's own WSDL; docs/cct.md), and reports each call's
:data:`Outcome`, and the notifications its consumer endpoint receives, with ``handle``; time is the ``now``
argument, and ``get_timer()`` / ``handle_timer(now)`` drive probes, keep-alives and the re-login back-off::

    supervisor = Supervisor(SupervisorConfig(listeners=("agents",)))
    calls = supervisor.start(now)              # [LogIn()]
    calls = supervisor.handle(LoggedIn(token=token), now=now)   # [Subscribe(listener='agents')]
    ...
    calls = supervisor.handle_timer(now, jitter=random.random())

Every call asked must get exactly one outcome (``GiveUp`` excepted: it asks for none). Outcomes of equal calls
are taken oldest first (as the processor's answers, docs/quirks.md P9). A call asked on a session that was then
lost, stopped or that timed out (a probe or keep-alive past ``probe_timeout``) may still be made and answered: its
outcome is absorbed. The rules are the table in :mod:`ccproto.cct.states`; this module only looks it up.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar, TypeAlias

import attrs

from ccproto.cct.config import SupervisorConfig, check_jitter
from ccproto.cct.states import (
    FAILURE_INPUTS,
    HINTS,
    KEEPING_STATES,
    SESSION_STATES,
    TRANSITIONS,
    CallKind,
    Effect,
    FaultKind,
    Guard,
    Input,
    State,
)
from ccproto.core.errors import InvalidTransitionError, LocalProtocolError
from ccproto.core.roles import Role

__all__ = [
    "Call",
    "CallFailed",
    "GiveUp",
    "HaSwitch",
    "KeepAlive",
    "KeepAliveSucceeded",
    "LogIn",
    "LogOff",
    "LoggedIn",
    "LoggedOff",
    "Outcome",
    "Probe",
    "ProbeSucceeded",
    "SessionTerminated",
    "SessionTerminationImminent",
    "Subscribe",
    "Subscribed",
    "Supervisor",
    "UnexpectedOutcomeError",
    "Unsubscribe",
    "Unsubscribed",
]

# -- Calls: what the integrator must do next --------------------------------------------------------------------
# Operation names are the public UserService WSDL's (LogInToCCTServer, LogOffFromCCTServer, Subscribe,
# Unsubscribe); the Lite API's SessionService has the same login and logoff.


@attrs.frozen(kw_only=True)
class LogIn:
    """Log in (``LogInToCCTServer``); report ``LoggedIn(token=...)`` or ``CallFailed``."""

    KIND: ClassVar[CallKind] = CallKind.LOG_IN
    OPERATION: ClassVar[str] = "LogInToCCTServer"


@attrs.frozen(kw_only=True)
class Subscribe:
    """Subscribe ``listener``'s events (``Subscribe``); report ``Subscribed`` with the subscription's id."""

    KIND: ClassVar[CallKind] = CallKind.SUBSCRIBE
    OPERATION: ClassVar[str] = "Subscribe"
    listener: str


@attrs.frozen(kw_only=True)
class Unsubscribe:
    """End subscription ``subscription_id`` of ``listener`` (``Unsubscribe``); report ``Unsubscribed``."""

    KIND: ClassVar[CallKind] = CallKind.UNSUBSCRIBE
    OPERATION: ClassVar[str] = "Unsubscribe"
    listener: str
    subscription_id: str


@attrs.frozen(kw_only=True)
class Probe:
    """Call ``operation`` on the session to check it is alive; report ``ProbeSucceeded`` or ``CallFailed``."""

    KIND: ClassVar[CallKind] = CallKind.PROBE
    operation: str


@attrs.frozen(kw_only=True)
class KeepAlive:
    """Call ``operation`` on the session so it does not time out; report ``KeepAliveSucceeded`` or ``CallFailed``."""

    KIND: ClassVar[CallKind] = CallKind.KEEP_ALIVE
    operation: str


@attrs.frozen(kw_only=True)
class LogOff:
    """Log off (``LogOffFromCCTServer``); report ``LoggedOff`` or ``CallFailed``."""

    KIND: ClassVar[CallKind] = CallKind.LOG_OFF
    OPERATION: ClassVar[str] = "LogOffFromCCTServer"


@attrs.frozen(kw_only=True)
class GiveUp:
    """Stop trying: ``max_attempts`` logins failed in a row (no outcome is expected)."""

    KIND: ClassVar[CallKind] = CallKind.GIVE_UP
    reason: str


#: What the supervisor asks the integrator to do.
Call: TypeAlias = LogIn | Subscribe | Unsubscribe | Probe | KeepAlive | LogOff | GiveUp

# -- Outcomes: what happened, reported back ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LoggedIn:
    """A ``LogIn`` succeeded; ``token`` is the session's ``ssoToken`` (secret: never in a ``repr``)."""

    token: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Subscribed:
    """A ``Subscribe`` of ``listener`` succeeded with ``subscription_id``."""

    listener: str
    subscription_id: str


@attrs.frozen(kw_only=True)
class Unsubscribed:
    """Subscription ``subscription_id`` of ``listener`` ended: an ``Unsubscribe`` succeeded, or the server ended it."""

    listener: str
    subscription_id: str


@attrs.frozen(kw_only=True)
class ProbeSucceeded:
    """A ``Probe`` succeeded."""


@attrs.frozen(kw_only=True)
class KeepAliveSucceeded:
    """A ``KeepAlive`` succeeded."""


@attrs.frozen(kw_only=True)
class CallFailed:
    """``call`` failed with a fault of kind ``fault``."""

    call: LogIn | Subscribe | Unsubscribe | Probe | KeepAlive | LogOff
    fault: FaultKind


@attrs.frozen(kw_only=True)
class SessionTerminated:
    """The session-termination notification (support document 101090657; its payload is not public)."""


@attrs.frozen(kw_only=True)
class SessionTerminationImminent:
    """The session-termination-imminent notification (support document 101090657; payload not public)."""


@attrs.frozen(kw_only=True)
class HaSwitch:
    """The optional courtesy HA-switch notification of Mission Critical HA (it carries no identifiers)."""


@attrs.frozen(kw_only=True)
class LoggedOff:
    """A ``LogOff`` succeeded."""


#: What the integrator reports.
Outcome: TypeAlias = (
    LoggedIn | Subscribed | Unsubscribed | ProbeSucceeded | KeepAliveSucceeded | CallFailed | SessionTerminated
    | SessionTerminationImminent | HaSwitch | LoggedOff
)

_NOTIFICATIONS: dict[type[Outcome], Input] = {
    SessionTerminated: Input.SESSION_TERMINATED,
    SessionTerminationImminent: Input.TERMINATION_IMMINENT,
    HaSwitch: Input.HA_SWITCH,
}


class UnexpectedOutcomeError(InvalidTransitionError, LocalProtocolError):
    """The integrator reported something the supervisor's state cannot take (an outcome of a call never asked,
    ``Subscribed`` before ``LoggedIn``, ``start`` twice...). The supervisor is left unchanged."""

    code = "unexpected-outcome"


# -- Bookkeeping ------------------------------------------------------------------------------------------------


@attrs.define
class _Asked:
    """A call waiting for its outcome. Not ``live``: its session is gone (or it timed out); its outcome is
    absorbed."""

    call: Call
    asked_at: float
    live: bool = True
    #: It outlived ``probe_timeout`` on the session still held (counted as a failure): a late
    #: ``SessionNotCreatedException`` still says that session is gone.
    expired: bool = False


@attrs.define
class _Event:
    """One input being handled."""

    input: Input
    now: float
    jitter: float
    outcome: Outcome | None = None
    asked: _Asked | None = None
    listener: str | None = None


#: How many ended subscriptions are remembered, so that a late outcome about one is absorbed (not refused).
_GONE_BOUND = 1024


class Supervisor:
    """A CCT client's session supervisor (sans-I/O). Every method returns the calls to make next, in order."""

    def __init__(self, config: SupervisorConfig | None = None) -> None:
        #: The configuration (frozen).
        self.config = config if config is not None else SupervisorConfig()
        self._state = State.IDLE
        self._token: str | None = None
        self._subscriptions: dict[str, str] = {}
        self._asked: list[_Asked] = []
        self._to_subscribe: dict[str, None] = {}  # listeners whose subscribe is retried at the next probe round
        self._to_unsubscribe: dict[tuple[str, str], None] = {}
        self._gone: OrderedDict[tuple[str, str], None] = OrderedDict()
        # Subscriptions the server said ended before their Subscribe's outcome was reported (the two race on
        # separate channels: the notification and the HTTP response); taken up when that outcome comes.
        self._ended_early: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._failures = 0
        self._attempts = 0
        self._backoffs = 0
        self._last_fault: FaultKind | None = None
        self._last_reset = 0.0
        self._next_round = 0.0
        self._retry_at = 0.0
        self._calls: list[Call] = []

    def __repr__(self) -> str:
        # Never the token.
        return (
            f"Supervisor(state={self._state.name}, has_session={self.has_session}, "
            f"subscriptions={dict(self._subscriptions)!r}, outstanding={len(self._asked)})"
        )

    # -- read-only views --------------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """Where the supervisor is."""
        return self._state

    @property
    def has_session(self) -> bool:
        """Whether a session is held (logged in, not yet logged off or lost)."""
        return self._state in SESSION_STATES

    @property
    def token(self) -> str | None:
        """The held session's token (secret: never logged by ccproto), ``None`` without a session."""
        return self._token if self.has_session else None

    @property
    def subscriptions(self) -> Mapping[str, str]:
        """The subscriptions held on the session: listener -> subscription id (a read-only copy)."""
        return MappingProxyType(dict(self._subscriptions))

    @property
    def failures(self) -> int:
        """Consecutive failures on the held session (reset by any call that succeeds)."""
        return self._failures

    @property
    def attempts(self) -> int:
        """Logins tried since the last session began (reset by ``LoggedIn``)."""
        return self._attempts

    def outstanding(self) -> tuple[Call, ...]:
        """Every call still waiting for its outcome, oldest first (those of a lost session included)."""
        return tuple(asked.call for asked in self._asked)

    def get_timer(self) -> float | None:
        """When ``handle_timer`` is next needed (``None``: not until something else happens)."""
        if self._state is State.BACKING_OFF:
            return self._retry_at
        if self._state not in KEEPING_STATES:
            return None
        deadlines = [self._next_round]
        checking = [a for a in self._asked if a.live and a.call.KIND in (CallKind.PROBE, CallKind.KEEP_ALIVE)]
        deadlines.extend(a.asked_at + self.config.probe_timeout for a in checking)
        if not checking:
            # Support document 101090657: the session times out unless a call resets it; a probe or keep-alive
            # in flight covers it (its own deadline is above).
            deadlines.append(self._keep_alive_due)
        return min(deadlines)

    # -- inputs -----------------------------------------------------------------------------------------------

    def start(self, now: float) -> list[Call]:
        """Start: ask for the first login."""
        return self._run(_Event(Input.START, _checked_now(now), 0.5))

    def stop(self, now: float) -> list[Call]:
        """Stop: log off a held session (``LogOff``) and end in a final state."""
        return self._run(_Event(Input.STOP, _checked_now(now), 0.5))

    def renew(self, listener: str, *, now: float) -> list[Call]:
        """Replace ``listener``'s live subscription: subscribe anew first, unsubscribe the old one once the new one
        is ``Subscribed`` (the public client's order)."""
        if listener not in self.config.listeners:
            raise ValueError(f"{listener!r} is not a configured listener ({', '.join(self.config.listeners)})")
        return self._run(_Event(Input.RENEW, _checked_now(now), 0.5, listener=listener))

    def handle_timer(self, now: float, *, jitter: float = 0.5) -> list[Call]:
        """Do what is due at ``now``: probes, keep-alives, expiries, the re-login after a back-off.

        ``jitter`` in [0, 1) is the caller's random draw, used if a back-off starts.
        """
        check_jitter(jitter)
        return self._run(_Event(Input.TIMER, _checked_now(now), jitter))

    def handle(self, outcome: Outcome, *, now: float, jitter: float = 0.5) -> list[Call]:
        """Take what happened (a call's outcome, or a notification) at ``now``.

        ``jitter`` in [0, 1) is the caller's random draw, used if a back-off starts.
        """
        check_jitter(jitter)
        now = _checked_now(now)
        notification = _NOTIFICATIONS.get(type(outcome))
        if notification is not None:
            return self._run(_Event(notification, now, jitter, outcome=outcome))
        input_, asked = self._match(outcome)
        if input_ is None:
            # Absorbed: an outcome of a call whose session is gone, or about a subscription already ended.
            if asked is not None:
                self._asked.remove(asked)
            if isinstance(outcome, Subscribed):
                # A subscription made on a lost session (a zombie if the server kept it): known from now on, so
                # that the server's word that it ended is absorbed too.
                self._ended_early.pop((outcome.listener, outcome.subscription_id), None)
                self._forget(outcome.listener, outcome.subscription_id)
            return []
        calls = self._run(_Event(input_, now, jitter, outcome=outcome, asked=asked))
        if isinstance(outcome, Subscribed):
            key = (outcome.listener, outcome.subscription_id)
            if key in self._ended_early:
                # The server ended it before we knew it existed: it ends now, as if the word came after (K18).
                del self._ended_early[key]
                if (self._subscriptions.get(outcome.listener) == outcome.subscription_id
                        and (self._state, Input.SUBSCRIPTION_ENDED) in TRANSITIONS):
                    ended = Unsubscribed(listener=outcome.listener, subscription_id=outcome.subscription_id)
                    calls += self._run(_Event(Input.SUBSCRIPTION_ENDED, now, jitter, outcome=ended))
        return calls

    # -- matching outcomes to calls ---------------------------------------------------------------------------

    def _oldest(self, wanted: Callable[[Call], bool]) -> _Asked | None:
        return next((asked for asked in self._asked if wanted(asked.call)), None)

    def _match(self, outcome: Outcome) -> tuple[Input | None, _Asked | None]:
        """The input an outcome is, and the call it answers; ``(None, call or None)`` when it is absorbed."""
        asked: _Asked | None
        if isinstance(outcome, CallFailed):
            asked = self._oldest(lambda call: call == outcome.call)
            if asked is None:
                return self._unasked(outcome, outcome.call)
            if not asked.live:
                if asked.expired and outcome.fault is FaultKind.SESSION_NOT_CREATED:
                    # Late, but the server's word that the held session is gone: no call on it until a login.
                    return FAILURE_INPUTS[(outcome.call.KIND, outcome.fault)], asked
                return None, asked
            return FAILURE_INPUTS[(outcome.call.KIND, outcome.fault)], asked
        answers = _ANSWERS.get(type(outcome))
        if answers is None:
            raise TypeError(f"not a CCT supervisor outcome: {type(outcome).__name__}")
        input_, wanted = answers
        asked = self._oldest(lambda call: wanted(call, outcome))
        if asked is None:
            return self._unasked(outcome, None)
        if not asked.live:
            return None, asked
        return input_, asked

    def _unasked(self, outcome: Outcome, call: Call | None) -> tuple[Input | None, _Asked | None]:
        """An outcome that answers no outstanding call: a subscription the server ended, a late word about an
        ended one, or an error."""
        if isinstance(outcome, Unsubscribed):
            key = (outcome.listener, outcome.subscription_id)
            if self._subscriptions.get(outcome.listener) == outcome.subscription_id:
                return Input.SUBSCRIPTION_ENDED, None
            if key in self._to_unsubscribe:
                # Ended by the server while its unsubscribe waited for a retry: nothing left to do.
                del self._to_unsubscribe[key]
                self._forget(*key)
                return None, None
            if key in self._gone:
                return None, None
            if self._live(CallKind.SUBSCRIBE, outcome.listener):
                # Its Subscribe's outcome is still to come (a race, not an error): remembered until then.
                self._ended_early[key] = None
                while len(self._ended_early) > _GONE_BOUND:
                    self._ended_early.popitem(last=False)
                return None, None
            raise self._error(f"{outcome!r} names a subscription the supervisor never held", outcome)
        if isinstance(call, Unsubscribe) and (call.listener, call.subscription_id) in self._gone:
            return None, None
        if call is not None:
            expected = repr(call)
        elif isinstance(outcome, Subscribed):
            expected = f"Subscribe(listener={outcome.listener!r})"
        else:
            expected = _EXPECTED[type(outcome)]
        raise self._error(
            f"{outcome!r} answers no outstanding call: no {expected} was asked for (or it was answered already)",
            outcome,
        )

    def _error(self, detail: str, outcome: object) -> UnexpectedOutcomeError:
        # Outcomes' reprs never show the token (``LoggedIn.token`` is repr=False).
        return UnexpectedOutcomeError(
            detail, message=repr(outcome) if outcome is not None else None, role=Role.CLIENT, state=self._state,
            hint=HINTS[self._state],
        )

    # -- the table --------------------------------------------------------------------------------------------

    def _run(self, event: _Event) -> list[Call]:
        transition = TRANSITIONS.get((self._state, event.input))
        if transition is None:
            subject = repr(event.outcome) if event.outcome is not None else f"{event.input.value}()"
            raise self._error(f"{subject} cannot be taken in state {self._state.name}", event.outcome)
        holds = transition.guard is None or _GUARDS[transition.guard](self, event)
        step = transition.step(holds)
        if event.asked is not None:
            self._asked.remove(event.asked)
        self._calls = []
        _EFFECTS[step.effect](self, event)
        self._state = step.target
        calls, self._calls = self._calls, []
        return calls

    def _ask(self, call: Call, now: float) -> None:
        self._calls.append(call)
        if not isinstance(call, GiveUp):
            self._asked.append(_Asked(call, now))

    def _live(self, kind: CallKind, listener: str | None = None) -> bool:
        """Whether a live call of ``kind`` (for ``listener``) is outstanding."""
        return any(
            a.live and a.call.KIND is kind and (listener is None or getattr(a.call, "listener", None) == listener)
            for a in self._asked
        )

    @property
    def _keep_alive_due(self) -> float:
        return self._last_reset + self.config.session_timeout - self.config.keep_alive_margin

    def _expiring(self, now: float) -> list[_Asked]:
        timeout = self.config.probe_timeout
        return [
            a for a in self._asked
            if a.live and a.call.KIND in (CallKind.PROBE, CallKind.KEEP_ALIVE) and a.asked_at + timeout <= now
        ]

    def _forget(self, listener: str, subscription_id: str) -> None:
        self._gone[(listener, subscription_id)] = None
        while len(self._gone) > _GONE_BOUND:
            self._gone.popitem(last=False)

    # -- guards -----------------------------------------------------------------------------------------------

    def _has_listeners(self, event: _Event) -> bool:
        return bool(self.config.listeners)

    def _completes_subscriptions(self, event: _Event) -> bool:
        assert isinstance(event.outcome, Subscribed)
        listener = event.outcome.listener
        return all(name == listener or name in self._subscriptions for name in self.config.listeners)

    def _failure_tolerated(self, event: _Event) -> bool:
        return self._failures + 1 < self.config.failure_threshold

    def _expiries_tolerated(self, event: _Event) -> bool:
        return self._failures + len(self._expiring(event.now)) < self.config.failure_threshold

    def _attempts_left(self, event: _Event) -> bool:
        return self.config.max_attempts is None or self._attempts < self.config.max_attempts

    def _login_due(self, event: _Event) -> bool:
        return event.now >= self._retry_at

    # -- effects -----------------------------------------------------------------------------------------------

    def _nothing(self, event: _Event) -> None:
        pass

    def _log_in(self, event: _Event) -> None:
        self._attempts += 1
        self._ask(LogIn(), event.now)

    def _take_session(self, event: _Event) -> None:
        assert isinstance(event.outcome, LoggedIn)
        assert event.asked is not None
        self._token = event.outcome.token
        self._attempts = self._backoffs = self._failures = 0
        self._subscriptions.clear()
        self._to_subscribe.clear()
        self._to_unsubscribe.clear()
        # The session's timeout started no earlier than the login was asked.
        self._last_reset = event.asked.asked_at
        self._next_round = event.now + self.config.probe_interval
        # The seed: after the (re-)established session, re-register every listener.
        for listener in self.config.listeners:
            self._ask(Subscribe(listener=listener), event.now)

    def _alive(self, asked: _Asked | None) -> None:
        # Support document 101090657: every call but GetVersion resets the timeout (the config refuses
        # GetVersion); it was reset no earlier than the call was asked.
        assert asked is not None
        self._failures = 0
        self._last_reset = max(self._last_reset, asked.asked_at)

    def _hold_subscription(self, event: _Event) -> None:
        assert isinstance(event.outcome, Subscribed)
        self._alive(event.asked)
        listener, new = event.outcome.listener, event.outcome.subscription_id
        old = self._subscriptions.get(listener)
        self._subscriptions[listener] = new
        self._to_subscribe.pop(listener, None)
        if old is not None and old != new:
            # The public client's order: the new subscription exists, now the old one goes.
            self._ask(Unsubscribe(listener=listener, subscription_id=old), event.now)

    def _release_subscription(self, event: _Event) -> None:
        assert isinstance(event.outcome, Unsubscribed)
        # Not taken as a sign of life: the same Unsubscribed may be the server's own word that it ended the
        # subscription, which says nothing about our call or the session's timeout.
        self._forget(event.outcome.listener, event.outcome.subscription_id)

    def _resubscribe(self, event: _Event) -> None:
        assert isinstance(event.outcome, Unsubscribed)
        listener = event.outcome.listener
        self._subscriptions.pop(listener, None)
        self._forget(listener, event.outcome.subscription_id)
        self._to_subscribe.pop(listener, None)
        if not self._live(CallKind.SUBSCRIBE, listener):
            self._ask(Subscribe(listener=listener), event.now)

    def _retry_subscribe_later(self, event: _Event) -> None:
        assert isinstance(event.outcome, CallFailed)
        assert isinstance(event.outcome.call, Subscribe)
        self._to_subscribe[event.outcome.call.listener] = None

    def _abandon_unsubscribe(self, event: _Event) -> None:
        assert isinstance(event.outcome, CallFailed)
        assert isinstance(event.outcome.call, Unsubscribe)
        # Refused by the server: asking again would be refused again; it ends with the session.
        self._forget(event.outcome.call.listener, event.outcome.call.subscription_id)

    def _renew_subscription(self, event: _Event) -> None:
        listener = event.listener
        assert listener is not None
        if (listener in self._subscriptions and listener not in self._to_subscribe
                and not self._live(CallKind.SUBSCRIBE, listener)):
            self._ask(Subscribe(listener=listener), event.now)

    def _note_alive(self, event: _Event) -> None:
        self._alive(event.asked)

    def _count_failure(self, event: _Event) -> None:
        assert isinstance(event.outcome, CallFailed)
        self._failures += 1
        call = event.outcome.call
        if isinstance(call, Subscribe):
            self._to_subscribe[call.listener] = None
        elif isinstance(call, Unsubscribe):
            self._to_unsubscribe[(call.listener, call.subscription_id)] = None

    def _drop_session(self) -> None:
        """The session is gone, and its subscriptions with it; its calls' outcomes will be absorbed."""
        for listener, subscription_id in self._subscriptions.items():
            self._forget(listener, subscription_id)
        for listener, subscription_id in self._to_unsubscribe:
            self._forget(listener, subscription_id)
        self._token = None
        self._subscriptions.clear()
        self._to_subscribe.clear()
        self._to_unsubscribe.clear()
        self._failures = 0
        for asked in self._asked:
            asked.live = asked.expired = False

    def _relogin(self, event: _Event) -> None:
        if isinstance(event.outcome, CallFailed):
            self._last_fault = event.outcome.fault
        self._drop_session()
        self._log_in(event)

    def _lose_session(self, event: _Event) -> None:
        self._drop_session()
        self._back_off(event)

    def _back_off(self, event: _Event) -> None:
        if isinstance(event.outcome, CallFailed):
            self._last_fault = event.outcome.fault
        self._retry_at = event.now + self.config.backoff_delay(self._backoffs, event.jitter)
        self._backoffs += 1

    def _give_up(self, event: _Event) -> None:
        if isinstance(event.outcome, CallFailed):
            self._last_fault = event.outcome.fault
        last = f"; the last failure: {self._last_fault.value}" if self._last_fault is not None else ""
        self._ask(
            GiveUp(reason=f"{self._attempts} logins failed in a row (max_attempts={self.config.max_attempts}){last}"),
            event.now,
        )

    def _probe_now(self, event: _Event) -> None:
        if not self._live(CallKind.PROBE):
            self._ask(Probe(operation=self.config.probe_operation), event.now)

    def _tick(self, event: _Event) -> None:
        now = event.now
        for asked in self._expiring(now):
            # No outcome within probe_timeout: a failure (its outcome, if it comes, is absorbed, unless it says
            # the session is gone).
            asked.live = False
            asked.expired = True
            self._failures += 1
        if now >= self._next_round:
            # The seed: detect a failover by polling. Failed subscribes and unsubscribes ride on the same round.
            self._next_round = now + self.config.probe_interval
            if not self._live(CallKind.PROBE):
                self._ask(Probe(operation=self.config.probe_operation), now)
            for listener in [name for name in self.config.listeners if name in self._to_subscribe]:
                del self._to_subscribe[listener]
                if not self._live(CallKind.SUBSCRIBE, listener):
                    self._ask(Subscribe(listener=listener), now)
            for listener, subscription_id in list(self._to_unsubscribe):
                self._ask(Unsubscribe(listener=listener, subscription_id=subscription_id), now)
            self._to_unsubscribe.clear()
        covered = self._live(CallKind.PROBE) or self._live(CallKind.KEEP_ALIVE)
        if now >= self._keep_alive_due and not covered:
            self._ask(KeepAlive(operation=self.config.keep_alive_operation), now)

    def _log_off(self, event: _Event) -> None:
        # Subscriptions end with the session: late words about them are absorbed.
        for listener, subscription_id in self._subscriptions.items():
            self._forget(listener, subscription_id)
        self._subscriptions.clear()
        self._to_subscribe.clear()
        self._to_unsubscribe.clear()
        for asked in self._asked:
            asked.live = asked.expired = False
        self._ask(LogOff(), event.now)

    def _log_off_new_session(self, event: _Event) -> None:
        assert isinstance(event.outcome, LoggedIn)
        self._token = event.outcome.token
        self._ask(LogOff(), event.now)

    def _end_session(self, event: _Event) -> None:
        self._token = None
        self._subscriptions.clear()


def _checked_now(now: float) -> float:
    if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
        raise ValueError(f"now must be a finite number of seconds, not {now!r}")
    return float(now)


#: Success outcomes: the input each is, and which outstanding call it answers.
_ANSWERS: dict[type[Outcome], tuple[Input, Callable[[Call, Outcome], bool]]] = {
    LoggedIn: (Input.LOGGED_IN, lambda call, outcome: isinstance(call, LogIn)),
    LoggedOff: (Input.LOGGED_OFF, lambda call, outcome: isinstance(call, LogOff)),
    ProbeSucceeded: (Input.PROBE_SUCCEEDED, lambda call, outcome: isinstance(call, Probe)),
    KeepAliveSucceeded: (Input.KEEP_ALIVE_SUCCEEDED, lambda call, outcome: isinstance(call, KeepAlive)),
    Subscribed: (
        Input.SUBSCRIBED,
        lambda call, outcome: isinstance(call, Subscribe) and isinstance(outcome, Subscribed)
        and call.listener == outcome.listener,
    ),
    Unsubscribed: (
        Input.UNSUBSCRIBED,
        lambda call, outcome: isinstance(call, Unsubscribe) and isinstance(outcome, Unsubscribed)
        and (call.listener, call.subscription_id) == (outcome.listener, outcome.subscription_id),
    ),
}

#: The call a success outcome answers, for the error about one that answers nothing.
_EXPECTED: dict[type[Outcome], str] = {
    LoggedIn: "LogIn", LoggedOff: "LogOff", ProbeSucceeded: "Probe", KeepAliveSucceeded: "KeepAlive",
}

_GUARDS: dict[Guard, Callable[[Supervisor, _Event], bool]] = {
    Guard.HAS_LISTENERS: Supervisor._has_listeners,
    Guard.COMPLETES_SUBSCRIPTIONS: Supervisor._completes_subscriptions,
    Guard.FAILURE_TOLERATED: Supervisor._failure_tolerated,
    Guard.EXPIRIES_TOLERATED: Supervisor._expiries_tolerated,
    Guard.ATTEMPTS_LEFT: Supervisor._attempts_left,
    Guard.LOGIN_DUE: Supervisor._login_due,
}

_EFFECTS: dict[Effect, Callable[[Supervisor, _Event], None]] = {
    Effect.NOTHING: Supervisor._nothing,
    Effect.LOG_IN: Supervisor._log_in,
    Effect.TAKE_SESSION: Supervisor._take_session,
    Effect.HOLD_SUBSCRIPTION: Supervisor._hold_subscription,
    Effect.RELEASE_SUBSCRIPTION: Supervisor._release_subscription,
    Effect.RESUBSCRIBE: Supervisor._resubscribe,
    Effect.RETRY_SUBSCRIBE_LATER: Supervisor._retry_subscribe_later,
    Effect.ABANDON_UNSUBSCRIBE: Supervisor._abandon_unsubscribe,
    Effect.RENEW_SUBSCRIPTION: Supervisor._renew_subscription,
    Effect.NOTE_ALIVE: Supervisor._note_alive,
    Effect.COUNT_FAILURE: Supervisor._count_failure,
    Effect.RELOGIN: Supervisor._relogin,
    Effect.LOSE_SESSION: Supervisor._lose_session,
    Effect.BACK_OFF: Supervisor._back_off,
    Effect.GIVE_UP: Supervisor._give_up,
    Effect.PROBE_NOW: Supervisor._probe_now,
    Effect.TICK: Supervisor._tick,
    Effect.LOG_OFF: Supervisor._log_off,
    Effect.LOG_OFF_NEW_SESSION: Supervisor._log_off_new_session,
    Effect.END_SESSION: Supervisor._end_session,
}
