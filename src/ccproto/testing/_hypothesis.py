"""Hypothesis's setup hook (entry point ``hypothesis``): ``st.from_type`` knows ccproto's messages once hypothesis does.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported, wherever
ccproto is installed (pyproject.toml, ``[project.entry-points.hypothesis]``), so
``st.from_type(cceb.Hello)`` works without importing :mod:`ccproto.testing`.
The hook imports only the registry of protocols (each protocol's spec lists its
types, ``strategy_types``, in the protocol's own package: the hook needs the
classes) and registers a deferred strategy per class: the strategies, the costly
part, are imported the first time one of them is drawn from.  It never raises: a
broken hook would break every import of hypothesis.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from hypothesis.strategies import SearchStrategy

__all__ = ["registered_types"]


def registered_types() -> tuple[type[Any], ...]:
    """Every type :mod:`ccproto.testing.strategies` registers with ``st.register_type_strategy``.

    Each registered protocol's ``strategy_types``: its message classes, and the bases and catch-alls that have a
    strategy of their own.
    """
    # Imported here, inside the hook's guard: a broken installation must not break importing hypothesis.
    from ccproto.protocols import registered

    return tuple(cls for spec in registered() for cls in spec.load_strategy_types())


def _strategy_for(cls: type[Any]) -> Callable[[], SearchStrategy[Any]]:
    """The definition of ``cls``'s deferred strategy (``st.deferred`` takes a function, not a ``partial``)."""

    def definition() -> SearchStrategy[Any]:
        # Reading the strategies registers the protocols' own in place of these deferred ones; this one still
        # answers with the same strategy, so a deferred strategy drawn before then is theirs.
        from ccproto.testing.strategies import TYPE_STRATEGIES

        return TYPE_STRATEGIES[cls]

    return definition


def _hypothesis_setup_hook() -> None:
    """Register a deferred strategy for every ccproto message type (called by hypothesis when it is imported)."""
    try:
        from hypothesis import strategies as st

        types = registered_types()
    except ImportError:
        return  # a partial installation: hypothesis works on, without ccproto's strategies
    except Exception as exc:  # hypothesis must import whatever happens here
        warnings.warn(f"ccproto could not register its hypothesis strategies: {exc!r}", RuntimeWarning, stacklevel=2)
        return
    try:
        for cls in types:
            st.register_type_strategy(cls, st.deferred(_strategy_for(cls)))
    except Exception as exc:  # hypothesis must import whatever happens here
        warnings.warn(f"ccproto could not register its hypothesis strategies: {exc!r}", RuntimeWarning, stacklevel=2)
