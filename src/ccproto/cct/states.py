"""The CCT session supervisor's rules, as data.

:data:`TRANSITIONS` holds every rule :class:`~ccproto.cct.supervisor.Supervisor` follows: for a state and what
happened (an :class:`Input`: an outcome the integrator reports, a notification, the timer, ``start``, ``stop``,
``renew``), which :class:`Effect` runs and which state comes next, or, where a :class:`Guard` decides, which of two.
The supervisor only looks rows up and does the bookkeeping (timers, counts, the held subscriptions); a
combination that is absent is refused (``UnexpectedOutcomeError``). ``docs/cct.md``'s diagram and table are
generated from this module.

Where each rule comes from (``/work/shared/notes/cct.md`` has the sources):

* the seed (000, "Important Notes" on high availability): the client itself detects a failover (by polling),
  re-establishes its session after the switchover and re-registers every event listener it needs;
* Avaya support document 101090657: every call but ``GetVersion`` resets the session timeout; a short timeout
  with a keep-alive is best practice; session termination and termination-imminent notifications exist; Hot and
  Warm Standby lose sessions, Mission Critical keeps them (with an optional courtesy HA-switch notification), and
  polling is recommended over relying on the notification;
* the public WSDLs: almost every operation can fault with ``SessionNotCreatedException``;
* the one public client: it polls ``GetLicenseConsumedCount``; it re-subscribes new first, then unsubscribes the
  old subscription.
"""

from __future__ import annotations

import attrs

from ccproto.core.roles import IdentityEnum

__all__ = [
    "FAILURE_INPUTS",
    "FINAL_STATES",
    "HINTS",
    "KEEPING_STATES",
    "SESSION_STATES",
    "TRANSITIONS",
    "CallKind",
    "Effect",
    "FaultKind",
    "Guard",
    "Input",
    "State",
    "Step",
    "Transition",
    "mermaid_diagram",
]


class State(IdentityEnum):
    """Where a CCT client's session supervisor is."""

    #: Not started: ``start(now)`` asks for the first login.
    IDLE = "idle"
    #: A ``LogIn`` is outstanding; no session is held.
    LOGGING_IN = "logging-in"
    #: No session; waiting out the re-login back-off (the timer asks for ``LogIn``).
    BACKING_OFF = "backing-off"
    #: A session is held, but not every configured listener holds a subscription yet.
    SUBSCRIBING = "subscribing"
    #: A session is held and every configured listener holds a subscription.
    ACTIVE = "active"
    #: ``stop`` came while a ``LogIn`` was outstanding: a session it creates is logged off at once.
    STOPPING = "stopping"
    #: ``LogOff`` is outstanding.
    LOGGING_OFF = "logging-off"
    #: Final: stopped (logged off, or never logged in).
    STOPPED = "stopped"
    #: Final: ``max_attempts`` logins failed in a row; ``GiveUp`` was asked.
    GIVEN_UP = "given-up"


#: States in which a session is held (its token is valid as far as the supervisor knows).
SESSION_STATES = frozenset({State.SUBSCRIBING, State.ACTIVE, State.LOGGING_OFF})
#: States in which the held session is kept: probed, kept alive, its subscriptions renewed.
KEEPING_STATES = frozenset({State.SUBSCRIBING, State.ACTIVE})
#: States nothing leaves.
FINAL_STATES = frozenset({State.STOPPED, State.GIVEN_UP})


class FaultKind(IdentityEnum):
    """How a call failed, as far as the supervisor cares."""

    #: The ``SessionNotCreatedException`` fault (public WSDLs): the server does not know the session.
    SESSION_NOT_CREATED = "SessionNotCreatedException"
    #: No SOAP answer: connection refused, timed out, HTTP 5xx without a SOAP fault.
    TRANSPORT = "transport"
    #: Any other SOAP fault (``SubscribeFailedFault``, ``UnsubscribeFailedFault``, an operation's own fault...).
    OTHER = "other"


class CallKind(IdentityEnum):
    """The kinds of call the supervisor asks the integrator to make."""

    LOG_IN = "LogIn"
    SUBSCRIBE = "Subscribe"
    UNSUBSCRIBE = "Unsubscribe"
    PROBE = "Probe"
    KEEP_ALIVE = "KeepAlive"
    LOG_OFF = "LogOff"
    GIVE_UP = "GiveUp"


class Input(IdentityEnum):
    """What happened, as the table sees it."""

    START = "start"
    STOP = "stop"
    #: ``handle_timer(now)``.
    TIMER = "timer"
    #: ``renew(listener)``: the integrator wants a live subscription replaced.
    RENEW = "renew"
    LOGGED_IN = "LoggedIn"
    #: The ``LogIn`` failed (any fault).
    LOGIN_FAILED = "LogIn failed"
    SUBSCRIBED = "Subscribed"
    #: A ``Subscribe`` failed with a SOAP fault other than ``SessionNotCreatedException``.
    SUBSCRIBE_REFUSED = "Subscribe refused"
    #: ``Unsubscribed`` answering an ``Unsubscribe`` the supervisor asked for.
    UNSUBSCRIBED = "Unsubscribed"
    #: ``Unsubscribed`` for a held subscription nobody asked to end: the server ended it.
    SUBSCRIPTION_ENDED = "Unsubscribed (not asked)"
    #: An ``Unsubscribe`` failed with a SOAP fault other than ``SessionNotCreatedException``.
    UNSUBSCRIBE_REFUSED = "Unsubscribe refused"
    PROBE_SUCCEEDED = "ProbeSucceeded"
    KEEP_ALIVE_SUCCEEDED = "KeepAliveSucceeded"
    #: A call on the session failed without saying the session is gone: a transport error on any call, or any
    #: other fault of a probe or keep-alive. Counts towards ``failure_threshold``.
    CALL_FAILED = "call failed"
    #: A call on the session faulted with ``SessionNotCreatedException``.
    SESSION_NOT_CREATED = "SessionNotCreatedException"
    SESSION_TERMINATED = "SessionTerminated"
    TERMINATION_IMMINENT = "SessionTerminationImminent"
    HA_SWITCH = "HaSwitch"
    LOGGED_OFF = "LoggedOff"
    #: The ``LogOff`` failed (any fault).
    LOGOFF_FAILED = "LogOff failed"


class Effect(IdentityEnum):
    """What runs on a transition (the supervisor's bookkeeping for each)."""

    NOTHING = "nothing"
    #: Ask for ``LogIn`` (one more attempt).
    LOG_IN = "log in"
    #: Hold the new session (token, counters reset) and ask to subscribe every configured listener.
    TAKE_SESSION = "take session, subscribe all"
    #: Hold the new subscription; if it replaces a held one, now ask to unsubscribe the old one.
    HOLD_SUBSCRIPTION = "hold subscription, unsubscribe replaced"
    #: The asked-for unsubscribe is done.
    RELEASE_SUBSCRIPTION = "release subscription"
    #: The server ended a held subscription: subscribe the listener again.
    RESUBSCRIBE = "subscribe again"
    #: Retry the refused subscribe at the next probe round.
    RETRY_SUBSCRIBE_LATER = "retry subscribe next round"
    #: The server refused to unsubscribe: forget the old subscription (it ends with the session).
    ABANDON_UNSUBSCRIBE = "abandon unsubscribe"
    #: Ask to subscribe a listener again while it keeps its held subscription (new first, then old).
    RENEW_SUBSCRIPTION = "subscribe new (keep old)"
    #: The session answered: failures reset, timeout reset.
    NOTE_ALIVE = "note alive"
    #: One more consecutive failure; a failed subscribe or unsubscribe is retried at the next probe round.
    COUNT_FAILURE = "count failure"
    #: The session is gone: drop it and its subscriptions, ask for ``LogIn`` now.
    RELOGIN = "drop session, log in"
    #: The session is lost (failure threshold): drop it and its subscriptions, back off before ``LogIn``.
    LOSE_SESSION = "drop session, back off"
    #: Back off before the next ``LogIn``.
    BACK_OFF = "back off"
    #: Ask for ``GiveUp``.
    GIVE_UP = "give up"
    #: Ask for a probe now (unless one is outstanding).
    PROBE_NOW = "probe now"
    #: Expire unanswered probes and keep-alives, run the probe round (probe, retries) and the keep-alive when due.
    TICK = "tick"
    #: Ask for ``LogOff``.
    LOG_OFF = "log off"
    #: Hold the session a late ``LoggedIn`` created, and ask for ``LogOff`` at once.
    LOG_OFF_NEW_SESSION = "log off new session"
    #: The session is over.
    END_SESSION = "end session"


class Guard(IdentityEnum):
    """A condition that picks one of a transition's two steps (evaluated before either runs)."""

    #: At least one listener is configured.
    HAS_LISTENERS = "listeners configured"
    #: The reported subscription leaves no configured listener without one.
    COMPLETES_SUBSCRIPTIONS = "last missing subscription"
    #: One more failure stays below ``failure_threshold``.
    FAILURE_TOLERATED = "below failure threshold"
    #: The probes and keep-alives expiring now stay below ``failure_threshold``.
    EXPIRIES_TOLERATED = "expiries below failure threshold"
    #: ``max_attempts`` is ``None`` or more than the logins tried so far.
    ATTEMPTS_LEFT = "attempts left"
    #: The back-off is over.
    LOGIN_DUE = "back-off over"


@attrs.frozen(kw_only=True)
class Step:
    """One way a transition goes: the effect that runs and the next state."""

    effect: Effect
    target: State


@attrs.frozen(kw_only=True)
class Transition:
    """A table row's value: ``then``, or, when ``guard`` does not hold, ``otherwise``."""

    then: Step
    guard: Guard | None = None
    otherwise: Step | None = None

    def step(self, holds: bool) -> Step:
        """The step taken when the guard holds (``holds``) or not."""
        if self.guard is None or holds:
            return self.then
        assert self.otherwise is not None
        return self.otherwise

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step this row can take."""
        return (self.then,) if self.otherwise is None else (self.then, self.otherwise)


def _go(effect: Effect, target: State) -> Transition:
    return Transition(then=Step(effect=effect, target=target))


def _if(guard: Guard, then: tuple[Effect, State], otherwise: tuple[Effect, State]) -> Transition:
    return Transition(
        then=Step(effect=then[0], target=then[1]), guard=guard, otherwise=Step(effect=otherwise[0], target=otherwise[1])
    )


_NOTIFICATIONS = (Input.SESSION_TERMINATED, Input.TERMINATION_IMMINENT, Input.HA_SWITCH)


def _ignored(state: State, *inputs: Input) -> dict[tuple[State, Input], Transition]:
    return {(state, input_): _go(Effect.NOTHING, state) for input_ in inputs}


def _keeping(state: State) -> dict[tuple[State, Input], Transition]:
    """The rows of a state that keeps a session (SUBSCRIBING, ACTIVE): the same effects; ACTIVE once every
    listener holds a subscription, SUBSCRIBING again when one loses its own."""
    subscribed = (
        # The seed: re-register every listener; ACTIVE once the last one is held.
        _if(
            Guard.COMPLETES_SUBSCRIPTIONS,
            (Effect.HOLD_SUBSCRIPTION, State.ACTIVE),
            (Effect.HOLD_SUBSCRIPTION, State.SUBSCRIBING),
        )
        if state is State.SUBSCRIBING
        # ACTIVE: every listener holds one already, so this is a renewal's new subscription.
        else _go(Effect.HOLD_SUBSCRIPTION, State.ACTIVE)
    )
    return {
        (state, Input.SUBSCRIBED): subscribed,
        (state, Input.SUBSCRIBE_REFUSED): _go(Effect.RETRY_SUBSCRIBE_LATER, state),
        (state, Input.UNSUBSCRIBED): _go(Effect.RELEASE_SUBSCRIPTION, state),
        (state, Input.SUBSCRIPTION_ENDED): _go(Effect.RESUBSCRIBE, State.SUBSCRIBING),
        (state, Input.UNSUBSCRIBE_REFUSED): _go(Effect.ABANDON_UNSUBSCRIBE, state),
        (state, Input.RENEW): _go(Effect.RENEW_SUBSCRIPTION, state),
        # Support document 101090657: every call but GetVersion resets the session timeout.
        (state, Input.PROBE_SUCCEEDED): _go(Effect.NOTE_ALIVE, state),
        (state, Input.KEEP_ALIVE_SUCCEEDED): _go(Effect.NOTE_ALIVE, state),
        # Hot and Warm Standby lose sessions: enough failures in a row and the session is taken as lost.
        (state, Input.CALL_FAILED): _if(
            Guard.FAILURE_TOLERATED, (Effect.COUNT_FAILURE, state), (Effect.LOSE_SESSION, State.BACKING_OFF)
        ),
        (state, Input.TIMER): _if(
            Guard.EXPIRIES_TOLERATED, (Effect.TICK, state), (Effect.LOSE_SESSION, State.BACKING_OFF)
        ),
        # The session is gone (the server says so): nothing but a login until a new session.
        (state, Input.SESSION_NOT_CREATED): _go(Effect.RELOGIN, State.LOGGING_IN),
        (state, Input.SESSION_TERMINATED): _go(Effect.RELOGIN, State.LOGGING_IN),
        # Support document 101090657: poll rather than rely on the notifications; they only make it poll now.
        (state, Input.TERMINATION_IMMINENT): _go(Effect.PROBE_NOW, state),
        (state, Input.HA_SWITCH): _go(Effect.PROBE_NOW, state),
        # Clients must destroy the sessions they no longer need (support document 101090657).
        (state, Input.STOP): _go(Effect.LOG_OFF, State.LOGGING_OFF),
    }


#: (state, input) -> transition.  An absent combination is refused (``UnexpectedOutcomeError``).
TRANSITIONS: dict[tuple[State, Input], Transition] = {
    (State.IDLE, Input.START): _go(Effect.LOG_IN, State.LOGGING_IN),
    (State.IDLE, Input.STOP): _go(Effect.NOTHING, State.STOPPED),
    **_ignored(State.IDLE, Input.TIMER),
    # Logging in. A session it creates needs every listener (the seed); a failed login is retried with back-off.
    (State.LOGGING_IN, Input.LOGGED_IN): _if(
        Guard.HAS_LISTENERS, (Effect.TAKE_SESSION, State.SUBSCRIBING), (Effect.TAKE_SESSION, State.ACTIVE)
    ),
    (State.LOGGING_IN, Input.LOGIN_FAILED): _if(
        Guard.ATTEMPTS_LEFT, (Effect.BACK_OFF, State.BACKING_OFF), (Effect.GIVE_UP, State.GIVEN_UP)
    ),
    (State.LOGGING_IN, Input.STOP): _go(Effect.NOTHING, State.STOPPING),
    # No session yet: a notification (about a session already dropped) and a renewal change nothing; the login's
    # subscriptions are new anyway.
    **_ignored(State.LOGGING_IN, Input.TIMER, Input.RENEW, *_NOTIFICATIONS),
    (State.BACKING_OFF, Input.TIMER): _if(
        Guard.LOGIN_DUE, (Effect.LOG_IN, State.LOGGING_IN), (Effect.NOTHING, State.BACKING_OFF)
    ),
    (State.BACKING_OFF, Input.STOP): _go(Effect.NOTHING, State.STOPPED),
    **_ignored(State.BACKING_OFF, Input.RENEW, *_NOTIFICATIONS),
    **_keeping(State.SUBSCRIBING),
    **_keeping(State.ACTIVE),
    # Stopping while a login is outstanding: a session it creates is logged off at once.
    (State.STOPPING, Input.LOGGED_IN): _go(Effect.LOG_OFF_NEW_SESSION, State.LOGGING_OFF),
    (State.STOPPING, Input.LOGIN_FAILED): _go(Effect.NOTHING, State.STOPPED),
    **_ignored(State.STOPPING, Input.STOP, Input.TIMER, *_NOTIFICATIONS),
    # Logging off: whatever its outcome, the session is over (a failed LogOff's session times out server-side).
    (State.LOGGING_OFF, Input.LOGGED_OFF): _go(Effect.END_SESSION, State.STOPPED),
    (State.LOGGING_OFF, Input.LOGOFF_FAILED): _go(Effect.END_SESSION, State.STOPPED),
    **_ignored(State.LOGGING_OFF, Input.STOP, Input.TIMER, *_NOTIFICATIONS),
    **_ignored(State.STOPPED, Input.STOP, Input.TIMER, *_NOTIFICATIONS),
    **_ignored(State.GIVEN_UP, Input.STOP, Input.TIMER, *_NOTIFICATIONS),
}

#: How a failed call reads, by the kind of call and of fault.  A call on the session that faults with
#: ``SessionNotCreatedException`` means the session is gone; a transport error is a liveness failure; another
#: fault of a probe or keep-alive is one too (the public client takes any exception of its probe as a failover
#: sign), while another fault of a subscribe or unsubscribe is that call refused.  ``GiveUp`` is not a call that
#: can fail.
FAILURE_INPUTS: dict[tuple[CallKind, FaultKind], Input] = {
    **{(CallKind.LOG_IN, fault): Input.LOGIN_FAILED for fault in FaultKind},
    **{(CallKind.LOG_OFF, fault): Input.LOGOFF_FAILED for fault in FaultKind},
    **{
        (kind, FaultKind.SESSION_NOT_CREATED): Input.SESSION_NOT_CREATED
        for kind in (CallKind.SUBSCRIBE, CallKind.UNSUBSCRIBE, CallKind.PROBE, CallKind.KEEP_ALIVE)
    },
    **{
        (kind, FaultKind.TRANSPORT): Input.CALL_FAILED
        for kind in (CallKind.SUBSCRIBE, CallKind.UNSUBSCRIBE, CallKind.PROBE, CallKind.KEEP_ALIVE)
    },
    (CallKind.PROBE, FaultKind.OTHER): Input.CALL_FAILED,
    (CallKind.KEEP_ALIVE, FaultKind.OTHER): Input.CALL_FAILED,
    (CallKind.SUBSCRIBE, FaultKind.OTHER): Input.SUBSCRIBE_REFUSED,
    (CallKind.UNSUBSCRIBE, FaultKind.OTHER): Input.UNSUBSCRIBE_REFUSED,
}

#: What each state accepts, for the hint of a refused input.
HINTS: dict[State, str] = {
    State.IDLE: "call start(now) first: it asks for LogIn",
    State.LOGGING_IN: "report the LogIn's outcome (LoggedIn or CallFailed); no session is held yet",
    State.BACKING_OFF: "no session is held: wait for get_timer() and call handle_timer(now), which asks for LogIn",
    State.SUBSCRIBING: "report outcomes of the calls asked on the session, or a notification",
    State.ACTIVE: "report outcomes of the calls asked on the session, or a notification",
    State.STOPPING: "report the outstanding LogIn's outcome; the supervisor is stopping",
    State.LOGGING_OFF: "report the LogOff's outcome (LoggedOff or CallFailed)",
    State.STOPPED: "the supervisor has stopped: make a new one to start again",
    State.GIVEN_UP: "the supervisor gave up: make a new one to start again",
}


def mermaid_diagram() -> str:
    """The transition table as a Mermaid state diagram (for docs/cct.md); inputs a state ignores are left out."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.IDLE.name}"]
    edges: dict[tuple[State, State], list[str]] = {}
    for (state, input_), transition in TRANSITIONS.items():
        for step in transition.steps:
            if step.effect is Effect.NOTHING and step.target is state:
                continue  # ignored here (the table in docs/cct.md lists it)
            label = f"{input_.value} / {step.effect.value}"
            if transition.guard is not None:
                negation = "" if step is transition.then else "not "
                label = f"{label} (if {negation}{transition.guard.value})"
            edges.setdefault((state, step.target), []).append(label)
    for (state, target), labels in edges.items():
        lines.append(f"    {state.name} --> {target.name}: " + "<br/>".join(labels))
    for state in sorted(FINAL_STATES, key=lambda s: s.name):
        lines.append(f"    {state.name} --> [*]")
    return "\n".join(lines)
