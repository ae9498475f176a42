"""Time in the sans-I/O connection objects: ``now`` is an argument, and leaving it out turns timeouts off, loudly.

A connection object never reads a clock (ARCHITECTURE.md).  When a request that
would get a deadline (``now + Limits.request_timeout``) is sent or received
without ``now``, it gets none: it can never expire, and ``get_timer()`` stays
``None`` for it.  That is what a caller without a clock wants, and a silent
surprise to one who forgot ``now``; so the connection object issues an
:class:`UntimedWarning`, once per object, the first time it happens.
Passive observers (``observe``, the capture validator) are not warned: a capture
may have no timestamps.  Silence it where untimed is meant::

    warnings.filterwarnings("ignore", category=UntimedWarning)
"""

from __future__ import annotations

import warnings

__all__ = ["UntimedWarning", "warn_untimed"]


class UntimedWarning(UserWarning):
    """A connection object armed no deadline because ``now`` was not given: that request never times out."""


def warn_untimed(owner: str, what: str, *, stacklevel: int = 3) -> None:
    """Issue the :class:`UntimedWarning` of ``owner`` (a class name) for ``what`` (the untimed item).

    ``stacklevel`` 3 points at the caller of the connection object's public method.
    """
    warnings.warn(
        f"{owner}: {what} was handled without `now`, so it has no deadline and never times out; pass `now=` "
        "(seconds) to every send/receive call, or filter UntimedWarning if untimed is meant",
        UntimedWarning, stacklevel=stacklevel,
    )
