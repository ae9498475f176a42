"""Hypothesis strategies for a CCT client's session supervisor: its configurations and what happens to it.

Configurations (valid :class:`~ccproto.cct.config.SupervisorConfig` objects, around the deadlines that matter),
faults, the notifications a consumer endpoint receives, time steps (including steps past the probe and keep-alive
deadlines), failovers and the caller's jitter draws. CCT has no message model, so ``st.from_type`` gets no type of
it (the spec lists no ``strategy_types``): :data:`STRATEGIES` adds nothing to the generic strategies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
from hypothesis import strategies as st

from ccproto.cct.config import DEFAULT_PROBE_OPERATION, SupervisorConfig
from ccproto.cct.states import FaultKind
from ccproto.cct.supervisor import HaSwitch, Outcome, SessionTerminated, SessionTerminationImminent
from ccproto.testing.strategies import ProtocolStrategies

if TYPE_CHECKING:
    from ccproto.testing.slices.cct.server import FailoverMode

__all__ = [
    "LISTENER_NAMES",
    "STRATEGIES",
    "Failover",
    "delays",
    "failovers",
    "faults",
    "jitters",
    "notifications",
    "supervisor_configs",
    "type_strategies",
]

#: Listener names the configurations draw from (the integrator's own names: any non-empty, distinct strings).
LISTENER_NAMES = ("agent-events", "call-events", "stats")


@st.composite
def supervisor_configs(draw: st.DrawFn, *, min_listeners: int = 0, max_listeners: int = 3) -> SupervisorConfig:
    """Valid supervisor configurations: short and long session timeouts, probe intervals below and above the
    keep-alive deadline, thresholds from 1, bounded or unbounded login attempts."""
    timeout = draw(st.floats(30.0, 1200.0), label="session_timeout")
    margin = timeout * draw(st.floats(0.05, 0.5), label="keep_alive_margin / session_timeout")
    initial = draw(st.floats(0.5, 20.0), label="backoff_initial")
    return SupervisorConfig(
        listeners=tuple(draw(st.lists(st.sampled_from(LISTENER_NAMES), unique=True, min_size=min_listeners,
                                      max_size=max_listeners), label="listeners")),
        session_timeout=timeout,
        keep_alive_margin=margin,
        # Below keep_alive_margin, as the config requires.
        probe_timeout=margin * draw(st.floats(0.05, 0.9), label="probe_timeout / keep_alive_margin"),
        # Below and above the keep-alive deadline: above it, only keep-alives hold the session.
        probe_interval=draw(st.floats(1.0, 2 * timeout), label="probe_interval"),
        failure_threshold=draw(st.integers(1, 4), label="failure_threshold"),
        backoff_initial=initial,
        backoff_max=initial * draw(st.floats(1.0, 50.0), label="backoff_max / backoff_initial"),
        max_attempts=draw(st.none() | st.integers(1, 6), label="max_attempts"),
        probe_operation=DEFAULT_PROBE_OPERATION,
    )


def faults(*, none_weight: int = 4) -> st.SearchStrategy[FaultKind | None]:
    """A fault to inject into one call (``None``, no fault, ``none_weight`` times as likely as each fault): only
    ``TRANSPORT`` and ``OTHER``; ``SessionNotCreatedException`` is the server's to decide."""
    return st.sampled_from([*([None] * none_weight), FaultKind.TRANSPORT, FaultKind.OTHER])


def notifications() -> st.SearchStrategy[Outcome]:
    """The session notifications a consumer endpoint receives (their payloads are not public: these carry none)."""
    return st.sampled_from([SessionTerminated(), SessionTerminationImminent(), HaSwitch()])


def jitters() -> st.SearchStrategy[float]:
    """The caller's random draws, in [0, 1), with both ends likely."""
    return st.sampled_from([0.0, 0.5]) | st.floats(0.0, 1.0, exclude_max=True)


def delays(config: SupervisorConfig) -> st.SearchStrategy[float]:
    """Time steps (seconds) for ``config``: small ones, and ones landing just before, on and past each deadline
    (probe round, probe timeout, keep-alive, session timeout, back-off bounds)."""
    deadlines = sorted({
        config.probe_timeout, config.probe_interval, config.probe_interval + config.probe_timeout,
        config.session_timeout - config.keep_alive_margin, config.session_timeout, config.backoff_initial / 2,
        config.backoff_max,
    })
    near = st.tuples(st.sampled_from(deadlines), st.sampled_from([-0.001, 0.0, 0.001, 1.0])).map(
        lambda pair: max(0.0, pair[0] + pair[1]))
    return st.one_of(st.floats(0.0, 1.0), near, st.floats(0.0, 2 * config.session_timeout + config.backoff_max))


@attrs.frozen(kw_only=True)
class Failover:
    """A switchover the server goes through: its mode, how long it answers nothing, and whether a Mission Critical
    one sends the courtesy HA-switch notification."""

    mode: FailoverMode
    down_for: float
    notify: bool = False


def failovers(config: SupervisorConfig) -> st.SearchStrategy[Failover]:
    """Failovers of every mode, instant ones and ones down long enough for failed logins and back-offs."""
    # Imported here: collecting the slices' strategies (on hypothesis's first draw) loads this module, not the
    # server's.
    from ccproto.testing.slices.cct.server import FailoverMode

    longest = config.failure_threshold * (config.probe_interval + config.probe_timeout) + 4 * config.backoff_max
    return st.builds(
        Failover,
        mode=st.sampled_from(list(FailoverMode)),
        down_for=st.sampled_from([0.0, config.probe_timeout]) | st.floats(0.0, longest),
        notify=st.booleans(),
    )


def type_strategies() -> Mapping[type[Any], st.SearchStrategy[Any]]:
    """None: CCT's spec lists no ``strategy_types`` (it has no message model), and every type here must be one of
    them (``st.from_type`` registers exactly those)."""
    return {}


#: CCT's strategies (its slice names them): nothing for the generic strategies.
STRATEGIES = ProtocolStrategies(type_strategies=type_strategies)
