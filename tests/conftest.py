"""The suite's two runs: the full one (CI and ``python3 tasks.py test``) and the quick default of a bare ``pytest``.

Tests marked ``slow`` (subprocesses, live sockets, long hypothesis runs: the ones that make the full run last)
run only in the full run: ``--full``, or ``CCPROTO_FULL_TESTS=1`` in the environment (``tasks.py test`` sets it;
so does a ``CI`` variable).  The quick run proves the same kinds of things on fewer cases
(hypothesis draws ``QUICK_EXAMPLES`` where a test does not choose), in a few minutes; nothing is skipped from the
full run.
"""

from __future__ import annotations

import os

import pytest


def _full(config: pytest.Config) -> bool:
    return bool(config.getoption("--full")) or os.environ.get("CCPROTO_FULL_TESTS") == "1" or bool(os.environ.get("CI"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", help="run the slow tests too (what CI runs)")


#: The quick run's hypothesis profile: fewer examples where a test does not choose its own (the full run keeps
#: hypothesis's default, or its "ci" profile where CI is set).
QUICK_EXAMPLES = 20


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a slow test (subprocesses, sockets, long runs): only in the full run")
    if not _full(config):
        from hypothesis import settings

        settings.register_profile("ccproto-quick", max_examples=QUICK_EXAMPLES)
        settings.load_profile("ccproto-quick")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _full(config):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


def pytest_report_header(config: pytest.Config) -> str:
    return "ccproto: full run" if _full(config) else "ccproto: quick run (slow tests deselected; --full runs them)"
