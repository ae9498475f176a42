"""The mutation check: the conformance harness catches every planted bug, and never blames a clean peer.

Each planted bug (``tests/planted_*.py``) is a reference peer with one decision
changed.  Under hypothesis's default settings the harness must fail it with a
shrunk capture that ``ccproto validate`` reproduces (the same kind of error);
the unmodified peers must pass 1,000 examples per role.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import planted_bridge
import planted_cceb
import planted_processor
from ccproto.capture.validator import validate_capture
from ccproto.core.roles import Role
from ccproto.testing.conformance import MACHINES, run_conformance
from ccproto.testing.harness import ConformanceFailure, PeerAdapter
from ccproto.testing.peers import ReferencePeer
from ccproto.testing.slices import reference_peer

#: protocol -> bug id -> the planted-bug peer class.
PLANTED: dict[str, dict[str, type[ReferencePeer]]] = {
    "bridge": planted_bridge.BUGS,
    "processor": planted_processor.BUGS,
    "cceb": planted_cceb.BUGS,
}

#: The bugs issue 6 names, by the id of the planted peer that has each.
ISSUE_BUGS = {
    "ack with the wrong uuid": "ack-wrong-uuid",
    "never ack": "never-acks",
    "accept createsession while pausing-service": "createsession-while-pausing",
    "echo a reserved field": "echoes-reserved-field",
    "resume a session after 72 h": "resumes-after-72h",
    "respond with another requestId": "another-request-id",
    "confirm a prepareSession that had override: true": "confirms-override",
    "a team-status event after end": "event-after-end",
    "timeout on an answered phone validation": "timeout-on-answered",
    "a transition stopping-service -> in-service": "stopping-to-in-service",
    "original not equal to the request": "original-differs",
    "a response to a request never sent": "response-to-unsent-request",
}

#: bug id -> finding codes of ``ccproto validate`` that name it (any one of them).
EXPECTED_CODES: dict[str, set[str]] = {
    "createsession-while-pausing": {"session-while-not-in-service"},
    "another-request-id": {"unknown-correlation-id"},
    "stopping-to-in-service": {"invalid-status-transition"},
    "response-to-unsent-request": {"unknown-correlation-id"},
    "createsession-before-status": {"unexpected-message"},
    "confirms-override": {"answer-not-allowed"},
    "event-after-end": {"report-not-active"},
    "original-differs": {"original-mismatch"},
    "wrong-resource-data": {"resource-data-mismatch"},
    "ack-wrong-uuid": {"unknown-uuid"},
    "never-acks": {"answer-timeout"},
    "resumes-after-72h": {"session-expired-resumed"},
    "timeout-on-answered": {"schema-violation"},
    "echoes-reserved-field": {"reserved-field"},
}

#: What a shrunk conversation is at most (records): long captures mean shrinking did not work.  An unshrunk run
#: of the harness's 20 steps holds dozens of records; shrunk ones held 2 to 13 over 8 runs of every bug
#: (``bench/conformance.py``).
SHRUNK = 20
#: Runs of the harness a planted bug gets to shrink to SHRUNK records (see the test).
ATTEMPTS = 3


def make_peer(cls: type[ReferencePeer]) -> ReferencePeer:
    """A planted-bug peer with the arguments its role needs."""
    if cls.protocol == "cceb" and cls.role is Role.CLIENT:
        return cls(token="planted-token-do-not-leak", tenant="tenant")  # type: ignore[call-arg]
    return cls()


def first_failure(run: Callable[[], Any]) -> ConformanceFailure | None:
    """The ConformanceFailure ``run`` raised (the first, if hypothesis found several distinct ones)."""
    try:
        run()
    except ConformanceFailure as failure:
        return failure
    except BaseExceptionGroup as group:
        found = group.subgroup(ConformanceFailure)
        if found is None:
            raise
        return found.exceptions[0]  # type: ignore[return-value]
    return None


def test_the_issues_bugs_are_all_planted() -> None:
    planted = {bug for bugs in PLANTED.values() for bug in bugs}
    assert set(ISSUE_BUGS.values()) <= planted
    assert len(planted) >= 12
    assert set(EXPECTED_CODES) == planted


@pytest.mark.parametrize(
    ("protocol", "bug"), [(p, b) for p, bugs in PLANTED.items() for b in bugs], ids=lambda v: str(v)
)
def test_every_planted_bug_is_caught_with_a_shrunk_replayable_capture(
    protocol: str, bug: str, tmp_path: Path
) -> None:
    cls = PLANTED[protocol][bug]
    # Hypothesis's default settings, with the example database off so no run replays an earlier one.  Shrinking a
    # stateful run is a local search whose result varies with the seed, and even a derandomized run's draws
    # depend on what ran before it in the process: so the bug must be caught on every attempt, and shrunk to at
    # most SHRUNK records on one of up to ATTEMPTS (the first one derandomized, so usually only one runs).
    failure: ConformanceFailure | None = None
    for attempt in range(ATTEMPTS):
        defaults = settings(settings.get_profile("default"), database=None, derandomize=attempt == 0)
        failure = first_failure(
            lambda: run_conformance(
                protocol, cls.role, lambda: PeerAdapter(make_peer(cls)), settings=defaults  # noqa: B023
            )
        )
        assert failure is not None, f"planted bug {bug!r} survived the conformance harness"
        if 0 < len(failure.capture.splitlines()) <= SHRUNK:
            break
    assert failure is not None
    lines = failure.capture.splitlines()
    assert 0 < len(lines) <= SHRUNK, failure.capture
    assert "ccproto validate" in str(failure)
    # Hypothesis replayed the shrunk conversation and it failed again: no fallback to a failure seen earlier (T7).
    assert "not reproduced" not in failure.reason, failure.reason
    capture = tmp_path / "capture.jsonl"
    capture.write_text(failure.capture, encoding="utf-8")
    report = validate_capture(capture)
    codes = {finding.code for finding in report.findings if finding.severity.value == "error"}
    assert codes & EXPECTED_CODES[bug], (codes, failure.capture)
    # One judge (issue 19): the live report names the rule validate names for that record of the shrunk capture.
    assert failure.code in EXPECTED_CODES[bug], (failure.code, failure.reason)
    assert failure.record is not None
    named = {f.code for f in report.findings if f.severity.value == "error" and f.record == failure.record}
    assert failure.code in named, (failure.code, failure.record, named, failure.capture)
    assert "planted-token-do-not-leak" not in str(failure)


def _clean_run(key: tuple[str, Role]) -> str:
    protocol, role = key
    run_conformance(
        protocol, role, lambda: PeerAdapter(reference_peer(protocol, role)),
        settings=settings(max_examples=1000, database=None, deadline=None),
    )
    return f"{protocol} {role.value}"


def test_no_false_alarm_on_the_clean_peers_over_1000_examples() -> None:
    # Six independent runs of 1,000 examples: two processes halve the wait on CI's two cores.
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        passed = sorted(pool.map(_clean_run, sorted(MACHINES, key=lambda k: (k[0], k[1].value))))
    assert len(passed) == len(MACHINES) == 6


#: Subprocesses, sockets or long runs: in the full run only (tests/conftest.py).
pytestmark = pytest.mark.slow
