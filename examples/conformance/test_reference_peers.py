"""Run ccproto's conformance suite against your implementation: one line per role.

Copy this module into your own test suite and replace the reference peers below
with your implementation.  ccproto's pytest plugin is loaded automatically
wherever ccproto is installed (with the ``testing`` extra for hypothesis): no
conftest and no ``-p`` flag are needed.

Hypothesis settings come from its usual profiles, e.g.
``pytest --hypothesis-profile=ci --hypothesis-seed=1``; pass
``settings=hypothesis.settings(max_examples=...)`` to ``conformance_test`` to
override them for one role.

When your implementation breaks the protocol, the test fails with the shrunk
conversation as JSON Lines: save those lines as ``capture.jsonl`` and run
``ccproto validate capture.jsonl`` to replay it without your implementation.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ccproto.testing.harness import EPOCH, BaseAdapter
from ccproto.testing.peers import ReferencePeer
from ccproto.testing.pytest_plugin import conformance_test
from ccproto.testing.slices.bridge.peers import ReferenceBridge, ReferenceBridgeClient
from ccproto.testing.slices.cceb.peers import ReferenceCceb, ReferenceCcebClient
from ccproto.testing.slices.processor.peers import ReferenceProcessor, ReferenceProcessorClient


class MyAdapter(BaseAdapter):
    """Connects the harness to "my implementation" (here: one of ccproto's reference peers).

    REPLACE: the body of each method with calls into your implementation.  Only
    ``send`` and ``receive`` are required; the others let the harness test more:
    ``connect``/``close`` (reconnections), ``advance`` (rules that depend on time,
    e.g. 72-hour CCEB sessions; return ``False`` if your clock cannot be moved) and
    ``stimulate`` (make your implementation act on its own, e.g. offer an interaction).
    """

    def __init__(self, implementation: ReferencePeer) -> None:
        self.implementation = implementation
        # REPLACE: the actions your implementation can be asked to take (see the role's reference peer's STIMULI).
        self.stimuli = frozenset(implementation.STIMULI)
        # The reference peers take time as an argument; a real implementation would use a fake clock here.
        self.now = EPOCH
        self._sent: list[str] = []

    def connect(self) -> None:
        """A new connection (for a server: a client connected; for a client: it should connect now)."""
        self._sent += self.implementation.connect(now=self.now)

    def send(self, text: str) -> None:
        """Hand one whole message (a WebSocket text frame, a JSON command, a bridge frame's text) to it."""
        self._sent += self.implementation.receive(text, now=self.now)

    def receive(self) -> list[str]:
        """Everything it sent since the last call (a real adapter may wait a little for replies)."""
        sent, self._sent = self._sent, []
        return sent

    def close(self) -> None:
        """The harness closed the connection."""
        self._sent += self.implementation.disconnect(now=self.now)

    def advance(self, seconds: float) -> bool:
        """Move its clock forward (return False when your implementation's clock cannot be moved)."""
        self.now += seconds
        self._sent += self.implementation.advance(now=self.now)
        return True

    def stimulate(self, name: str) -> None:
        """Make it do ``name`` (one of ``stimuli``) on its own initiative."""
        self._sent += self.implementation.stimulate(name, now=self.now)


# REPLACE: each fixture with one that builds your implementation.  A fixture may return one adapter, reused by
# every example (the harness calls its ``connect()`` first), or a function making a fresh adapter per example.


@pytest.fixture
def bridge_server() -> MyAdapter:
    """The Processor Bridge under test (one adapter, reused by every example)."""
    return MyAdapter(ReferenceBridge())


@pytest.fixture
def bridge_client() -> Callable[[], MyAdapter]:
    """The bridge's CTI client under test (a fresh one per example)."""
    return lambda: MyAdapter(ReferenceBridgeClient())


@pytest.fixture
def processor_server() -> MyAdapter:
    """The Interaction Processor under test."""
    return MyAdapter(ReferenceProcessor())


@pytest.fixture
def processor_client() -> Callable[[], MyAdapter]:
    """The Interaction Processor's client under test."""
    return lambda: MyAdapter(ReferenceProcessorClient())


@pytest.fixture
def cceb_server() -> MyAdapter:
    """The CCEB under test."""
    return MyAdapter(ReferenceCceb())


@pytest.fixture
def cceb_client() -> Callable[[], MyAdapter]:
    """The agent's CCEB client under test (REPLACE: its credentials with a test account's)."""
    return lambda: MyAdapter(ReferenceCcebClient(token="example-token", tenant="example-tenant"))


# One line per role: the role is the one of YOUR implementation ("server" or "client").
test_bridge_server = conformance_test("bridge", "server", adapter="bridge_server")
test_bridge_client = conformance_test("bridge", "client", adapter="bridge_client")
test_processor_server = conformance_test("processor", "server", adapter="processor_server")
test_processor_client = conformance_test("processor", "client", adapter="processor_client")
test_cceb_server = conformance_test("cceb", "server", adapter="cceb_server")
test_cceb_client = conformance_test("cceb", "client", adapter="cceb_client")
