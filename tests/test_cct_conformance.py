"""The CCT supervisor's conformance machine: ccproto's supervisor passes it, every planted bug is caught by the duty
it breaks, the reference server follows the public session rules, and the strategies draw valid inputs."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planted_cct
from ccproto.cct.config import SupervisorConfig
from ccproto.cct.duties import Duty
from ccproto.cct.states import FaultKind
from ccproto.cct.supervisor import (
    CallFailed,
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
    Subscribe,
    Subscribed,
    Supervisor,
    Unsubscribe,
    Unsubscribed,
)
from ccproto.core.roles import Role
from ccproto.testing.harness import ConformanceFailure
from ccproto.testing.slices import slice_of
from ccproto.testing.slices.cct.conformance import (
    CctConformanceFailure,
    CctSupervisorConformance,
    SupervisorAdapter,
    cct_machine,
    run_cct_conformance,
)
from ccproto.testing.slices.cct.server import EndReason, FailoverMode, ReferenceCctServer
from ccproto.testing.slices.cct.strategies import delays, failovers, jitters, supervisor_configs

#: Modest and deterministic (CI): each run draws the same examples.
FEW = settings(max_examples=30, database=None, deadline=None, derandomize=True)
PROBE = Probe(operation="GetLicenseConsumedCount")


def first_failure(run: object) -> CctConformanceFailure | None:
    """The CctConformanceFailure the run raised (hypothesis may report several distinct ones)."""
    assert callable(run)
    try:
        run()
    except CctConformanceFailure as failure:
        return failure
    except BaseExceptionGroup as group:
        found = group.subgroup(CctConformanceFailure)
        if found is None:
            raise
        return found.exceptions[0]  # type: ignore[return-value]
    return None


# -- ccproto's own supervisor passes ----------------------------------------------------------------------------


@pytest.mark.parametrize("config", [planted_cct.ORDINARY, planted_cct.RARE_PROBES,
                                    SupervisorConfig(listeners=("agents",), failure_threshold=1, max_attempts=2,
                                                     backoff_initial=0.5, backoff_max=4.0),
                                    SupervisorConfig()],
                         ids=["ordinary", "rare-probes", "strict", "no-listeners"])
def test_ccproto_supervisor_passes(config: SupervisorConfig) -> None:
    run_cct_conformance(Supervisor, settings=FEW, config=config)


def test_ccproto_supervisor_passes_with_drawn_configs() -> None:
    run_cct_conformance(Supervisor, settings=settings(FEW, max_examples=50), config=None)


def test_supervisor_is_its_own_adapter() -> None:
    assert isinstance(Supervisor(), SupervisorAdapter)
    machine = cct_machine(Supervisor, config=None)
    assert issubclass(machine, CctSupervisorConformance)
    assert machine.config is None


def test_the_slice_names_the_machine_and_has_no_peer() -> None:
    found = slice_of("cct")
    assert dict(found.peers) == {}
    assert found.machine(Role.CLIENT) is CctSupervisorConformance


# -- every planted bug is caught, naming its duty -----------------------------------------------------------------


def test_the_planted_bugs_cover_the_duties() -> None:
    assert len(planted_cct.BUGS) >= 7
    assert {bug.duty for bug in planted_cct.BUGS.values()} == set(Duty)


@pytest.mark.parametrize("name", sorted(planted_cct.BUGS))
def test_every_planted_bug_is_caught_naming_its_duty(name: str) -> None:
    bug = planted_cct.BUGS[name]
    # At most 10 examples: what the quick run allows (tests/conftest.py); the example's fixed tail reaches each duty.
    failure = first_failure(lambda: run_cct_conformance(
        bug.cls, settings=settings(FEW, max_examples=10), config=bug.config))
    assert failure is not None, f"planted bug {name!r} survived"
    assert failure.duty is bug.duty, (failure.duty, failure.reason)
    assert isinstance(failure, ConformanceFailure)
    assert failure.code == bug.duty.value
    assert failure.protocol == "cct"
    assert failure.role is Role.CLIENT
    text = str(failure)
    assert bug.duty.value in text
    assert failure.reason in text
    # Sessions by number, never a token.
    assert "cct-sso-" not in text


# -- the reference server ---------------------------------------------------------------------------------------


def _logged_in(server: ReferenceCctServer, now: float = 0.0) -> str:
    outcome = server.answer(LogIn(), token=None, now=now)
    assert isinstance(outcome, LoggedIn)
    return outcome.token


@pytest.mark.parametrize("mode", [FailoverMode.HOT_STANDBY, FailoverMode.WARM_STANDBY])
def test_standby_failovers_lose_sessions_and_subscriptions(mode: FailoverMode) -> None:
    server = ReferenceCctServer(session_timeout=600.0)
    token = _logged_in(server)
    subscribed = server.answer(Subscribe(listener="agents"), token=token, now=1.0)
    assert isinstance(subscribed, Subscribed)
    assert server.fail_over(2.0, mode, down_for=5.0, notify=True) == []  # no courtesy notification outside MC
    assert server.answer(PROBE, token=token, now=3.0) == CallFailed(call=PROBE, fault=FaultKind.TRANSPORT)
    assert server.answer(PROBE, token=token, now=7.0) == CallFailed(call=PROBE, fault=FaultKind.SESSION_NOT_CREATED)
    session = server.session(token)
    assert session is not None
    assert session.end is EndReason.FAILOVER
    assert not session.subscriptions
    assert server.end_subscription(subscribed.subscription_id, 8.0) == []


def test_mission_critical_keeps_sessions_and_may_notify() -> None:
    server = ReferenceCctServer(session_timeout=600.0)
    token = _logged_in(server)
    subscribed = server.answer(Subscribe(listener="agents"), token=token, now=1.0)
    assert isinstance(subscribed, Subscribed)
    assert server.fail_over(2.0, FailoverMode.MISSION_CRITICAL, notify=True) == [HaSwitch()]
    assert server.fail_over(3.0, FailoverMode.MISSION_CRITICAL) == []
    assert server.answer(PROBE, token=token, now=4.0) == ProbeSucceeded()
    assert server.end_subscription(subscribed.subscription_id, 5.0) == [
        Unsubscribed(listener="agents", subscription_id=subscribed.subscription_id)]


def test_a_session_times_out_unless_a_call_resets_it() -> None:
    server = ReferenceCctServer(session_timeout=100.0)
    token = _logged_in(server)
    assert server.answer(KeepAlive(operation="GetLicenseConsumedCount"), token=token, now=99.0) == KeepAliveSucceeded()
    assert server.advance(198.9) == []
    expired = server.advance(199.0)  # reaching the timeout is too late
    assert [s.end for s in expired] == [EndReason.TIMED_OUT]
    assert expired[0].ended_at == 199.0
    assert server.answer(PROBE, token=token, now=199.0) == CallFailed(call=PROBE, fault=FaultKind.SESSION_NOT_CREATED)


def test_getversion_does_not_reset_the_timeout() -> None:
    server = ReferenceCctServer(session_timeout=100.0)
    token = _logged_in(server)
    version = Probe(operation="MetricsService.GetVersion")
    assert server.answer(version, token=token, now=50.0) == ProbeSucceeded()
    session = server.session(token)
    assert session is not None
    assert session.last_reset == 0.0
    assert [seen.reset for seen in session.seen] == [False]
    assert server.answer(version, token=token, now=100.0) == ProbeSucceeded()  # answered, session or not
    assert session.end is EndReason.TIMED_OUT


def test_logoff_termination_and_refusals() -> None:
    server = ReferenceCctServer(session_timeout=600.0)
    token = _logged_in(server)
    unknown = Unsubscribe(listener="agents", subscription_id="urn:none")
    assert server.answer(unknown, token=token, now=1.0) == CallFailed(call=unknown, fault=FaultKind.OTHER)
    assert server.answer(PROBE, token=token, now=2.0, fault=FaultKind.OTHER) == CallFailed(
        call=PROBE, fault=FaultKind.OTHER)
    assert server.answer(LogOff(), token=token, now=3.0) == LoggedOff()
    assert server.terminate(token, 4.0) == []
    other = _logged_in(server, 5.0)
    assert server.terminate(other, 6.0) == [SessionTerminated()]
    assert [s.end for s in server.sessions] == [EndReason.LOGGED_OFF, EndReason.TERMINATED]
    with pytest.raises(ValueError, match="server's to decide"):
        server.answer(PROBE, token=other, now=7.0, fault=FaultKind.SESSION_NOT_CREATED)
    assert "cct-sso" not in repr(server)
    assert "cct-sso" not in repr(server.sessions)


# -- the strategies ---------------------------------------------------------------------------------------------


@settings(max_examples=50, derandomize=True, database=None, deadline=None)
@given(data=st.data())
def test_strategies_draw_valid_inputs(data: st.DataObject) -> None:
    config = data.draw(supervisor_configs())
    assert isinstance(config, SupervisorConfig)  # validated on construction
    assert config.probe_timeout < config.keep_alive_margin < config.session_timeout
    delay = data.draw(delays(config))
    assert delay >= 0.0
    assert math.isfinite(delay)
    failover = data.draw(failovers(config))
    assert failover.down_for >= 0.0
    assert 0.0 <= data.draw(jitters()) < 1.0


def test_machine_for_points_a_cct_caller_at_the_in_process_runner() -> None:
    from ccproto.testing.conformance import machine_for

    with pytest.raises(ValueError, match=r"ccproto\.testing\.slices\.cct\.conformance:CctSupervisorConformance"):
        machine_for("cct", "client", lambda: None)
    with pytest.raises(ValueError, match="no conformance machine"):
        machine_for("cct", "server", lambda: None)
