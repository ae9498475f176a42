"""The CCT session supervisor under random faults, failovers, notifications and timings (hypothesis).

A small simulated CCT server (sessions, subscriptions, Hot Standby failovers that lose every session and go down
for a while, Mission Critical ones that keep them, transport blips, refusals) and an integrator that makes every
call the supervisor asks for and reports only what the server answered. After every step the invariants hold:

1. it never asks for any call but ``LogIn`` (and ``GiveUp``) while it holds no session, nor ``LogIn`` while it
   holds one;
2. after every ``LoggedIn`` it asks to subscribe every configured listener, and it is ACTIVE only once every one
   holds a subscription;
3. while it keeps a session, ``get_timer()`` is never later than the last reset + session_timeout -
   keep_alive_margin, unless a probe or keep-alive is in flight (then never later than its answer's deadline);
4. every back-off delay is within [backoff_initial / 2, backoff_max], a timer is always set while backing off, and
   it gives up exactly when max_attempts logins in a row have failed;
5. it unsubscribes a listener's old subscription only after a new one of that listener was ``Subscribed``.

At the end the server comes back for good: the supervisor gets back to ACTIVE (unless it gave up), and ``stop``
logs the session off.
"""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto.cct.config import SupervisorConfig
from ccproto.cct.states import KEEPING_STATES, FaultKind, State
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
    SessionTerminationImminent,
    Subscribe,
    Subscribed,
    Supervisor,
    Unsubscribe,
    Unsubscribed,
)

LISTENERS = ("agents", "calls", "stats")


@st.composite
def configs(draw: st.DrawFn) -> SupervisorConfig:
    timeout = draw(st.floats(60.0, 1200.0))
    margin = timeout * draw(st.floats(0.05, 0.5))
    initial = draw(st.floats(0.5, 20.0))
    return SupervisorConfig(
        listeners=tuple(draw(st.lists(st.sampled_from(LISTENERS), unique=True, max_size=3))),
        session_timeout=timeout,
        keep_alive_margin=margin,
        probe_timeout=margin * draw(st.floats(0.05, 0.9)),
        probe_interval=draw(st.floats(1.0, 2 * timeout)),
        failure_threshold=draw(st.integers(1, 4)),
        backoff_initial=initial,
        backoff_max=initial * draw(st.floats(1.0, 50.0)),
        max_attempts=draw(st.none() | st.integers(1, 6)),
    )


@attrs.define
class Server:
    """A CCT server as far as sessions go: who is logged in, which subscriptions exist, whether it answers."""

    up: bool = True
    sessions: set[str] = attrs.Factory(set)
    subscriptions: dict[str, tuple[str, str]] = attrs.Factory(dict)  # id -> (token, listener)
    made: int = 0

    def fresh(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}-{self.made}"

    def lose_everything(self) -> None:
        """Hot or Warm Standby: no session survives the switchover."""
        self.sessions.clear()
        self.subscriptions.clear()

    def execute(self, call: Call, token: str | None, fault: FaultKind | None) -> Outcome:
        """What the call made with ``token`` gets; ``fault`` is a fault the test injects (a blip, a refusal)."""
        assert not isinstance(call, GiveUp)
        if not self.up or fault is FaultKind.TRANSPORT:
            return CallFailed(call=call, fault=FaultKind.TRANSPORT)
        if isinstance(call, LogIn):
            if fault is not None:
                return CallFailed(call=call, fault=FaultKind.OTHER)
            new = self.fresh("token")
            self.sessions.add(new)
            return LoggedIn(token=new)
        if token not in self.sessions:
            return CallFailed(call=call, fault=FaultKind.SESSION_NOT_CREATED)
        assert token is not None
        if fault is FaultKind.OTHER:
            return CallFailed(call=call, fault=FaultKind.OTHER)
        if isinstance(call, Subscribe):
            new = self.fresh(call.listener)
            self.subscriptions[new] = (token, call.listener)
            return Subscribed(listener=call.listener, subscription_id=new)
        if isinstance(call, Unsubscribe):
            if self.subscriptions.pop(call.subscription_id, None) is None:
                return CallFailed(call=call, fault=FaultKind.OTHER)  # UnsubscribeFailedFault
            return Unsubscribed(listener=call.listener, subscription_id=call.subscription_id)
        if isinstance(call, LogOff):
            self.sessions.discard(token)
            for key in [key for key, (owner, _) in self.subscriptions.items() if owner == token]:
                del self.subscriptions[key]
            return LoggedOff()
        return ProbeSucceeded() if isinstance(call, Probe) else KeepAliveSucceeded()


@attrs.define
class Asked:
    """A call the integrator still has to make (with the token it was asked under)."""

    call: Call
    token: str | None
    asked_at: float
    expired: bool = False


@attrs.define
class Harness:
    """The integrator: it makes what it is asked, reports what the server answers, and checks the invariants."""

    sup: Supervisor
    server: Server = attrs.Factory(Server)
    now: float = 0.0
    pending: list[Asked] = attrs.Factory(list)
    #: The supervisor's session's timeout was last reset no earlier than this (the model's own reckoning).
    last_reset: float = 0.0
    failed_logins: int = 0
    #: (listener, subscription id) -> whether a newer subscription of that listener was Subscribed since.
    replaced: dict[tuple[str, str], bool] = attrs.Factory(dict)
    gave_up: bool = False
    relogins: int = 0
    #: Probes and keep-alives of the held session that succeeded.
    proofs: int = 0
    stopped: bool = False

    @property
    def cfg(self) -> SupervisorConfig:
        return self.sup.config

    def start(self) -> None:
        self.took(self.sup.start(self.now), before=self.sup.state, outcome=None)

    # -- what the integrator does ---------------------------------------------------------------------------

    def answer(self, index: int, fault: FaultKind | None) -> None:
        """Make the ``index``-th call among the oldest of each kind of call, and report its outcome."""
        firsts = [a for i, a in enumerate(self.pending) if all(b.call != a.call for b in self.pending[:i])]
        asked = firsts[index % len(firsts)]
        self.pending.remove(asked)
        outcome = self.server.execute(asked.call, asked.token, fault)
        # An Unsubscribed resets nothing: it may be the server's own word (the supervisor cannot tell).
        if isinstance(outcome, (ProbeSucceeded, KeepAliveSucceeded, Subscribed)) and (
            asked.token is not None and asked.token == self.sup.token and not asked.expired
        ):
            self.last_reset = max(self.last_reset, asked.asked_at)
            if not isinstance(outcome, Subscribed):
                self.proofs += 1
        if isinstance(outcome, LoggedIn) and self.sup.state is State.LOGGING_IN:
            self.last_reset = asked.asked_at
        self.report(outcome)

    def report(self, outcome: Outcome, jitter: float = 0.5) -> None:
        before = self.sup.state
        calls = self.sup.handle(outcome, now=self.now, jitter=jitter)
        self.took(calls, before=before, outcome=outcome)

    def advance(self, step: float, jitter: float) -> None:
        """Let time pass: up to the supervisor's timer, which is then handled exactly when it is due."""
        timer = self.sup.get_timer()
        target = self.now + step
        if timer is not None and timer <= target:
            self.now = max(self.now, timer)
            self.poke(jitter)
        else:
            self.now = target

    def poke(self, jitter: float) -> None:
        """``handle_timer(now)``, whether or not anything is due."""
        if self.sup.state in KEEPING_STATES:
            for asked in self.pending:
                if isinstance(asked.call, (Probe, KeepAlive)) and asked.asked_at + self.cfg.probe_timeout <= self.now:
                    asked.expired = True  # the supervisor counts it failed; its outcome will be absorbed
        before = self.sup.state
        self.took(self.sup.handle_timer(self.now, jitter=jitter), before=before, outcome=None)

    # -- the invariants, after every step ---------------------------------------------------------------------

    def took(self, calls: list[Call], *, before: State, outcome: Outcome | None) -> None:
        sup = self.sup
        if isinstance(outcome, Subscribed) and outcome.subscription_id in sup.subscriptions.values():
            self.note_subscribed(outcome)  # held: it answered a live Subscribe (a stale one's is absorbed)
        for call in calls:
            if not sup.has_session:
                assert isinstance(call, (LogIn, GiveUp)), f"{call} asked without a session (1)"
            else:
                assert not isinstance(call, LogIn), "LogIn asked while a session is held (1)"
            if isinstance(call, Unsubscribe):
                assert self.replaced.get((call.listener, call.subscription_id)), (
                    f"{call} asked before a new subscription of {call.listener} was Subscribed (5)"
                )
            if isinstance(call, GiveUp):
                self.gave_up = True
            else:
                self.pending.append(Asked(call, sup.token, self.now))
        if isinstance(outcome, LoggedIn) and before is State.LOGGING_IN:
            assert calls == [Subscribe(listener=name) for name in self.cfg.listeners], "(2)"
            assert sup.state is (State.SUBSCRIBING if self.cfg.listeners else State.ACTIVE)
            self.failed_logins = 0
            self.relogins += 1
        if isinstance(outcome, CallFailed) and isinstance(outcome.call, LogIn) and before is State.LOGGING_IN:
            self.failed_logins += 1
            limit = self.cfg.max_attempts
            assert (limit is not None and self.failed_logins >= limit) == (sup.state is State.GIVEN_UP), "(4)"
        if sup.state is State.ACTIVE:
            assert set(sup.subscriptions) == set(self.cfg.listeners), "ACTIVE with a listener unsubscribed (2)"
        if sup.state is State.BACKING_OFF:
            timer = sup.get_timer()
            assert timer is not None, "backing off with no timer (4)"
            if before is not State.BACKING_OFF:
                delay = timer - self.now
                slack = 1e-9 * max(1.0, abs(self.now))
                assert self.cfg.backoff_initial / 2 - slack <= delay <= self.cfg.backoff_max + slack, delay
        if sup.state in KEEPING_STATES:
            self.check_keep_alive()
        if sup.state is State.GIVEN_UP:
            assert self.gave_up

    def note_subscribed(self, outcome: Subscribed) -> None:
        if (outcome.listener, outcome.subscription_id) in self.replaced:
            return
        for listener, subscription_id in self.replaced:
            if listener == outcome.listener:
                self.replaced[(listener, subscription_id)] = True
        self.replaced[(outcome.listener, outcome.subscription_id)] = False

    def check_keep_alive(self) -> None:
        timer = self.sup.get_timer()
        assert timer is not None, "a kept session with no timer (3)"
        due = self.last_reset + self.cfg.session_timeout - self.cfg.keep_alive_margin
        in_flight = [
            a.asked_at + self.cfg.probe_timeout for a in self.pending
            if isinstance(a.call, (Probe, KeepAlive)) and not a.expired and a.token == self.sup.token
        ]
        if in_flight:
            assert timer <= max(due, min(in_flight)), (timer, due, in_flight)
        else:
            assert timer <= due, f"timer {timer} after the keep-alive due at {due} (3)"


FAULTS = st.sampled_from([None, None, None, None, FaultKind.TRANSPORT, FaultKind.OTHER])

STEPS = st.one_of(
    # The integrator makes every call it was asked for, oldest first; the k-th answer gets the k-th fault drawn.
    st.tuples(st.just("answer-all"), st.lists(FAULTS, max_size=6)),
    st.tuples(st.just("answer-all"), st.just([])),
    # One call, any of them (out of order).
    st.tuples(st.just("answer"), st.integers(0, 20), FAULTS),
    st.tuples(st.just("advance"), st.floats(0.0, 2500.0), st.floats(0.0, 1.0, exclude_max=True)),
    st.tuples(st.just("advance"), st.floats(0.0, 2500.0), st.floats(0.0, 1.0, exclude_max=True)),
    # handle_timer whether or not anything is due.
    st.tuples(st.just("poke"), st.floats(0.0, 1.0, exclude_max=True)),
    # A while of normal running: answer everything, wait for the timer, n times (faults drawn as above).
    st.tuples(st.just("run"), st.integers(1, 8), st.lists(FAULTS, max_size=12),
              st.floats(0.0, 1.0, exclude_max=True)),
    st.tuples(st.just("hot-failover")),
    st.tuples(st.just("recover")),
    st.tuples(st.just("mission-critical-failover"), st.booleans()),
    st.tuples(st.just("terminate"), st.booleans()),
    st.tuples(st.just("imminent")),
    st.tuples(st.just("end-subscription"), st.integers(0, 20)),
    st.tuples(st.just("renew"), st.sampled_from(LISTENERS)),
    st.tuples(st.just("stop")),
)


def run_step(h: Harness, step: tuple[Any, ...]) -> None:
    kind = step[0]
    if kind == "answer-all":
        faults = list(step[1])
        for _ in range(20):
            if not h.pending:
                break
            h.answer(0, faults.pop(0) if faults else None)
    elif kind == "run":
        faults = list(step[2])
        for _ in range(step[1]):
            for _ in range(20):
                if not h.pending:
                    break
                h.answer(0, faults.pop(0) if faults else None)
            h.advance(10 * h.cfg.session_timeout + h.cfg.backoff_max, step[3])
    elif kind == "poke":
        h.poke(step[1])
    elif kind == "answer" and h.pending:
        h.answer(step[1], step[2])
    elif kind == "advance":
        h.advance(step[1], step[2])
    elif kind == "hot-failover":
        h.server.lose_everything()
        h.server.up = False
    elif kind == "recover":
        h.server.up = True
    elif kind == "mission-critical-failover":
        if step[1]:
            h.report(HaSwitch())  # the optional courtesy notification
    elif kind == "terminate":
        token = h.sup.token
        if token in h.server.sessions:
            h.server.sessions.discard(token)
            for key in [key for key, (owner, _) in h.server.subscriptions.items() if owner == token]:
                del h.server.subscriptions[key]
            h.report(SessionTerminated())
        elif step[1]:
            h.report(SessionTerminated())  # late: about a session already gone
    elif kind == "imminent":
        h.report(SessionTerminationImminent())
    elif kind == "end-subscription" and h.server.subscriptions:
        ids = sorted(h.server.subscriptions)
        ended = ids[step[1] % len(ids)]
        _, listener = h.server.subscriptions.pop(ended)
        h.report(Unsubscribed(listener=listener, subscription_id=ended))
    elif kind == "renew" and step[1] in h.cfg.listeners and h.sup.state in RENEWABLE:
        before = h.sup.state
        h.took(h.sup.renew(step[1], now=h.now), before=before, outcome=None)
    elif kind == "stop":
        before = h.sup.state
        h.took(h.sup.stop(h.now), before=before, outcome=None)
        h.stopped = True


#: Where ``renew`` is taken (elsewhere it is refused: nothing to renew, or stopping).
RENEWABLE = (State.LOGGING_IN, State.BACKING_OFF, State.SUBSCRIBING, State.ACTIVE)


def settle(h: Harness) -> None:
    """The server is back for good and answers everything: the supervisor must get back to ACTIVE."""
    h.server.up = True
    proofs = h.proofs
    for _ in range(400):
        if h.sup.state is State.GIVEN_UP or (
            h.sup.state is State.ACTIVE and h.proofs > proofs
            and not any(isinstance(a.call, (Subscribe, Unsubscribe, LogIn)) for a in h.pending)
        ):
            break
        if h.pending:
            h.answer(0, None)
        else:
            h.advance(10 * h.cfg.session_timeout + h.cfg.backoff_max, 0.5)
    assert h.sup.state in (State.ACTIVE, State.GIVEN_UP), h.sup
    if h.sup.state is State.ACTIVE:
        assert set(h.sup.subscriptions) == set(h.cfg.listeners)
        held = set(h.sup.subscriptions.values())
        assert held <= set(h.server.subscriptions), "holds a subscription the server does not have"


@settings(max_examples=500, deadline=None)
@given(cfg=configs(), steps=st.lists(STEPS, min_size=5, max_size=80))
def test_invariants_hold_under_random_faults_failovers_and_timings(
    cfg: SupervisorConfig, steps: list[tuple[Any, ...]]
) -> None:
    h = Harness(Supervisor(cfg))
    h.start()
    for step in steps:
        run_step(h, step)
    if h.stopped:
        # Stopped on the way: once everything asked is answered, it ends in a final state, holding nothing.
        h.server.up = True
        while h.pending:
            h.answer(0, None)
        assert h.sup.state in (State.STOPPED, State.GIVEN_UP)
        assert not h.sup.has_session
        assert h.sup.get_timer() is None
        return
    settle(h)
    if h.sup.state is State.ACTIVE:
        before = h.sup.state
        h.took(h.sup.stop(h.now), before=before, outcome=None)
        assert h.sup.state is State.LOGGING_OFF
        while h.pending:
            h.answer(-1, None)  # the LogOff last asked, then whatever was in flight
        assert h.sup.state is State.STOPPED
        assert not h.sup.has_session


@settings(max_examples=100, deadline=None)
@given(
    cfg=configs(), failures=st.integers(0, 12), jitters=st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=12,
                                                               max_size=12),
)
def test_relogin_is_asked_again_until_max_attempts(cfg: SupervisorConfig, failures: int, jitters: list[float]) -> None:
    sup = Supervisor(cfg)
    assert sup.start(0.0) == [LogIn()]
    now = 0.0
    limit = cfg.max_attempts
    for n in range(1, failures + 1):
        calls = sup.handle(CallFailed(call=LogIn(), fault=FaultKind.TRANSPORT), now=now, jitter=jitters[n - 1])
        if limit is not None and n >= limit:
            assert len(calls) == 1
            assert isinstance(calls[0], GiveUp)
            assert sup.state is State.GIVEN_UP
            return
        assert calls == []
        timer = sup.get_timer()
        assert timer is not None
        ceiling = min(cfg.backoff_max, cfg.backoff_initial * 2.0 ** (n - 1))
        assert ceiling / 2 - 1e-9 <= timer - now <= ceiling + 1e-9
        now = timer
        assert sup.handle_timer(now) == [LogIn()]
    assert sup.state is State.LOGGING_IN
