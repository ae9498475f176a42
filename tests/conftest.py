"""The suite's two runs: the full one (CI and ``python3 tasks.py test``) and the quick default of a bare ``pytest``.

Tests marked ``slow`` (subprocesses, live sockets, long hypothesis runs: the ones that make the full run last)
run only in the full run: ``--full``, or ``CCPROTO_FULL_TESTS=1`` in the environment (``tasks.py test`` sets it;
so does a ``CI`` variable).  The quick run proves the same kinds of things on fewer cases, in a few minutes:

- hypothesis draws at most ``QUICK_EXAMPLES`` per test, even where a test chose more (a test whose point is the
  number of examples, e.g. that a search finds a planted bug, says ``@pytest.mark.all_examples``);
- a test parametrized over many cases that each cost seconds (e.g. one schema per message class) says
  ``@pytest.mark.quick_sample(K)``: the quick run keeps every K-th case.

Nothing is skipped from the full run.
"""

from __future__ import annotations

import os

import pytest


def _full(config: pytest.Config) -> bool:
    return bool(config.getoption("--full")) or os.environ.get("CCPROTO_FULL_TESTS") == "1" or bool(os.environ.get("CI"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", help="run the slow tests too (what CI runs)")


#: The quick run's hypothesis examples per test, at most (the full run keeps each test's own settings and
#: hypothesis's default profile, or its "ci" profile where CI is set).
QUICK_EXAMPLES = 10


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a slow test (subprocesses, sockets, long runs): only in the full run")
    config.addinivalue_line("markers", "all_examples: the quick run keeps the test's own number of hypothesis examples")
    config.addinivalue_line("markers", "quick_sample(k): the quick run keeps every k-th case of the parametrized test")
    if not _full(config):
        from hypothesis import settings

        settings.register_profile("ccproto-quick", max_examples=QUICK_EXAMPLES)
        settings.load_profile("ccproto-quick")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _full(config):
        return
    left_out = [item for item in items if item.get_closest_marker("slow") is not None or not _sampled(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        dropped = set(map(id, left_out))
        items[:] = [item for item in items if id(item) not in dropped]
    for item in items:
        _cap_examples(item)


def _sampled(item: pytest.Item) -> bool:
    """Whether the quick run keeps ``item`` (every k-th case of a ``quick_sample(k)`` test)."""
    marker = item.get_closest_marker("quick_sample")
    callspec = getattr(item, "callspec", None)
    if marker is None or callspec is None:
        return True
    every = int(marker.args[0])
    return sum(callspec.indices.values()) % every == 0


def _cap_examples(item: pytest.Item) -> None:
    """At most ``QUICK_EXAMPLES`` for a hypothesis test, whatever its own settings (unless ``all_examples``).

    Hypothesis reads a test's settings from ``_hypothesis_internal_use_settings`` when it runs, the attribute its
    own pytest plugin rewrites the same way (parametrized tests' health checks).
    """
    from hypothesis import settings

    test = getattr(item, "obj", None)
    test = getattr(test, "__func__", test)
    if not getattr(test, "is_hypothesis_test", False) or item.get_closest_marker("all_examples") is not None:
        return
    current = getattr(test, "_hypothesis_internal_use_settings", None)
    if current is not None and current.max_examples > QUICK_EXAMPLES:
        test._hypothesis_internal_use_settings = settings(current, max_examples=QUICK_EXAMPLES)  # type: ignore[union-attr]


def pytest_report_header(config: pytest.Config) -> str:
    return "ccproto: full run" if _full(config) else "ccproto: quick run (slow tests deselected; --full runs them)"
