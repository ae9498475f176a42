"""The CCT session supervisor: its configuration, its table (every state x every input), each effect, its errors,
its secrets, its generated docs."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto.cct import docs, states
from ccproto.cct.config import DEFAULT_PROBE_OPERATION, SupervisorConfig, refuses_session_reset
from ccproto.cct.states import (
    FAILURE_INPUTS,
    KEEPING_STATES,
    TRANSITIONS,
    CallKind,
    Effect,
    FaultKind,
    Guard,
    Input,
    State,
)
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
    Probe,
    ProbeSucceeded,
    SessionTerminated,
    SessionTerminationImminent,
    Subscribe,
    Subscribed,
    Supervisor,
    UnexpectedOutcomeError,
    Unsubscribe,
    Unsubscribed,
)
from ccproto.core.errors import InvalidTransitionError, LocalProtocolError

TOKEN = "sso-canary-7f3a"
OP = DEFAULT_PROBE_OPERATION
PROBE = Probe(operation=OP)
KEEP = KeepAlive(operation=OP)


def config(**changes: Any) -> SupervisorConfig:
    """The tests' configuration: two listeners; a keep-alive due 540 s after the last reset; probes every 100 s."""
    base: dict[str, Any] = {
        "listeners": ("a", "b"), "session_timeout": 600.0, "keep_alive_margin": 60.0, "probe_interval": 100.0,
        "probe_timeout": 10.0, "failure_threshold": 3, "backoff_initial": 2.0, "backoff_max": 30.0,
    }
    base.update(changes)
    return SupervisorConfig(**base)


def logged_in(cfg: SupervisorConfig | None = None, now: float = 0.0) -> Supervisor:
    """A supervisor that asked for LogIn at ``now`` and was answered at once (SUBSCRIBING, Subscribes outstanding)."""
    sup = Supervisor(cfg if cfg is not None else config())
    assert sup.start(now) == [LogIn()]
    sup.handle(LoggedIn(token=TOKEN), now=now)
    return sup


def active(cfg: SupervisorConfig | None = None, now: float = 0.0) -> Supervisor:
    """A supervisor holding a session and a subscription ``<listener>1`` for every listener."""
    sup = logged_in(cfg, now)
    for listener in sup.config.listeners:
        sup.handle(Subscribed(listener=listener, subscription_id=f"{listener}1"), now=now)
    assert sup.state is State.ACTIVE
    return sup


# -- configuration ----------------------------------------------------------------------------------------------


def test_defaults_are_the_documented_choices() -> None:
    cfg = SupervisorConfig()
    assert cfg.listeners == ()
    assert cfg.session_timeout == 600.0  # best practice 5-10 min, not Avaya's 120-min default
    assert cfg.probe_interval == 15.0  # the public client's polling interval
    assert cfg.probe_operation == "GetLicenseConsumedCount"
    assert cfg.keep_alive_operation == cfg.probe_operation
    assert cfg.max_attempts is None
    assert SupervisorConfig(probe_operation="GetActiveSessionCount").keep_alive_operation == "GetActiveSessionCount"
    assert SupervisorConfig(listeners=["x", "y"]).listeners == ("x", "y")  # any iterable of names


def test_config_is_frozen_and_compared_by_value() -> None:
    cfg = SupervisorConfig(listeners=("a",))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        cfg.session_timeout = 1.0  # type: ignore[misc]
    assert cfg == SupervisorConfig(listeners=("a",))


@pytest.mark.parametrize("field", ["probe_operation", "keep_alive_operation"])
@pytest.mark.parametrize(
    "name",
    ["GetVersion", "getVersion", " GETVERSION ", "MetricsService.GetVersion",
     "http://www.nortel.com/soa/oi/cct/MetricsService/GetVersion", "{http://www.nortel.com/soa/oi/cct}GetVersion"],
)
def test_get_version_is_refused_because_it_does_not_reset_the_session_timeout(field: str, name: str) -> None:
    with pytest.raises(ValueError, match="does not reset the session timeout") as caught:
        SupervisorConfig(**{field: name})
    assert field in str(caught.value)
    assert refuses_session_reset(name)


@pytest.mark.parametrize("name", ["GetLicenseConsumedCount", "GetVersions", "MyGetVersion", "GetVersion2"])
def test_only_get_version_itself_is_refused(name: str) -> None:
    assert not refuses_session_reset(name)
    assert SupervisorConfig(probe_operation=name).probe_operation == name


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"session_timeout": 0}, "session_timeout"),
        ({"session_timeout": -5.0}, "session_timeout"),
        ({"session_timeout": math.nan}, "session_timeout"),
        ({"session_timeout": math.inf}, "session_timeout"),
        ({"probe_interval": True}, "probe_interval"),
        ({"probe_timeout": "10"}, "probe_timeout"),
        ({"keep_alive_margin": 600.0}, "keep_alive_margin=600.0 must be below session_timeout"),
        ({"probe_timeout": 60.0}, "probe_timeout=60.0 must be below keep_alive_margin"),
        ({"backoff_initial": 31.0}, "backoff_initial=31.0 must not exceed backoff_max"),
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"failure_threshold": 2.0}, "failure_threshold"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": False}, "max_attempts"),
        ({"listeners": ("a", "a")}, "distinct"),
        ({"listeners": ("a", "")}, "non-empty"),
        ({"probe_operation": " "}, "probe_operation"),
    ],
)
def test_config_refuses_impossible_values(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        config(**changes)


def test_backoff_delay_is_exponential_with_equal_jitter_and_capped() -> None:
    cfg = config(backoff_initial=2.0, backoff_max=30.0)
    assert [cfg.backoff_delay(k, 0.0) for k in range(6)] == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert cfg.backoff_delay(0, 0.5) == 1.5
    assert cfg.backoff_delay(10**6, 0.999) < 30.0  # no overflow, under the cap
    for jitter in (-0.1, 1.0, math.nan, True):
        with pytest.raises(ValueError, match="jitter"):
            cfg.backoff_delay(0, jitter)


@settings(max_examples=200)
@given(
    initial=st.floats(0.001, 100.0), spread=st.floats(1.0, 1000.0), backoffs=st.integers(0, 5000),
    jitter=st.floats(0.0, 1.0, exclude_max=True),
)
def test_backoff_delay_stays_within_its_bounds(initial: float, spread: float, backoffs: int, jitter: float) -> None:
    cfg = config(backoff_initial=initial, backoff_max=initial * spread)
    delay = cfg.backoff_delay(backoffs, jitter)
    assert initial / 2 <= delay <= cfg.backoff_max
    assert delay <= cfg.backoff_delay(backoffs + 1, jitter)  # never shrinks as failures go on


# -- the table as data ------------------------------------------------------------------------------------------


def test_every_state_takes_stop_and_the_timer_and_every_input_and_effect_is_used() -> None:
    for state in State:
        assert (state, Input.STOP) in TRANSITIONS
        assert (state, Input.TIMER) in TRANSITIONS
    used_inputs = {input_ for _, input_ in TRANSITIONS}
    assert used_inputs == set(Input)
    used_effects = {step.effect for transition in TRANSITIONS.values() for step in transition.steps}
    assert used_effects == set(Effect)
    guards = {transition.guard for transition in TRANSITIONS.values()} - {None}
    assert guards == set(Guard)
    for transition in TRANSITIONS.values():
        assert (transition.guard is None) == (transition.otherwise is None)
    # The final states are final; nothing but start leaves IDLE for a non-final state.
    for (state, _), transition in TRANSITIONS.items():
        if state in states.FINAL_STATES:
            assert all(step.target is state and step.effect is Effect.NOTHING for step in transition.steps)


def test_every_failure_of_every_call_that_is_answered_reads_as_an_input() -> None:
    answered = set(CallKind) - {CallKind.GIVE_UP}
    assert set(FAILURE_INPUTS) == {(kind, fault) for kind in answered for fault in FaultKind}
    for kind in (CallKind.SUBSCRIBE, CallKind.UNSUBSCRIBE, CallKind.PROBE, CallKind.KEEP_ALIVE):
        assert FAILURE_INPUTS[(kind, FaultKind.SESSION_NOT_CREATED)] is Input.SESSION_NOT_CREATED
        assert FAILURE_INPUTS[(kind, FaultKind.TRANSPORT)] is Input.CALL_FAILED


# -- exhaustive: every state x every input ----------------------------------------------------------------------

#: The calls each effect may ask for.
EFFECT_CALLS: dict[Effect, set[type]] = {
    Effect.NOTHING: set(), Effect.LOG_IN: {LogIn}, Effect.TAKE_SESSION: {Subscribe},
    Effect.HOLD_SUBSCRIPTION: {Unsubscribe},
    Effect.RELEASE_SUBSCRIPTION: set(), Effect.RESUBSCRIBE: {Subscribe}, Effect.RETRY_SUBSCRIBE_LATER: set(),
    Effect.ABANDON_UNSUBSCRIBE: set(), Effect.RENEW_SUBSCRIPTION: {Subscribe}, Effect.NOTE_ALIVE: set(),
    Effect.COUNT_FAILURE: set(), Effect.RELOGIN: {LogIn}, Effect.LOSE_SESSION: set(), Effect.BACK_OFF: set(),
    Effect.GIVE_UP: {GiveUp}, Effect.PROBE_NOW: {Probe}, Effect.TICK: {Probe, KeepAlive, Subscribe, Unsubscribe},
    Effect.LOG_OFF: {LogOff}, Effect.LOG_OFF_NEW_SESSION: {LogOff}, Effect.END_SESSION: set(),
}

# Probes only on demand (HaSwitch) here: the first round is 1000 s away, the keep-alive due at 540 s.
EXHAUSTIVE = {"probe_interval": 1000.0}


def drive(state: State) -> Supervisor:
    """A supervisor brought into ``state`` through its public API only, at time 0."""
    if state is State.GIVEN_UP:
        sup = Supervisor(config(max_attempts=1, **EXHAUSTIVE))
        sup.start(0.0)
        assert sup.handle(CallFailed(call=LogIn(), fault=FaultKind.TRANSPORT), now=0.0)[0].KIND is CallKind.GIVE_UP
    else:
        sup = Supervisor(config(**EXHAUSTIVE))
        if state is State.STOPPED:
            sup.stop(0.0)
        elif state is not State.IDLE:
            sup.start(0.0)
        if state is State.BACKING_OFF:
            sup.handle(CallFailed(call=LogIn(), fault=FaultKind.TRANSPORT), now=0.0)
        elif state is State.STOPPING:
            sup.stop(0.0)
        elif state in (State.SUBSCRIBING, State.ACTIVE, State.LOGGING_OFF):
            sup.handle(LoggedIn(token=TOKEN), now=0.0)
            if state is not State.SUBSCRIBING:
                sup.handle(Subscribed(listener="a", subscription_id="a1"), now=0.0)
                sup.handle(Subscribed(listener="b", subscription_id="b1"), now=0.0)
            if state is State.LOGGING_OFF:
                sup.stop(0.0)
    assert sup.state is state
    return sup


Trigger = Callable[[Supervisor], Callable[[], list[Call]]]


def _keeping(sup: Supervisor) -> bool:
    return sup.state in KEEPING_STATES


def _hold_a(sup: Supervisor) -> None:
    if _keeping(sup) and "a" not in sup.subscriptions:
        sup.handle(Subscribed(listener="a", subscription_id="a1"), now=0.0)


def _subscribing_a(sup: Supervisor) -> None:
    """A Subscribe('a') outstanding (a renewal when 'a' is held)."""
    if _keeping(sup) and Subscribe(listener="a") not in sup.outstanding():
        sup.renew("a", now=0.0)


def _replacing_a(sup: Supervisor) -> None:
    """'a' renewed: its new subscription held, Unsubscribe('a', 'a1') outstanding."""
    _hold_a(sup)
    _subscribing_a(sup)
    if _keeping(sup):
        assert sup.handle(Subscribed(listener="a", subscription_id="a2"), now=0.0) == [
            Unsubscribe(listener="a", subscription_id="a1")
        ]


def _probing(sup: Supervisor) -> None:
    if _keeping(sup):
        sup.handle(HaSwitch(), now=0.0)


def _keeping_alive(sup: Supervisor) -> float:
    if _keeping(sup):
        assert sup.get_timer() == 540.0
        assert sup.handle_timer(540.0) == [KEEP]
        return 540.0
    return 0.0


def _with(setup: Callable[[Supervisor], Any], outcome: Any) -> Trigger:
    def trigger(sup: Supervisor) -> Callable[[], list[Call]]:
        setup(sup)
        return lambda: sup.handle(outcome, now=600.0)

    return trigger


def _timer(sup: Supervisor) -> Callable[[], list[Call]]:
    timer = sup.get_timer()
    return lambda: sup.handle_timer(timer if timer is not None else 0.0)


def _keep_alive_answer(sup: Supervisor) -> Callable[[], list[Call]]:
    now = _keeping_alive(sup)
    return lambda: sup.handle(KeepAliveSucceeded(), now=now + 1.0)


def _ended_a(sup: Supervisor) -> Callable[[], list[Call]]:
    _hold_a(sup)
    held = sup.subscriptions.get("a", "a1")
    return lambda: sup.handle(Unsubscribed(listener="a", subscription_id=held), now=1.0)


TRIGGERS: dict[Input, Trigger] = {
    Input.START: lambda sup: lambda: sup.start(1.0),
    Input.STOP: lambda sup: lambda: sup.stop(1.0),
    Input.TIMER: _timer,
    Input.RENEW: lambda sup: lambda: sup.renew("a", now=1.0),
    Input.LOGGED_IN: _with(lambda sup: None, LoggedIn(token=TOKEN)),
    Input.LOGIN_FAILED: _with(lambda sup: None, CallFailed(call=LogIn(), fault=FaultKind.OTHER)),
    Input.SUBSCRIBED: _with(_subscribing_a, Subscribed(listener="a", subscription_id="a9")),
    Input.SUBSCRIBE_REFUSED: _with(_subscribing_a, CallFailed(call=Subscribe(listener="a"), fault=FaultKind.OTHER)),
    Input.UNSUBSCRIBED: _with(_replacing_a, Unsubscribed(listener="a", subscription_id="a1")),
    Input.SUBSCRIPTION_ENDED: _ended_a,
    Input.UNSUBSCRIBE_REFUSED: _with(
        _replacing_a, CallFailed(call=Unsubscribe(listener="a", subscription_id="a1"), fault=FaultKind.OTHER)
    ),
    Input.PROBE_SUCCEEDED: _with(_probing, ProbeSucceeded()),
    Input.KEEP_ALIVE_SUCCEEDED: _keep_alive_answer,
    Input.CALL_FAILED: _with(_probing, CallFailed(call=PROBE, fault=FaultKind.TRANSPORT)),
    Input.SESSION_NOT_CREATED: _with(_probing, CallFailed(call=PROBE, fault=FaultKind.SESSION_NOT_CREATED)),
    Input.SESSION_TERMINATED: _with(lambda sup: None, SessionTerminated()),
    Input.TERMINATION_IMMINENT: _with(lambda sup: None, SessionTerminationImminent()),
    Input.HA_SWITCH: _with(lambda sup: None, HaSwitch()),
    Input.LOGGED_OFF: _with(lambda sup: None, LoggedOff()),
    Input.LOGOFF_FAILED: _with(lambda sup: None, CallFailed(call=LogOff(), fault=FaultKind.TRANSPORT)),
}


#: Absent from the table, yet not refused: the subscriptions end with a session being logged off, so the server's
#: word about one (or a refused unsubscribe of one) is absorbed before the table is looked up.
ABSORBED = {
    (State.LOGGING_OFF, Input.UNSUBSCRIBED), (State.LOGGING_OFF, Input.SUBSCRIPTION_ENDED),
    (State.LOGGING_OFF, Input.UNSUBSCRIBE_REFUSED),
}


def test_the_triggers_cover_every_input() -> None:
    assert set(TRIGGERS) == set(Input)


@pytest.mark.parametrize("input_", list(Input), ids=lambda i: i.name)
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
def test_every_state_and_input_follows_the_table_or_is_refused(state: State, input_: Input) -> None:
    sup = drive(state)
    act = TRIGGERS[input_](sup)
    assert sup.state is state, "the trigger's setup must not leave the state"
    transition = TRANSITIONS.get((state, input_))
    if transition is None:
        before = (sup.outstanding(), dict(sup.subscriptions), sup.get_timer(), sup.has_session)
        if (state, input_) in ABSORBED:
            assert act() == []
            assert (sup.outstanding(), dict(sup.subscriptions), sup.get_timer(), sup.has_session) == before
            assert sup.state is state
            return
        with pytest.raises(UnexpectedOutcomeError) as caught:
            act()
        assert caught.value.state is state
        assert caught.value.hint == states.HINTS[state]
        assert caught.value.code == "unexpected-outcome"
        assert TOKEN not in str(caught.value)
        assert TOKEN not in repr(caught.value.message)
        # A refused input changes nothing.
        assert (sup.outstanding(), dict(sup.subscriptions), sup.get_timer(), sup.has_session) == before
        assert sup.state is state
        return
    calls = act()
    assert sup.state in {step.target for step in transition.steps}
    allowed = set().union(*(EFFECT_CALLS[step.effect] for step in transition.steps))
    assert {type(call) for call in calls} <= allowed, (calls, transition)


# -- the guards, both ways --------------------------------------------------------------------------------------


def test_login_without_listeners_is_active_at_once() -> None:
    sup = Supervisor(config(listeners=()))
    sup.start(0.0)
    assert sup.handle(LoggedIn(token=TOKEN), now=1.0) == []
    assert sup.state is State.ACTIVE
    assert sup.has_session


def test_subscribing_until_the_last_listener_is_held() -> None:
    sup = logged_in()
    assert sup.state is State.SUBSCRIBING
    assert sup.outstanding() == (Subscribe(listener="a"), Subscribe(listener="b"))
    sup.handle(Subscribed(listener="b", subscription_id="b1"), now=1.0)
    assert sup.state is State.SUBSCRIBING
    sup.handle(Subscribed(listener="a", subscription_id="a1"), now=1.0)
    assert sup.state is State.ACTIVE
    assert dict(sup.subscriptions) == {"a": "a1", "b": "b1"}


@pytest.mark.parametrize(("threshold", "lost_after"), [(1, 1), (2, 2), (3, 3)])
def test_transport_failures_are_tolerated_below_the_threshold(threshold: int, lost_after: int) -> None:
    sup = active(config(failure_threshold=threshold))
    for n in range(1, lost_after + 1):
        sup.handle(HaSwitch(), now=float(n))
        calls = sup.handle(CallFailed(call=PROBE, fault=FaultKind.TRANSPORT), now=float(n))
        assert calls == []
        if n < lost_after:
            assert sup.state is State.ACTIVE
            assert sup.failures == n
    assert sup.state is State.BACKING_OFF
    assert not sup.has_session
    assert sup.subscriptions == {}


def test_a_success_resets_the_failure_count() -> None:
    sup = active(config(failure_threshold=2))
    sup.handle(HaSwitch(), now=1.0)
    sup.handle(CallFailed(call=PROBE, fault=FaultKind.TRANSPORT), now=1.0)
    sup.handle(HaSwitch(), now=2.0)
    sup.handle(ProbeSucceeded(), now=2.0)
    assert sup.failures == 0
    sup.handle(HaSwitch(), now=3.0)
    sup.handle(CallFailed(call=PROBE, fault=FaultKind.OTHER), now=3.0)  # a probe's other fault counts too
    assert sup.state is State.ACTIVE


def test_unanswered_probes_expire_into_failures_and_then_a_lost_session() -> None:
    sup = active(config(failure_threshold=2, probe_interval=100.0))
    assert sup.get_timer() == 100.0
    assert sup.handle_timer(100.0) == [PROBE]
    assert sup.get_timer() == 110.0  # the probe's deadline
    assert sup.handle_timer(110.0) == []
    assert sup.failures == 1
    assert sup.state is State.ACTIVE
    assert sup.handle(ProbeSucceeded(), now=111.0) == []  # late: absorbed, proves nothing
    assert sup.failures == 1
    assert sup.get_timer() == 200.0
    assert sup.handle_timer(200.0) == [PROBE]
    assert sup.handle_timer(210.0, jitter=0.0) == []
    assert sup.state is State.BACKING_OFF
    assert sup.get_timer() == 211.0  # 210 + backoff_initial / 2


def test_failed_logins_back_off_until_max_attempts_then_give_up() -> None:
    sup = Supervisor(config(max_attempts=3, backoff_initial=2.0, backoff_max=30.0))
    now = 0.0
    assert sup.start(now) == [LogIn()]
    delays = []
    for attempt in (1, 2):
        assert sup.handle(CallFailed(call=LogIn(), fault=FaultKind.TRANSPORT), now=now, jitter=0.0) == []
        assert sup.state is State.BACKING_OFF
        timer = sup.get_timer()
        assert timer is not None
        delays.append(timer - now)
        assert sup.handle_timer(timer - 0.5) == []  # early: nothing yet
        assert sup.state is State.BACKING_OFF
        now = timer
        assert sup.handle_timer(now) == [LogIn()]
        assert sup.attempts == attempt + 1
    assert delays == [1.0, 2.0]
    calls = sup.handle(CallFailed(call=LogIn(), fault=FaultKind.OTHER), now=now)
    assert len(calls) == 1
    assert isinstance(calls[0], GiveUp)
    assert "3 logins failed in a row (max_attempts=3)" in calls[0].reason
    assert "other" in calls[0].reason
    assert sup.state is State.GIVEN_UP
    assert sup.get_timer() is None


def test_a_login_resets_attempts_and_back_off() -> None:
    sup = Supervisor(config(max_attempts=2))
    sup.start(0.0)
    sup.handle(CallFailed(call=LogIn(), fault=FaultKind.TRANSPORT), now=0.0, jitter=0.0)
    sup.handle_timer(1.0)
    sup.handle(LoggedIn(token=TOKEN), now=1.0)
    assert sup.attempts == 0
    sup.handle(CallFailed(call=Subscribe(listener="a"), fault=FaultKind.SESSION_NOT_CREATED), now=2.0)
    assert sup.attempts == 1  # the immediate re-login is the first attempt again
    sup.handle(CallFailed(call=LogIn(), fault=FaultKind.TRANSPORT), now=2.0, jitter=0.0)
    assert sup.state is State.BACKING_OFF
    assert sup.get_timer() == 3.0  # the first back-off again: backoff_initial / 2


# -- the effects -------------------------------------------------------------------------------------------------


def test_probes_run_every_interval_and_reset_the_keep_alive() -> None:
    sup = active(config(probe_interval=100.0))
    assert sup.get_timer() == 100.0
    assert sup.handle_timer(50.0) == []  # early: nothing
    assert sup.handle_timer(100.0) == [PROBE]
    assert sup.handle(ProbeSucceeded(), now=101.0) == []
    assert sup.get_timer() == 200.0
    # Probes every 100 s reset the timeout: no keep-alive is ever needed.
    for n in range(2, 12):
        assert sup.handle_timer(n * 100.0) == [PROBE]
        sup.handle(ProbeSucceeded(), now=n * 100.0)
    assert KEEP not in sup.outstanding()


def test_a_keep_alive_comes_before_the_session_would_time_out() -> None:
    sup = active(config(probe_interval=2000.0, session_timeout=600.0, keep_alive_margin=60.0), now=10.0)
    assert sup.get_timer() == 550.0  # 10 + 600 - 60: the login was asked at 10
    assert sup.handle_timer(550.0) == [KEEP]
    assert sup.get_timer() == 560.0  # the keep-alive's own deadline
    sup.handle(KeepAliveSucceeded(), now=555.0)
    assert sup.get_timer() == 1090.0  # reset from when it was asked


def test_a_subscribe_resets_the_session_timeout_too() -> None:
    sup = logged_in(config(probe_interval=2000.0))
    sup.handle(Subscribed(listener="a", subscription_id="a1"), now=0.0)
    sup.renew("a", now=100.0)
    sup.handle(Subscribed(listener="b", subscription_id="b1"), now=100.0)  # asked at 0
    assert sup.get_timer() == 540.0
    sup.handle(Subscribed(listener="a", subscription_id="a2"), now=120.0)  # asked at 100
    assert sup.get_timer() == 640.0


def test_a_probe_in_flight_covers_the_keep_alive() -> None:
    sup = active(config(probe_interval=540.0))  # the probe round and the keep-alive fall due together
    assert sup.get_timer() == 540.0
    assert sup.handle_timer(540.0) == [PROBE]  # no KeepAlive beside it
    assert sup.get_timer() == 550.0
    # It expires: now the keep-alive is due at once.
    assert sup.handle_timer(550.0) == [KEEP]


def test_session_not_created_drops_the_session_and_logs_in_at_once() -> None:
    sup = active()
    sup.handle(HaSwitch(), now=5.0)
    calls = sup.handle(CallFailed(call=PROBE, fault=FaultKind.SESSION_NOT_CREATED), now=6.0)
    assert calls == [LogIn()]
    assert sup.state is State.LOGGING_IN
    assert not sup.has_session
    assert sup.token is None
    assert sup.subscriptions == {}
    assert sup.get_timer() is None
    # A new login subscribes every listener again.
    assert sup.handle(LoggedIn(token="second"), now=7.0) == [Subscribe(listener="a"), Subscribe(listener="b")]
    assert sup.token == "second"


def test_session_terminated_drops_the_session_and_its_calls_outcomes_are_absorbed() -> None:
    sup = logged_in()
    sup.handle(Subscribed(listener="a", subscription_id="a1"), now=1.0)
    assert sup.handle(SessionTerminated(), now=2.0) == [LogIn()]
    # Subscribe('b') was asked on the lost session: whatever comes of it is absorbed.
    assert sup.handle(Subscribed(listener="b", subscription_id="b-zombie"), now=3.0) == []
    assert sup.handle(Unsubscribed(listener="b", subscription_id="b-zombie"), now=3.5) == []
    assert sup.handle(Unsubscribed(listener="a", subscription_id="a1"), now=4.0) == []
    assert sup.state is State.LOGGING_IN
    assert sup.outstanding() == (LogIn(),)


def test_stale_and_new_equal_calls_are_answered_oldest_first() -> None:
    sup = logged_in()
    sup.handle(SessionTerminated(), now=1.0)
    sup.handle(LoggedIn(token="second"), now=2.0)
    assert sup.outstanding().count(Subscribe(listener="a")) == 2
    # The first answer goes to the stale call (absorbed), the next to the new one.
    assert sup.handle(CallFailed(call=Subscribe(listener="a"), fault=FaultKind.SESSION_NOT_CREATED), now=3.0) == []
    assert sup.state is State.SUBSCRIBING
    sup.handle(Subscribed(listener="a", subscription_id="a2"), now=3.0)
    assert dict(sup.subscriptions) == {"a": "a2"}


@pytest.mark.parametrize("notification", [SessionTerminationImminent(), HaSwitch()])
def test_notifications_of_trouble_make_it_probe_now_once(notification: Any) -> None:
    sup = active()
    assert sup.handle(notification, now=5.0) == [PROBE]
    assert sup.handle(notification, now=6.0) == []  # one probe in flight is enough
    assert sup.state is State.ACTIVE


@pytest.mark.parametrize("notification", [SessionTerminated(), SessionTerminationImminent(), HaSwitch()])
def test_notifications_without_a_session_change_nothing(notification: Any) -> None:
    sup = Supervisor(config())
    sup.start(0.0)
    assert sup.handle(notification, now=1.0) == []
    assert sup.state is State.LOGGING_IN


def test_renew_subscribes_the_new_one_before_unsubscribing_the_old_one() -> None:
    sup = active()
    assert sup.renew("a", now=1.0) == [Subscribe(listener="a")]
    assert sup.renew("a", now=1.5) == []  # already renewing
    assert dict(sup.subscriptions) == {"a": "a1", "b": "b1"}  # the old one stays until the new one exists
    assert sup.handle(Subscribed(listener="a", subscription_id="a2"), now=2.0) == [
        Unsubscribe(listener="a", subscription_id="a1")
    ]
    assert dict(sup.subscriptions) == {"a": "a2", "b": "b1"}
    assert sup.handle(Unsubscribed(listener="a", subscription_id="a1"), now=3.0) == []
    assert sup.state is State.ACTIVE
    assert sup.outstanding() == ()


def test_renew_refuses_an_unknown_listener() -> None:
    with pytest.raises(ValueError, match="not a configured listener"):
        active().renew("zzz", now=1.0)


def test_a_subscription_the_server_ended_is_subscribed_again() -> None:
    sup = active()
    assert sup.handle(Unsubscribed(listener="b", subscription_id="b1"), now=1.0) == [Subscribe(listener="b")]
    assert sup.state is State.SUBSCRIBING
    assert dict(sup.subscriptions) == {"a": "a1"}
    sup.handle(Subscribed(listener="b", subscription_id="b2"), now=2.0)
    assert sup.state is State.ACTIVE


def test_a_refused_subscribe_is_retried_at_the_next_probe_round() -> None:
    sup = logged_in(config(probe_interval=100.0))
    sup.handle(Subscribed(listener="a", subscription_id="a1"), now=1.0)
    assert sup.handle(CallFailed(call=Subscribe(listener="b"), fault=FaultKind.OTHER), now=1.0) == []
    assert sup.failures == 0  # refused is not a liveness failure
    assert sup.state is State.SUBSCRIBING
    assert sup.handle_timer(100.0) == [PROBE, Subscribe(listener="b")]


def test_a_subscribe_lost_in_transport_counts_and_is_retried() -> None:
    sup = logged_in(config(probe_interval=100.0))
    sup.handle(CallFailed(call=Subscribe(listener="a"), fault=FaultKind.TRANSPORT), now=1.0)
    assert sup.failures == 1
    assert sup.handle_timer(100.0) == [PROBE, Subscribe(listener="a")]


def test_an_unsubscribe_lost_in_transport_is_retried_and_a_refused_one_abandoned() -> None:
    sup = active(config(probe_interval=100.0))
    sup.renew("a", now=1.0)
    sup.handle(Subscribed(listener="a", subscription_id="a2"), now=1.0)
    old = Unsubscribe(listener="a", subscription_id="a1")
    sup.handle(CallFailed(call=old, fault=FaultKind.TRANSPORT), now=2.0)
    assert sup.handle_timer(100.0) == [PROBE, old]
    assert sup.handle(CallFailed(call=old, fault=FaultKind.OTHER), now=101.0) == []
    assert old not in sup.outstanding()
    # The server's word that it ended after all is absorbed.
    assert sup.handle(Unsubscribed(listener="a", subscription_id="a1"), now=102.0) == []


def test_stop_logs_off_a_held_session() -> None:
    sup = active()
    sup.handle(HaSwitch(), now=1.0)
    assert sup.stop(2.0) == [LogOff()]
    assert sup.state is State.LOGGING_OFF
    assert sup.has_session
    assert sup.get_timer() is None
    assert sup.stop(2.5) == []
    assert sup.handle(ProbeSucceeded(), now=3.0) == []  # asked before stop: absorbed
    assert sup.handle(Unsubscribed(listener="a", subscription_id="a1"), now=3.0) == []  # ends with the session
    assert sup.handle(LoggedOff(), now=4.0) == []
    assert sup.state is State.STOPPED
    assert not sup.has_session
    assert sup.token is None


def test_stop_while_logging_in_logs_off_the_session_the_login_makes() -> None:
    sup = Supervisor(config())
    sup.start(0.0)
    assert sup.stop(1.0) == []
    assert sup.state is State.STOPPING
    assert sup.handle(LoggedIn(token=TOKEN), now=2.0) == [LogOff()]
    assert sup.token == TOKEN
    sup.handle(CallFailed(call=LogOff(), fault=FaultKind.TRANSPORT), now=3.0)
    assert sup.state is State.STOPPED


def test_stop_while_backing_off_stops_at_once() -> None:
    sup = Supervisor(config())
    sup.start(0.0)
    sup.handle(CallFailed(call=LogIn(), fault=FaultKind.TRANSPORT), now=0.0)
    assert sup.stop(0.5) == []
    assert sup.state is State.STOPPED
    assert sup.get_timer() is None


# -- errors and secrets -----------------------------------------------------------------------------------------


def test_subscribed_before_logged_in_is_refused_with_state_outcome_and_hint() -> None:
    sup = Supervisor(config())
    sup.start(0.0)
    with pytest.raises(UnexpectedOutcomeError) as caught:
        sup.handle(Subscribed(listener="a", subscription_id="a1"), now=1.0)
    error = caught.value
    assert isinstance(error, LocalProtocolError)
    assert isinstance(error, InvalidTransitionError)
    assert error.state is State.LOGGING_IN
    assert error.message == "Subscribed(listener='a', subscription_id='a1')"
    assert "Subscribe(listener='a')" in error.detail
    assert error.hint is not None
    assert "LogIn" in error.hint


def test_a_late_session_not_created_still_drops_the_session_and_logs_in() -> None:
    # A probe past probe_timeout is a failure and its outcome is absorbed, except the server's word that the
    # session is gone: no call may go on that session (the call-without-session duty).
    sup = Supervisor(config(listeners=(), failure_threshold=3))
    sup.start(0.0)
    sup.handle(LoggedIn(token=TOKEN), now=0.0)
    (probe,) = sup.handle_timer(100.0)
    assert isinstance(probe, Probe)
    sup.handle_timer(110.0)  # the probe expires: one failure
    assert sup.has_session
    assert sup.handle(CallFailed(call=probe, fault=FaultKind.SESSION_NOT_CREATED), now=111.0) == [LogIn()]
    assert not sup.has_session


def test_a_late_session_not_created_of_a_lost_session_is_absorbed() -> None:
    sup = Supervisor(config(listeners=()))
    sup.start(0.0)
    sup.handle(LoggedIn(token=TOKEN), now=0.0)
    (probe,) = sup.handle_timer(100.0)
    sup.handle_timer(110.0)
    sup.handle(SessionTerminated(), now=111.0)
    sup.handle(LoggedIn(token=TOKEN), now=112.0)
    assert sup.handle(CallFailed(call=probe, fault=FaultKind.SESSION_NOT_CREATED), now=113.0) == []
    assert sup.has_session


def test_the_server_ending_a_subscription_before_its_subscribed_is_reported_is_taken_up_then() -> None:
    # The notification and the Subscribe's HTTP response race: the end may be told first (K18).
    sup = logged_in()
    assert sup.handle(Unsubscribed(listener="a", subscription_id="a1"), now=1.0) == []
    assert sup.subscriptions == {}
    assert sup.handle(Subscribed(listener="a", subscription_id="a1"), now=2.0) == [Subscribe(listener="a")]
    assert "a" not in sup.subscriptions
    assert sup.handle(Subscribed(listener="b", subscription_id="b1"), now=2.0) == []
    assert sup.state is State.SUBSCRIBING
    sup.handle(Subscribed(listener="a", subscription_id="a2"), now=3.0)
    assert sup.subscriptions == {"a": "a2", "b": "b1"}
    assert sup.state is State.ACTIVE


def test_an_early_end_of_a_subscription_made_on_a_lost_session_stays_absorbed() -> None:
    sup = logged_in()
    sup.handle(Unsubscribed(listener="a", subscription_id="a1"), now=1.0)
    sup.handle(SessionTerminated(), now=2.0)
    assert sup.handle(Subscribed(listener="a", subscription_id="a1"), now=3.0) == []
    assert sup.subscriptions == {}


@pytest.mark.parametrize(
    "outcome",
    [ProbeSucceeded(), KeepAliveSucceeded(), LoggedOff(), LoggedIn(token=TOKEN),
     Unsubscribed(listener="a", subscription_id="nope"), CallFailed(call=LogOff(), fault=FaultKind.TRANSPORT),
     CallFailed(call=Unsubscribe(listener="a", subscription_id="nope"), fault=FaultKind.OTHER)],
)
def test_an_outcome_of_a_call_never_asked_is_refused(outcome: Any) -> None:
    sup = active()
    with pytest.raises(UnexpectedOutcomeError) as caught:
        sup.handle(outcome, now=1.0)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in str(caught.value.message)
    assert sup.state is State.ACTIVE


def test_start_twice_is_refused() -> None:
    sup = Supervisor(config())
    sup.start(0.0)
    with pytest.raises(UnexpectedOutcomeError, match="start"):
        sup.start(1.0)


def test_bad_arguments_are_refused() -> None:
    sup = active()
    with pytest.raises(ValueError, match="jitter"):
        sup.handle_timer(1.0, jitter=1.0)
    with pytest.raises(ValueError, match="jitter"):
        sup.handle(HaSwitch(), now=1.0, jitter=-0.5)
    with pytest.raises(ValueError, match="now"):
        sup.handle(HaSwitch(), now=math.nan)
    with pytest.raises(TypeError, match="not a CCT supervisor outcome"):
        sup.handle(PROBE, now=1.0)  # type: ignore[arg-type]


def test_the_token_is_in_no_repr() -> None:
    sup = active()
    assert sup.token == TOKEN
    assert TOKEN not in repr(sup)
    assert TOKEN not in repr(LoggedIn(token=TOKEN))
    assert LoggedIn(token=TOKEN) == LoggedIn(token=TOKEN)
    assert LoggedIn(token=TOKEN) != LoggedIn(token="other")


def test_calls_and_outcomes_are_frozen_values() -> None:
    assert Subscribe(listener="a") == Subscribe(listener="a")
    assert hash(Probe(operation="x")) == hash(Probe(operation="x"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Subscribe(listener="a").listener = "b"  # type: ignore[misc]
    assert LogIn.OPERATION == "LogInToCCTServer"
    assert LogOff.OPERATION == "LogOffFromCCTServer"


def test_subscriptions_view_is_read_only() -> None:
    sup = active()
    view = sup.subscriptions
    with pytest.raises(TypeError):
        view["a"] = "x"  # type: ignore[index]
    assert dict(sup.subscriptions) == {"a": "a1", "b": "b1"}


# -- docs -------------------------------------------------------------------------------------------------------


def test_the_diagram_draws_every_transition_that_moves_or_acts() -> None:
    diagram = states.mermaid_diagram()
    assert diagram.startswith("stateDiagram-v2\n    [*] --> IDLE")
    for (state, input_), transition in TRANSITIONS.items():
        for step in transition.steps:
            if step.effect is Effect.NOTHING and step.target is state:
                continue
            edge = f"    {state.name} --> {step.target.name}: "
            line = next(line for line in diagram.splitlines() if line.startswith(edge))
            assert f"{input_.value} / {step.effect.value}" in line


def test_doc_sections() -> None:
    assert set(docs.SECTIONS) == {"cct-supervisor-config", "cct-supervisor-diagram", "cct-supervisor-table"}
    table = docs.supervisor_table()
    rows = sum(len(transition.steps) for transition in TRANSITIONS.values())
    assert len(table.splitlines()) == rows + 2
    config_table = docs.config_table()
    for field in attrs.fields(SupervisorConfig):
        assert f"`{field.name}`" in config_table
    assert docs.supervisor_diagram().startswith("```mermaid\n")
