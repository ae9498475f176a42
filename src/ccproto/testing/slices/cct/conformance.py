"""The conformance machine for a CCT client's session supervisor: it drives the supervisor against a reference server.

An integrator's own supervisor is reached through a :class:`SupervisorAdapter`: the six methods of ccproto's
:class:`~ccproto.cct.supervisor.Supervisor` (so ccproto's supervisor is its own adapter). The machine
(:class:`CctSupervisorConformance`, a hypothesis ``RuleBasedStateMachine``) plays the integrator's loop and the
server: every call the supervisor asks is made at once on a
:class:`~ccproto.testing.slices.cct.server.ReferenceCctServer` (with the token of the last ``LoggedIn`` it was
told), and its outcome is reported back in the order asked, at a time the machine chooses (never before the call
was asked); timers are handled exactly when ``get_timer()`` says. Between
those, the server fails over (every mode), goes down, ends sessions and subscriptions, faults calls; the supervisor is
told of notifications and asked to renew. Every example ends with a fixed tail: the server answers everything at once,
fails over twice without warning, once with a long down time, once in Mission Critical mode, each listener is renewed,
and the supervisor is stopped.

Each duty of :class:`ccproto.cct.duties.Duty` is checked where it can be broken; a broken one raises
:class:`CctConformanceFailure`, whose ``duty`` names it and whose text tells what happened (virtual seconds, sessions
by number: never a token). ``run_cct_conformance(make_adapter)`` runs it.

Why not :class:`~ccproto.testing.harness.ConformanceMachine`: that machine exchanges texts through an adapter's
``send``/``receive``, records them as a capture and lets ``ccproto validate`` judge them; a supervisor exchanges no
text (its calls and outcomes are objects, and CCT's payloads are not public), so there is nothing to record or
validate. The failure still is a :class:`~ccproto.testing.harness.ConformanceFailure` (code: the duty's value).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import attrs
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from ccproto.cct.config import SupervisorConfig, refuses_session_reset
from ccproto.cct.duties import Duty
from ccproto.cct.states import FaultKind
from ccproto.cct.supervisor import (
    Call,
    CallFailed,
    GiveUp,
    KeepAlive,
    LoggedIn,
    LoggedOff,
    LogIn,
    LogOff,
    Outcome,
    Probe,
    SessionTerminationImminent,
    Subscribed,
    Supervisor,
    Unsubscribe,
)
from ccproto.core.roles import Role
from ccproto.testing.conformance import harness_settings
from ccproto.testing.harness import ConformanceFailure
from ccproto.testing.slices.cct.server import EndReason, FailoverMode, ReferenceCctServer
from ccproto.testing.slices.cct.strategies import delays, failovers, faults, jitters, supervisor_configs

__all__ = [
    "CONFORMANCE_CONFIG",
    "CctConformanceFailure",
    "CctSupervisorConformance",
    "SupervisorAdapter",
    "cct_machine",
    "run_cct_conformance",
]


@runtime_checkable
class SupervisorAdapter(Protocol):
    """What an integrator's own CCT session supervisor must offer to be tested: ccproto's
    :class:`~ccproto.cct.supervisor.Supervisor` has exactly these, so it is its own adapter.

    Each method returns the calls to make next, in order (``GiveUp`` asks for no outcome); every other call gets
    exactly one outcome through ``handle``. Time is the ``now`` argument (seconds, never decreasing); ``jitter`` is
    the caller's random draw in [0, 1) for the re-login back-off.
    """

    def start(self, now: float) -> list[Call]:
        """Start: ask for the first login."""
        ...

    def stop(self, now: float) -> list[Call]:
        """Stop: log off a held session."""
        ...

    def renew(self, listener: str, *, now: float) -> list[Call]:
        """Replace ``listener``'s live subscription (new first, then the old one unsubscribed)."""
        ...

    def handle(self, outcome: Outcome, *, now: float, jitter: float = 0.5) -> list[Call]:
        """Take a call's outcome or a notification."""
        ...

    def handle_timer(self, now: float, *, jitter: float = 0.5) -> list[Call]:
        """Do what is due at ``now``."""
        ...

    def get_timer(self) -> float | None:
        """When ``handle_timer`` is next needed (``None``: not until something else happens)."""
        ...


if TYPE_CHECKING:  # ccproto's supervisor is its own adapter (mypy checks it here)
    _SELF_ADAPTER: SupervisorAdapter = Supervisor()

#: The configuration ``run_cct_conformance`` uses unless told otherwise: two listeners (so that "every listener" is
#: not "the one listener"), the defaults otherwise (a probe every 15 s, a 600 s session timeout).
CONFORMANCE_CONFIG = SupervisorConfig(listeners=("agent-events", "call-events"))

#: The longest a failure's text gets (its last lines are kept: they tell how the duty was broken).
TRACE_LINES = 150
#: Timers handled in one time step, at most (a supervisor whose timer never moves on does not hang the machine).
MAX_TIMERS = 2000
#: Iterations of the settling loop, at most.
MAX_SETTLE = 20000
#: Failed logins the tail's long switchover lasts for (enough to see the back-off grow, and a supervisor that
#: gives up too early do so).
DOWN_LOGINS = 4


class CctConformanceFailure(ConformanceFailure):
    """A CCT client's supervisor broke a duty; ``duty`` names it, ``code`` is its value, ``capture`` holds what
    happened (virtual seconds, sessions by number, never a token)."""

    def __init__(self, duty: Duty, reason: str, *, trace: str) -> None:
        super().__init__(reason, protocol="cct", role=Role.CLIENT, capture=trace, code=duty.value)
        #: The duty broken.
        self.duty = duty

    def __str__(self) -> str:
        return (
            f"the CCT client's session supervisor under test broke a duty: {self.reason} [{self.code}: "
            f"{self.duty.summary}]\nWhat happened (virtual seconds; sessions by number):\n{self.capture}"
        )


@attrs.define
class _Pending:
    """A call made on the server whose outcome the supervisor has not been told yet."""

    call: Call
    token: str | None = attrs.field(repr=False)
    #: The number of the server session the call was made on (``None``: none, e.g. a login).
    session: int | None
    asked_at: float
    outcome: Outcome


@attrs.define
class _Lost:
    """A session the supervisor holds that the server lost in a failover: it must find out by asking a call."""

    token: str = attrs.field(repr=False)
    number: int
    since: float


@attrs.define
class _Retry:
    """A login failed: the next login is due within the back-off bounds from ``since``."""

    since: float
    earliest: float
    latest: float


def _slack(now: float) -> float:
    # Float sums of the virtual clock: a bound is met within a few ulps.
    return 1e-9 * max(1.0, abs(now))


class CctSupervisorConformance(RuleBasedStateMachine):
    """Drives a CCT session supervisor (through a :class:`SupervisorAdapter`) against a
    :class:`~ccproto.testing.slices.cct.server.ReferenceCctServer` and checks every
    :class:`~ccproto.cct.duties.Duty`; bound to an adapter factory by :func:`cct_machine`."""

    #: Makes the supervisor under test from the example's configuration; set by :func:`cct_machine`.
    make_adapter: ClassVar[Callable[[SupervisorConfig], SupervisorAdapter]]
    #: The configuration; ``None``: one is drawn per example
    #: (:func:`~ccproto.testing.slices.cct.strategies.supervisor_configs`).
    config: ClassVar[SupervisorConfig | None] = CONFORMANCE_CONFIG

    def __init__(self) -> None:
        super().__init__()
        self.cfg = CONFORMANCE_CONFIG
        self.sup: Any = None
        self.server = ReferenceCctServer(session_timeout=self.cfg.session_timeout)
        self.now = 0.0
        self.started = False
        self.failed = False
        self.trace: list[str] = []
        self.pending: list[_Pending] = []
        self.planned: list[FaultKind | None] = []
        #: The token of the last ``LoggedIn`` the supervisor was told (the session the integrator holds).
        self.token: str | None = None
        #: Whether the supervisor was told it holds no session (``SessionNotCreatedException``, ``SessionTerminated``,
        #: a logoff; and before the first login).
        self.told_gone = True
        #: Whether the supervisor holds ``token``'s session as far as its calls show (told ``LoggedIn``, and since
        #: then neither told it is gone nor asked ``LogIn`` or ``LogOff``).
        self.held = False
        self.held_since = 0.0
        #: listener -> the subscription ids the supervisor was told ``Subscribed`` on the held session, in order.
        self.confirmed: dict[str, list[str]] = {}
        #: Sessions the machine did not drive as asked (faults, a down server, an outcome later than
        #: ``probe_timeout``): their expiry or a late detection is not the supervisor's fault.
        self.disturbed: set[int] = set()
        self.lost: _Lost | None = None
        self.retry: _Retry | None = None
        self.login_failures = 0
        self.gave_up = False
        self.stopped = False

    # -- reporting ----------------------------------------------------------------------------------------------

    def _log(self, text: str) -> None:
        self.trace.append(f"{self.now:12.3f}  {text}")

    def _session_name(self, token: str | None) -> str:
        session = self.server.session(token)
        return "no session" if session is None else f"session {session.number}"

    def fail(self, duty: Duty, reason: str) -> CctConformanceFailure:
        """The failure to raise: ``duty`` broken, with what happened so far."""
        self.failed = True
        self._log(f"BROKEN {duty.value}: {reason}")
        lines = self.trace
        if len(lines) > TRACE_LINES:
            lines = [f"({len(lines) - TRACE_LINES} earlier lines left out)", *lines[-TRACE_LINES:]]
        return CctConformanceFailure(duty, reason, trace="\n".join(lines) + "\n")

    # -- the integrator's loop ------------------------------------------------------------------------------------

    def took(self, calls: list[Call], why: str) -> None:
        """Check each call the supervisor asked for, then make it on the server at once."""
        for call in calls:
            self._log(f"{why}: the supervisor asks {call!r}")
            self._check_call(call)
            if isinstance(call, GiveUp):
                self.gave_up = True
                self.lost = self.retry = None
                continue
            if isinstance(call, (LogIn, LogOff)):
                self.held = False
            token = None if isinstance(call, LogIn) else self.token
            session = self.server.live_session(token)
            fault = self.planned.pop(0) if self.planned else None
            outcome = self.server.answer(call, token=token, now=self.now, fault=fault)
            if session is not None and (fault is not None or not self.server.is_up(self.now)):
                self.disturbed.add(session.number)
            if (self.lost is not None and token == self.lost.token and isinstance(outcome, CallFailed)
                    and outcome.fault is FaultKind.SESSION_NOT_CREATED):
                self._log(f"the call finds session {self.lost.number} gone: the failover is detected")
                self.lost = None
            number = None if session is None else session.number
            self.pending.append(_Pending(call=call, token=token, session=number, asked_at=self.now, outcome=outcome))
            injected = f" with an injected {fault.value} fault" if fault else ""
            self._log(f"made on {self._session_name(token)}{injected}: the server's answer is {outcome!r}")

    def _check_call(self, call: Call) -> None:
        now, cfg = self.now, self.cfg
        if isinstance(call, (Probe, KeepAlive)) and refuses_session_reset(call.operation):
            raise self.fail(Duty.GETVERSION_ONLY_KEEP_ALIVE,
                            f"{call!r}: GetVersion does not reset the session timeout (support document 101090657)")
        if not isinstance(call, (LogIn, GiveUp)) and self.told_gone:
            raise self.fail(Duty.CALL_WITHOUT_SESSION,
                            f"{call!r} asked after the supervisor was told it holds no session, before a new LoggedIn")
        if isinstance(call, Unsubscribe):
            ids = self.confirmed.get(call.listener, [])
            if call.subscription_id not in ids[:-1]:
                raise self.fail(Duty.OLD_SUBSCRIPTION_DROPPED_FIRST,
                                f"{call!r} asked before a newer subscription of {call.listener!r} was confirmed "
                                f"(Subscribed) on the held session")
        if isinstance(call, LogIn):
            self.lost = None  # it let the session go: a failover is discovered so too
            if self.retry is not None and now < self.retry.earliest - _slack(now):
                raise self.fail(Duty.RETRY_NOT_BOUNDED,
                                f"the login was re-tried {now - self.retry.since:.3f} s after the failed one: sooner "
                                f"than backoff_initial / 2 = {cfg.backoff_initial / 2}")
            self.retry = None
        if isinstance(call, GiveUp):
            if cfg.max_attempts is None:
                raise self.fail(Duty.RETRY_NOT_BOUNDED,
                                f"it gave up after {self.login_failures} failed logins, with max_attempts=None")
            if self.login_failures < cfg.max_attempts:
                raise self.fail(Duty.RETRY_NOT_BOUNDED,
                                f"it gave up after {self.login_failures} failed logins in a row, below "
                                f"max_attempts={cfg.max_attempts}")

    def deliver(self, count: int, jitter: float) -> None:
        """Report the outcomes of the ``count`` oldest calls, now."""
        for _ in range(count):
            if not self.pending or self.failed:
                return
            pending = self.pending.pop(0)
            outcome = pending.outcome
            if pending.session is not None and self.now - pending.asked_at >= self.cfg.probe_timeout:
                self.disturbed.add(pending.session)
            self._note_outcome(pending, outcome)
            self.took(self.sup.handle(outcome, now=self.now, jitter=jitter),
                      f"told {outcome!r} (of {pending.call!r}, asked at {pending.asked_at:.3f})")

    def _note_outcome(self, pending: _Pending, outcome: Outcome) -> None:
        if isinstance(outcome, LoggedIn):
            self.token = outcome.token
            self.told_gone = False
            self.held = True
            self.held_since = self.now
            self.confirmed = {}
            self.login_failures = 0
            self.retry = None
            session = self.server.session(outcome.token)
            self.lost = None
            if session is not None and session.end is EndReason.FAILOVER:
                # Told LoggedIn for a session a failover has lost since: to be found out like any other.
                self.lost = _Lost(token=outcome.token, number=session.number, since=self.now)
        elif isinstance(outcome, CallFailed):
            if isinstance(pending.call, LogIn):
                self.login_failures += 1
                if not self.stopped:
                    self.retry = _Retry(since=self.now, earliest=self.now + self.cfg.backoff_initial / 2,
                                        latest=self.now + self.cfg.backoff_max)
            elif (outcome.fault is FaultKind.SESSION_NOT_CREATED and self.token is not None
                  and pending.token == self.token):
                # Late or not (a probe past probe_timeout was counted as failed already), the server's word that the
                # session is gone: nothing but a login from here.
                self._told_gone()
            elif isinstance(pending.call, LogOff) and pending.token == self.token:
                self._told_gone()
        elif isinstance(outcome, LoggedOff) and pending.token == self.token:
            self._told_gone()
        elif isinstance(outcome, Subscribed) and self.token is not None and pending.token == self.token:
            self.confirmed.setdefault(outcome.listener, []).append(outcome.subscription_id)

    def _told_gone(self) -> None:
        self.told_gone = True
        self.held = False
        self.lost = None

    def notify(self, outcome: Outcome, jitter: float) -> None:
        """Tell the supervisor a notification its consumer endpoint received."""
        self.took(self.sup.handle(outcome, now=self.now, jitter=jitter), f"notified {outcome!r}")

    # -- time -----------------------------------------------------------------------------------------------------

    def move_clock(self, to: float) -> None:
        """Move the clock to ``to`` (no timer handled): check the deadlines passed, let sessions time out."""
        to = max(self.now, to)
        if self.retry is not None and not self.gave_up and not self.stopped:
            latest = self.retry.latest
            if to > latest + _slack(latest):
                self.now = latest
                raise self.fail(Duty.RETRY_NOT_BOUNDED,
                                f"no login re-tried within backoff_max={self.cfg.backoff_max} s of the failed one "
                                f"(at {self.retry.since:.3f})")
        if self.lost is not None and not self.stopped and not self.gave_up:
            due = max(self.lost.since, self.server.down_until) + self.cfg.probe_interval + self.cfg.probe_timeout
            if self.lost.number in self.disturbed:
                # Not driven as it asked (faults, a down server, late outcomes): it may have taken the session as
                # lost already and be backing off; its login within backoff_max finds the failover out too.
                due += self.cfg.backoff_max
            if to > due + _slack(due):
                self.now = due
                raise self.fail(Duty.FAILOVER_NOT_DETECTED,
                                f"session {self.lost.number}, lost in a failover at {self.lost.since:.3f}, was not "
                                f"found out by a call within probe_interval + probe_timeout = "
                                f"{self.cfg.probe_interval + self.cfg.probe_timeout} s of the server answering again")
        expired = self.server.advance(to)
        self.now = to
        for session in expired:
            at = session.ended_at if session.ended_at is not None else to
            self._log(f"session {session.number} reached its timeout on the server (at {at:.3f})")
            late = any(p.session == session.number and p.asked_at + self.cfg.probe_timeout <= at
                       for p in self.pending)
            if (session.token == self.token and self.held and not self.stopped and not late
                    and session.number not in self.disturbed):
                raise self.fail(Duty.SESSION_SILENT_PAST_TIMEOUT,
                                f"session {session.number} reached the session timeout ({self.cfg.session_timeout} s "
                                f"after the call at {session.last_reset:.3f}) with no call resetting it, though "
                                f"every call was answered in time")
        for pending in self.pending:
            if pending.session is not None and self.now - pending.asked_at >= self.cfg.probe_timeout:
                self.disturbed.add(pending.session)

    def advance_to(self, target: float, jitter: float) -> None:
        """Let time pass until ``target``, handling the supervisor's timer exactly when it is due."""
        stuck = 0
        for _ in range(MAX_TIMERS):
            timer = self.sup.get_timer()
            if timer is None or timer > target or stuck > 2:
                break
            at = max(self.now, timer)
            self.move_clock(at)
            calls = self.sup.handle_timer(at, jitter=jitter)
            self.took(calls, "timer")
            stuck = stuck + 1 if not calls and self.sup.get_timer() == timer else 0
        self.move_clock(target)

    # -- the random part ------------------------------------------------------------------------------------------

    @initialize(data=st.data())
    def begin(self, data: st.DataObject) -> None:
        """Make the supervisor (with the configuration given, or a drawn one) and start it."""
        config = type(self).config
        self.cfg = config if config is not None else data.draw(supervisor_configs(), label="config")
        self.server = ReferenceCctServer(session_timeout=self.cfg.session_timeout)
        self.sup = type(self).make_adapter(self.cfg)
        self._log(f"configuration: {self.cfg!r}")
        self.started = True
        self.took(self.sup.start(self.now), "start")

    @precondition(lambda self: bool(self.pending))
    @rule(count=st.integers(1, 4), latency=st.sampled_from([0.0, 0.001]) | st.floats(0.0, 30.0),
          jitter=jitters())
    def answer(self, count: int, latency: float, jitter: float) -> None:
        """After ``latency`` seconds, report the outcomes of the ``count`` oldest calls."""
        self.advance_to(self.now + latency, jitter)
        self.deliver(count, jitter)

    @rule(rounds=st.integers(1, 6), jitter=jitters())
    def run_normally(self, rounds: int, jitter: float) -> None:
        """A while of ordinary running: every outcome reported at once, then the next timer, ``rounds`` times."""
        for _ in range(rounds):
            self.deliver(len(self.pending), jitter)
            timer = self.sup.get_timer()
            if timer is None:
                return
            self.advance_to(max(self.now, timer), jitter)

    @rule(data=st.data(), jitter=jitters())
    def wait(self, data: st.DataObject, jitter: float) -> None:
        """Let time pass (up to and past the probe, keep-alive and back-off deadlines), outcomes unreported."""
        self.advance_to(self.now + data.draw(delays(self.cfg), label="delay"), jitter)

    @rule(planned=st.lists(faults(none_weight=2), min_size=1, max_size=6))
    def plan_faults(self, planned: list[FaultKind | None]) -> None:
        """The next calls get these faults (transport errors, refusals), in order."""
        self.planned = list(planned)
        self._log(f"the next calls will get the faults {[f.value if f else None for f in planned]}")

    @rule(data=st.data(), jitter=jitters())
    def fail_over(self, data: st.DataObject, jitter: float) -> None:
        """The server fails over (any mode, any down time)."""
        failover = data.draw(failovers(self.cfg), label="failover")
        self._fail_over(failover.mode, failover.down_for, failover.notify, jitter)

    @precondition(lambda self: self.held and not self.stopped)
    @rule(jitter=jitters())
    def terminate(self, jitter: float) -> None:
        """The server ends the held session and says so (the session-termination notification)."""
        notes = self.server.terminate(self.token, self.now)
        if notes:
            self._log(f"the server terminates {self._session_name(self.token)}")
            self._told_gone()
        for note in notes:
            self.notify(note, jitter)

    @rule(jitter=jitters())
    def termination_imminent(self, jitter: float) -> None:
        """The session-termination-imminent notification."""
        self.notify(SessionTerminationImminent(), jitter)

    @precondition(lambda self: self.held and not self.stopped)
    @rule(index=st.integers(0, 10), jitter=jitters())
    def end_subscription(self, index: int, jitter: float) -> None:
        """The server ends a subscription the supervisor holds (one whose ``Subscribed`` it was told, and that no
        outstanding call is about: ccproto's supervisor refuses the word about one it does not know yet)."""
        session = self.server.live_session(self.token)
        if session is None:
            return
        busy = {p.call.subscription_id for p in self.pending if isinstance(p.call, Unsubscribe)}
        held = sorted(ids[-1] for ids in self.confirmed.values()
                      if ids and ids[-1] in session.subscriptions and ids[-1] not in busy)
        if not held:
            return
        notes = self.server.end_subscription(held[index % len(held)], self.now)
        for note in notes:
            self._log("the server ends a subscription")
            self.notify(note, jitter)

    @precondition(lambda self: bool(self.cfg.listeners) and not self.stopped and not self.gave_up)
    @rule(data=st.data())
    def renew(self, data: st.DataObject) -> None:
        """The integrator renews a listener's subscription."""
        listener = data.draw(st.sampled_from(self.cfg.listeners), label="listener")
        self.took(self.sup.renew(listener, now=self.now), f"renew({listener!r})")

    def _fail_over(self, mode: FailoverMode, down_for: float, notify: bool, jitter: float) -> None:
        self.move_clock(self.now)
        held = self.server.live_session(self.token) if self.held else None
        if down_for > 0:
            self.disturbed.update(s.number for s in self.server.sessions if s.alive)
        notes = self.server.fail_over(self.now, mode, down_for=down_for, notify=notify)
        self._log(f"the server fails over ({mode.value}), down for {down_for:.3f} s"
                  + (", sessions lost" if mode.loses_sessions else ", sessions kept"))
        if held is not None and mode.loses_sessions and self.token is not None:
            self.lost = _Lost(token=self.token, number=held.number, since=self.now)
        for note in notes:
            self.notify(note, jitter)

    # -- the fixed tail ------------------------------------------------------------------------------------------

    def teardown(self) -> None:
        """The tail every example ends with (unless a duty broke already): settle, fail over, renew, stop."""
        if not self.started or self.failed:
            return
        self.planned.clear()
        self._settle("the server is back for good and answers everything at once")
        for mode in (FailoverMode.HOT_STANDBY, FailoverMode.WARM_STANDBY):
            if self.gave_up:
                break
            self._fail_over(mode, 0.0, False, 0.5)
            self._settle(f"after the {mode.value} failover")
        if not self.gave_up:
            # Down until the supervisor has failed to log in a few times (or a bound passes): its retries.
            self._fail_over(FailoverMode.WARM_STANDBY, math.inf, False, 0.5)
            cfg = self.cfg
            bound = (cfg.failure_threshold + 2) * (cfg.probe_interval + cfg.probe_timeout) + 8 * cfg.backoff_max
            self._drive_while(lambda: self.login_failures < DOWN_LOGINS, self.now + bound)
            self._settle("the server is back after a long switchover")
        if not self.gave_up:
            self._fail_over(FailoverMode.MISSION_CRITICAL, 0.0, True, 0.5)
            self._settle("after the mission-critical failover")
        if not self.gave_up:
            for listener in self.cfg.listeners:
                self.took(self.sup.renew(listener, now=self.now), f"renew({listener!r})")
                self._settle(f"after renewing {listener!r}")
        self._stop()

    def _drive(self) -> None:
        """Report every outstanding outcome at once (and those the reports cause)."""
        for _ in range(MAX_SETTLE):
            if not self.pending or self.failed:
                return
            self.deliver(len(self.pending), 0.5)

    def _drive_while(self, going: Callable[[], bool], horizon: float) -> None:
        """Drive the supervisor as it asks (outcomes at once, timers when due) while ``going()`` and the clock is
        below ``horizon``."""
        for _ in range(MAX_SETTLE):
            if self.gave_up or self.failed:
                return
            if self.pending:
                self._drive()
                continue
            if not going() or self.now >= horizon:
                return
            target = horizon
            timer = self.sup.get_timer()
            if timer is not None:
                target = min(target, max(timer, self.now))
            if self.held:
                wake = self.held_since + self.cfg.probe_interval + self.cfg.probe_timeout
                if wake > self.now:
                    target = min(target, wake)
            if target <= self.now:
                target = min(horizon, self.now + self.cfg.probe_timeout)
            self.advance_to(target, 0.5)

    def _settled(self) -> bool:
        session = self.server.live_session(self.token) if self.held else None
        wait = self.cfg.probe_interval + self.cfg.probe_timeout
        return (session is not None and not self.pending and self.now >= self.held_since + wait
                and set(self.cfg.listeners) <= session.listeners())

    def _settle(self, why: str) -> None:
        """The server is up for good: drive the supervisor as it asks until it holds a session with every listener
        subscribed, or a bound passes."""
        self.server.recover(self.now)
        self._log(f"-- {why}")
        cfg = self.cfg
        bound = (cfg.failure_threshold + 2) * (cfg.probe_interval + cfg.probe_timeout) + 2 * cfg.backoff_max
        bound += cfg.session_timeout
        self._drive_while(lambda: not self._settled(), self.now + bound)
        if self.gave_up or self.failed or self._settled():
            return
        session = self.server.live_session(self.token) if self.held else None
        if session is not None:
            missing = sorted(set(cfg.listeners) - session.listeners())
            if missing:
                raise self.fail(Duty.NOT_RESUBSCRIBED,
                                f"session {session.number} has no subscription of {missing} "
                                f"{self.now - self.held_since:.3f} s after its login, every call answered at once")
            return
        raise self.fail(Duty.RETRY_NOT_BOUNDED,
                        f"no session held {bound:.3f} s after the server answered everything again")

    def _stop(self) -> None:
        token = self.token if self.held else None
        self.stopped = True
        self.lost = self.retry = None
        self.took(self.sup.stop(self.now), "stop")
        self._drive()
        session = self.server.live_session(token)
        if session is not None and not self.failed:
            raise self.fail(Duty.SESSION_NOT_LOGGED_OFF,
                            f"stop left session {session.number} alive on the server (no LogOff)")


def cct_machine(
    make_adapter: Callable[[SupervisorConfig], SupervisorAdapter], *,
    config: SupervisorConfig | None = CONFORMANCE_CONFIG,
) -> type[CctSupervisorConformance]:
    """The conformance machine bound to ``make_adapter`` (called with the example's configuration, once per
    example) and ``config`` (``None``: one is drawn per example)."""
    bound = type(CctSupervisorConformance.__name__, (CctSupervisorConformance,),
                 {"make_adapter": staticmethod(make_adapter), "config": config})
    bound.__qualname__ = CctSupervisorConformance.__qualname__
    return bound


def run_cct_conformance(
    make_adapter: Callable[[SupervisorConfig], SupervisorAdapter],
    *,
    settings: Settings | None = None,
    config: SupervisorConfig | None = CONFORMANCE_CONFIG,
) -> None:
    """Run the CCT supervisor conformance machine; raises :class:`CctConformanceFailure` (shrunk) when the
    supervisor breaks a duty.

    ``make_adapter(config)`` makes the supervisor under test (``Supervisor`` itself is an adapter:
    ``run_cct_conformance(Supervisor)``); ``config`` is the configuration it runs with (``None``: drawn per
    example); ``settings`` as :func:`ccproto.testing.conformance.harness_settings` takes them.
    """
    machine = cct_machine(make_adapter, config=config)
    try:
        run_state_machine_as_test(machine, settings=harness_settings(settings))  # type: ignore[no-untyped-call]
    except CctConformanceFailure as failure:
        # The failure's text tells what happened; hypothesis's notes name the machine's own methods.
        vars(failure).pop("__notes__", None)
        raise
