"""The conformance harness: hypothesis state machines that play one role against a system under test.

``run_conformance("cceb", "server", make_adapter)`` runs the whole suite for a
role; ``machine_for`` gives the ``RuleBasedStateMachine`` class to run yourself.  Each protocol's machines live
in its testing slice (``ccproto.testing.slices.<protocol>.conformance``), found through ``MACHINES``.
The SUT is reached through an adapter (:class:`~ccproto.testing.harness.Adapter`);
a failure is a :class:`~ccproto.testing.harness.ConformanceFailure` whose text is
the shrunk conversation as a capture that ``ccproto validate`` reproduces.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import hypothesis
import hypothesis.stateful
from hypothesis import HealthCheck, Phase
from hypothesis import settings as Settings
from hypothesis.errors import Flaky
from hypothesis.internal.conjecture import engine as _engine
from hypothesis.stateful import run_state_machine_as_test

from ccproto.core.errors import ProtocolError
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role, RoleName

if TYPE_CHECKING:
    from ccproto.protocols import ProtocolName
from ccproto.testing.harness import ConformanceFailure, ConformanceMachine, without_unsolicited
from ccproto.testing.slices import ByProtocolAndRole, slice_of
from ccproto.testing.strategies import Numbers

#: The test function ``run_state_machine_as_test`` runs, which ``hypothesis.seed`` can seed (recent hypothesis;
#: ``None`` before it had one: the testing extra allows 6.100).
_state_machine_test: Callable[..., Any] | None = getattr(hypothesis.stateful, "get_state_machine_test", None)

__all__ = [
    "MACHINES",
    "harness_settings",
    "machine_for",
    "run_conformance",
]

#: (protocol, role of the system under test) -> the machine that tests it: a live view of every registered
#: protocol's testing slice (``ccproto.testing.slices``).
MACHINES: Mapping[tuple[str, Role], type[ConformanceMachine]] = ByProtocolAndRole(
    lambda found, role: found.machine(role))


def _refuse_in_process_machine(protocol: str, role: Role) -> None:
    """A protocol whose slice tests ``role`` with a machine but has no reference peer (CCT: a client's supervisor,
    driven in process, not a wire peer) has no text-adapter machine here: say where its machine is."""
    try:
        found = slice_of(protocol)
    except ValueError:
        return
    if role in found.machines and role not in found.peers:
        where = found.machines[role]
        raise ValueError(
            f"the {protocol} protocol's conformance machine for the {role.value} role ({where}) drives an object in "
            "process, not text on a connection: use its module's runner"
        )


def machine_for(
    protocol: ProtocolName, role: Role | RoleName, make_adapter: Callable[[], Any], *, limits: Limits = DEFAULT_LIMITS,
    numbers: Numbers = Numbers.INTEROPERABLE,
) -> type[ConformanceMachine]:
    """The state machine testing the ``role`` of ``protocol``, bound to ``make_adapter`` (one adapter per example).

    ``role`` is the role of the system under test (``"server"``: the Processor
    Bridge, the Interaction Processor or the CCEB; ``"client"``: their clients).
    ``numbers``: the numbers drawn into messages (``Numbers.EXACT`` for an
    implementation that promises exact echoes of big integers and -0.0; quirks N2).
    """
    sut_role = Role(role) if isinstance(role, str) else role
    try:
        base = MACHINES[(protocol, sut_role)]
    except KeyError:
        _refuse_in_process_machine(protocol, sut_role)
        known = ", ".join(sorted({p for p, _ in MACHINES}))
        raise ValueError(f"no conformance machine for protocol {protocol!r} (known: {known})") from None
    bound = type(base.__name__, (base,), {"make_adapter": staticmethod(make_adapter), "limits": limits,
                                          "numbers": numbers})
    bound.__qualname__ = base.__qualname__
    return bound


def run_conformance(
    protocol: ProtocolName,
    role: Role | RoleName,
    make_adapter: Callable[[], Any],
    *,
    settings: Settings | None = None,
    limits: Limits = DEFAULT_LIMITS,
    numbers: Numbers = Numbers.INTEROPERABLE,
    shrink_time: float | None = None,
    progress: Callable[[int], None] | None = None,
    on_failure: Callable[[ConformanceFailure], None] | None = None,
    seed: int | None = None,
) -> None:
    """Run the conformance suite for one role; raises ``ConformanceFailure`` (shrunk) when the SUT breaks a rule.

    ``settings`` default to hypothesis's current profile (examples, seed, deadline, ...), without its example
    database unless they name one (:func:`harness_settings`); ``numbers`` as in :func:`machine_for`.
    ``shrink_time``: the most seconds spent shrinking a failure, the shortest failure so far reported when
    it runs out (default: hypothesis's own bound, 300 s).  ``progress`` is called with the number of
    conversations run so far, as each starts (a live run's progress); ``on_failure`` with each failure a
    conversation ends with (the first one found, then each one shrinking tries).  ``seed``: hypothesis's seed
    (``hypothesis.seed``): the same seed draws the same conversations.

    A live adapter (one whose ``live`` is true, e.g. :class:`~ccproto.testing.live.LiveAdapter`) runs without
    hypothesis's per-example deadline unless ``settings`` set one: a real conversation takes real time.
    """
    make_adapter, live = _probe_live(make_adapter)
    machine = machine_for(protocol, role, make_adapter, limits=limits, numbers=numbers)
    seen: list[ConformanceFailure] = []
    started = [0]

    class Remembering(machine):  # type: ignore[valid-type, misc]
        """Keeps the shortest failure seen (see below), and counts the conversations."""

        def __init__(self) -> None:
            started[0] += 1
            if progress is not None:
                progress(started[0])
            super().__init__()

        def fail(
            self, reason: str, error: ProtocolError | None = None, *, code: str | None = None
        ) -> ConformanceFailure:
            failure: ConformanceFailure = super().fail(reason, error, code=code)
            if not seen or failure.capture.count("\n") <= seen[0].capture.count("\n"):
                seen[:] = [failure]
            if on_failure is not None:
                on_failure(failure)
            return failure

    Remembering.__name__ = Remembering.__qualname__ = machine.__name__
    try:
        with _shrinking_for(shrink_time):
            _run_machine(Remembering, harness_settings(settings, live=live), seed)
    except ConformanceFailure as found:
        _drop_hypothesis_notes(found)
        trimmed = without_unsolicited(found, machine.unsolicited)
        if trimmed is found:
            raise
        raise trimmed from None
    except Flaky:
        # An implementation whose state outlives its connections (a live server, sessions kept across examples)
        # may not fail again when hypothesis replays the failing conversation; the failures seen are still real,
        # and the shortest is the one closest to what shrinking reached.
        if not seen:
            raise
        failure = without_unsolicited(seen[0], machine.unsolicited)
        _drop_hypothesis_notes(failure)
        failure.reason += (
            " (not reproduced when replayed: the implementation keeps state across connections, as real servers"
            " do; this is the shortest failing conversation seen)"
        )
        raise failure from None


def _probe_live(make_adapter: Callable[[], Any]) -> tuple[Callable[[], Any], bool]:
    """Whether ``make_adapter`` makes live adapters (their ``live`` attribute), and a factory to use instead.

    The answer is the adapter's to give, so one adapter is made now; it becomes the first example's (the
    returned factory hands it out first), so probing makes nothing the run would not have made.
    """
    first = [make_adapter()]

    def make() -> Any:
        return first.pop() if first else make_adapter()

    return make, bool(getattr(first[0], "live", False))


def _run_machine(machine: type[ConformanceMachine], settings: Settings, seed: int | None) -> None:
    """Run ``machine`` as hypothesis's ``run_state_machine_as_test`` does, with ``seed`` applied through
    ``hypothesis.seed`` to the test function it runs (its public way to fix what one test draws)."""
    if seed is None:
        run_state_machine_as_test(machine, settings=settings)  # type: ignore[no-untyped-call]
        return
    if _state_machine_test is None:  # pragma: no cover - older hypothesis: what `--hypothesis-seed` sets
        from hypothesis import core

        before = core.global_force_seed
        core.global_force_seed = seed  # type: ignore[assignment]
        try:
            run_state_machine_as_test(machine, settings=settings)  # type: ignore[no-untyped-call]
        finally:
            core.global_force_seed = before
        return
    test = _state_machine_test(machine, settings=settings)
    hypothesis.seed(seed)(test)()


def _drop_hypothesis_notes(failure: BaseException) -> None:
    """Remove the notes hypothesis adds ("Steps leading up to this error: ..."): the capture already tells the
    conversation, and the steps name the harness's own methods."""
    vars(failure).pop("__notes__", None)


@contextlib.contextmanager
def _shrinking_for(seconds: float | None) -> Iterator[None]:
    """Bound hypothesis's shrinking to ``seconds`` (its engine's documented, monkeypatchable bound)."""
    if seconds is None or not hasattr(_engine, "MAX_SHRINKING_SECONDS"):
        yield
        return
    before = _engine.MAX_SHRINKING_SECONDS
    _engine.MAX_SHRINKING_SECONDS = seconds  # type: ignore[assignment]
    try:
        yield
    finally:
        _engine.MAX_SHRINKING_SECONDS = before


#: Health checks a conversation trips by nature: each step draws whole messages, and a SUT may be slow.
INHERENT_HEALTH_CHECKS = (HealthCheck.large_base_example, HealthCheck.data_too_large, HealthCheck.too_slow)


#: Steps per conversation when the settings leave hypothesis's default (50): shorter conversations find the
#: planted bugs as well and shrink several times faster (docs/testing.md).
HARNESS_STEP_COUNT = 20
_HYPOTHESIS_STEP_COUNT = Settings.get_profile("default").stateful_step_count
_HYPOTHESIS_DEADLINE = Settings.get_profile("default").deadline


def harness_settings(settings: Settings | None = None, *, live: bool = False) -> Settings:
    """``settings`` (default: the current hypothesis profile) as the harness runs them.

    The inherent health checks and the explain phase are off, ``stateful_step_count`` is
    :data:`HARNESS_STEP_COUNT` unless the settings chose another value than hypothesis's default, and
    hypothesis's default example database (``.hypothesis/`` in the current directory) is not used: a
    conformance run writes no files unless its settings name a database.  ``live`` (the adapter does real
    I/O): no per-example deadline unless the settings chose another than hypothesis's default.
    """
    parent = settings if settings is not None else Settings()
    if live and parent.deadline == _HYPOTHESIS_DEADLINE:
        # A live conversation's steps wait for a real peer (a socket, a process): hypothesis's 200 ms, meant for
        # in-process tests, fails a healthy server (issue 21).  A deadline the user chose still holds.
        parent = Settings(parent, deadline=None)
    database = parent.database
    if database is not None and database == Settings.get_profile("default").database:
        database = None
    suppressed = {*parent.suppress_health_check, *INHERENT_HEALTH_CHECKS}
    steps = parent.stateful_step_count
    # The explain phase (which lines of the test ran) costs most of a failing run and names only the
    # harness's own lines: the failure's capture already explains.
    phases = [phase for phase in parent.phases if phase is not Phase.explain]
    return Settings(
        parent,
        suppress_health_check=sorted(suppressed, key=lambda check: check.value),
        stateful_step_count=HARNESS_STEP_COUNT if steps == _HYPOTHESIS_STEP_COUNT else steps,
        phases=phases,
        database=database,
    )
