"""The pytest plugin (entry point ``pytest11``): run the conformance suite for a role with one line.

In a test module, with a fixture that returns your adapter::

    from ccproto.testing.pytest_plugin import conformance_test

    test_my_cceb_server = conformance_test("cceb", "server", adapter="my_adapter")

The fixture may return an adapter (reused: the harness calls its ``connect()`` at
the start of every example) or a function that makes a fresh adapter per example.
Settings (examples, seed, deadline, ...) come from hypothesis's usual profiles
(``--hypothesis-profile``, ``--hypothesis-seed``); pass ``settings=`` to override.
A live adapter (``live = True``, e.g. :class:`~ccproto.testing.live.LiveAdapter`) runs
without hypothesis's per-example deadline unless the settings choose one
(docs/testing.md, section 9: the complete live-server recipe).

The plugin module is loaded by pytest wherever ccproto is installed, so it must
import without the ``testing`` extra: hypothesis is imported only when a
conformance test runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role, RoleName

if TYPE_CHECKING:  # pragma: no cover - typing only
    from hypothesis import settings as Settings

    from ccproto.protocols import ProtocolName

__all__ = ["conformance_test", "reference_adapter"]


def _factory(value: Any) -> Callable[[], Any]:
    """A per-example adapter factory from what the fixture returned (an adapter, or a factory)."""
    if isinstance(value, type):
        return value  # an adapter class is a factory of adapters
    if callable(getattr(value, "send", None)):
        return lambda: value
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise TypeError(
        f"the adapter fixture returned {type(value).__name__}: expected an adapter (with send/receive)"
        " or a function returning one"
    )


def conformance_test(
    protocol: ProtocolName,
    role: Role | RoleName,
    *,
    adapter: str = "ccproto_adapter",
    settings: Settings | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Callable[[pytest.FixtureRequest], None]:
    """A pytest test function that runs the whole conformance suite for ``role`` of ``protocol``.

    ``adapter`` names the fixture that gives the system under test; ``role`` is
    the SUT's role (``"server"`` or ``"client"``).  A failure shows the shrunk
    conversation as a capture that ``ccproto validate`` reproduces.
    """
    sut_role = Role(role) if isinstance(role, str) else role

    def test(request: pytest.FixtureRequest) -> None:
        from ccproto.testing.conformance import run_conformance
        from ccproto.testing.harness import ConformanceFailure

        make_adapter = _factory(request.getfixturevalue(adapter))
        try:
            run_conformance(protocol, sut_role, make_adapter, settings=settings, limits=limits)
        except ConformanceFailure as failure:
            # The failure's text says everything (secrets replaced); the harness's frames would show the raw
            # messages (with their secrets) as arguments in pytest's traceback.
            raise failure.with_traceback(None) from None

    test.__name__ = test.__qualname__ = f"test_{protocol}_{sut_role.value}_conformance"
    test.__doc__ = f"The {protocol} {sut_role.value} passes ccproto's conformance suite."
    marked: Callable[[pytest.FixtureRequest], None] = pytest.mark.ccproto_conformance(test)
    return marked


def reference_adapter(protocol: ProtocolName, role: Role | RoleName) -> Any:
    """A :class:`~ccproto.testing.harness.PeerAdapter` around a new reference peer (a stand-in SUT or a fake)."""
    from ccproto.testing.harness import PeerAdapter
    from ccproto.testing.slices import reference_peer

    return PeerAdapter(reference_peer(protocol, role))


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker conformance tests carry."""
    config.addinivalue_line("markers", "ccproto_conformance: a ccproto conformance-suite test")
