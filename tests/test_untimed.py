"""Leaving out ``now`` turns a connection object's timeouts off, loudly (issue 21, item 7; core/timing.py).

Every protocol's connection object issues one ``UntimedWarning`` the first time something that
would get a deadline (a request, a hello, an action, a notification) is sent or received
without ``now``, pointing at the caller's line; with ``now`` it is silent, and so is the
passive ``observe`` the capture validator uses (a capture may have no timestamps).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ccproto import bridge, cceb, processor
from ccproto.core import Role
from ccproto.core.timing import UntimedWarning

ROOT = Path(__file__).resolve().parents[1]


def _bridge() -> tuple[Any, Any, Any]:
    request = bridge.ServerStatusRequest(target="Acme1.CONTROL", request_id=bridge.new_request_id())
    return bridge.ControlChannel(Role.SERVER), request, bridge.ServerStatusRequest(
        target="Acme1.CONTROL", request_id=bridge.new_request_id())


def _processor() -> tuple[Any, Any, Any]:
    return (processor.ProcessorSession(Role.CLIENT), processor.TeamStatusBeginRequest(agent_id="1001"),
            processor.TeamStatusBeginRequest(agent_id="1002"))


def _cceb() -> tuple[Any, Any, Any]:
    connection = cceb.CcebConnection(Role.CLIENT)
    return connection, cceb.Hello.new(token="eyJ", tenant="acme"), None


SETUPS: dict[str, Callable[[], tuple[Any, Any, Any]]] = {"bridge": _bridge, "processor": _processor, "cceb": _cceb}


@pytest.mark.parametrize("protocol", SETUPS)
def test_sending_without_now_warns_once_at_the_callers_line(protocol: str) -> None:
    connection, first, second = SETUPS[protocol]()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        connection.send(first)
        line = sys._getframe().f_lineno - 1
        if second is not None:
            connection.send(second)  # once per object: no second warning
    untimed = [w for w in caught if issubclass(w.category, UntimedWarning)]
    assert len(untimed) == 1, [str(w.message) for w in caught]
    assert untimed[0].filename == __file__
    assert untimed[0].lineno == line
    assert "now" in str(untimed[0].message)
    assert type(connection).__name__ in str(untimed[0].message)
    assert connection.get_timer() is None  # what the warning is about: no deadline


@pytest.mark.parametrize("protocol", SETUPS)
def test_with_now_there_is_no_warning_and_a_deadline(protocol: str) -> None:
    connection, first, _ = SETUPS[protocol]()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntimedWarning)
        connection.send(first, now=5.0)
    assert connection.get_timer() == 5.0 + connection.limits.request_timeout


@pytest.mark.parametrize("protocol", SETUPS)
def test_receiving_a_request_without_now_warns(protocol: str) -> None:
    connection, first, _ = SETUPS[protocol]()
    receiver = type(connection)(connection.our_role.peer)
    text = connection.send(first, now=0.0)
    if protocol == "bridge":
        receiver.receive_data(text)
        with pytest.warns(UntimedWarning):
            receiver.next_event()
    else:
        with pytest.warns(UntimedWarning):
            receiver.receive_message(text)


@pytest.mark.parametrize("protocol", SETUPS)
def test_observing_without_now_never_warns(protocol: str) -> None:
    # The validator's path: captures may have no timestamps, and that is no mistake of the caller.
    connection, first, _ = SETUPS[protocol]()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntimedWarning)
        connection.observe(first, connection.our_role)


def test_validating_the_samples_never_warns() -> None:
    samples = sorted(str(p) for p in (ROOT / "examples" / "captures").glob("*.jsonl"))
    run = subprocess.run([sys.executable, "-W", "error::UserWarning", "-m", "ccproto", "validate", *samples],
                         capture_output=True, text=True, check=False)
    assert "UntimedWarning" not in run.stderr, run.stderr
    assert run.returncode in (0, 1), run.stderr
