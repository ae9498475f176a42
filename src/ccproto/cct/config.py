"""The CCT session supervisor's configuration: one frozen, validated object (every choice of ccproto's in one place).

What public material fixes, and where each default comes from (docs/cct.md, ``/work/shared/notes/cct.md``):

* a CCT session times out after a configured time, reset by every call except ``GetVersion`` (Avaya support
  document 101090657, "Open Interfaces CCT SDK": 120 min by default, 5-10 min with a keep-alive as best
  practice);
* the one public client polls ``MetricsService.GetLicenseConsumedCount`` every 15 s to notice a failover.

Everything else here (margins, thresholds, back-off bounds) is ccproto's choice, configurable and documented.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import attrs

__all__ = [
    "DEFAULT_PROBE_OPERATION",
    "GET_VERSION",
    "SupervisorConfig",
    "check_jitter",
    "refuses_session_reset",
]

#: The public client's liveness call (``MetricsService``; request ``{ssoToken}``, reply ``{count}``): a call on the
#: session, so it also resets the session's timeout.
DEFAULT_PROBE_OPERATION = "GetLicenseConsumedCount"
#: The session timeout assumed unless told (seconds): the best practice's 5-10 min (support document 101090657).
DEFAULT_SESSION_TIMEOUT = 600.0

#: The one operation that does not reset a session's timeout (Avaya support document 101090657).
GET_VERSION = "GetVersion"


def refuses_session_reset(operation: str) -> bool:
    """Whether ``operation`` is ``GetVersion`` (any case, bare or qualified: ``MetricsService.GetVersion``, a
    SOAPAction ``.../GetVersion``, ``{ns}GetVersion``): the call that never keeps a session alive."""
    bare = operation.strip()
    for separator in ("/", ".", ":", "}", "#"):
        bare = bare.rsplit(separator, 1)[-1]
    return bare.lower() == GET_VERSION.lower()


def _positive(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{attribute.name} must be a finite number of seconds above 0, not {value!r}")


def _operation(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name} must name an operation, not {value!r}")
    if refuses_session_reset(value):
        raise ValueError(
            f"{attribute.name}={value!r} cannot keep a CCT session alive: GetVersion is the one call that does not "
            f"reset the session timeout (Avaya support document 101090657), so a supervisor probing with it would "
            f"let the session expire; use a call on the session such as {DEFAULT_PROBE_OPERATION!r}"
        )


def _listeners(instance: Any, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
    for name in value:
        if not isinstance(name, str) or not name:
            raise ValueError(f"listeners must be non-empty strings (the integrator's names), not {name!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"listeners must be distinct: {value!r}")


def _count(minimum: int) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is None and attribute.name == "max_attempts":
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{attribute.name} must be an integer >= {minimum}, not {value!r}")

    return check


def _to_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _same_as_probe(config: SupervisorConfig) -> str:
    return config.probe_operation


@attrs.frozen(kw_only=True)
class SupervisorConfig:
    """How a CCT client's session supervisor behaves (times in seconds; validated on construction).

    The defaults are ccproto's choices (docs/cct.md lists each with its reason); set ``session_timeout`` to the
    timeout the customer's CCT server is configured with.
    """

    #: The event listeners (subscriptions) to keep, by the integrator's names; re-subscribed after every login.
    listeners: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple, validator=_listeners)
    #: The server's session timeout. Default 600 s: the best practice's 5-10 min (Avaya support document
    #: 101090657); a longer server timeout (Avaya's default is 120 min) only makes the keep-alive early.
    session_timeout: float = attrs.field(default=DEFAULT_SESSION_TIMEOUT, validator=_positive)
    #: A keep-alive is asked this long before the session would time out (ccproto's choice: 10 % of the default).
    keep_alive_margin: float = attrs.field(default=60.0, validator=_positive)
    #: How often the session is probed while held (failover detection by polling, as the seed suggests; the
    #: public client polls every 15 s).
    probe_interval: float = attrs.field(default=15.0, validator=_positive)
    #: A probe or keep-alive with no outcome by then counts as a failure (ccproto's choice).
    probe_timeout: float = attrs.field(default=10.0, validator=_positive)
    #: Consecutive failures (transport errors, unanswered or faulted probes) before the session is declared lost
    #: (ccproto's choice: 3, a transient error is tolerated; the public client re-logs in on the first).
    failure_threshold: int = attrs.field(default=3, validator=_count(1))
    #: The first re-login back-off's bound (each failed login doubles it, up to ``backoff_max``).
    backoff_initial: float = attrs.field(default=1.0, validator=_positive)
    #: The longest re-login back-off.
    backoff_max: float = attrs.field(default=60.0, validator=_positive)
    #: Consecutive failed logins before giving up; ``None``: never give up (an HA client waits out any switchover).
    max_attempts: int | None = attrs.field(default=None, validator=_count(1))
    #: The liveness probe (never ``GetVersion``: it does not reset the session timeout).
    probe_operation: str = attrs.field(default=DEFAULT_PROBE_OPERATION, validator=_operation)
    #: The keep-alive call (default: the probe operation; never ``GetVersion``).
    keep_alive_operation: str = attrs.field(
        default=attrs.Factory(_same_as_probe, takes_self=True), validator=_operation
    )

    def __attrs_post_init__(self) -> None:
        # Bounds between fields (each field's own bounds are checked by its validator).
        if self.keep_alive_margin >= self.session_timeout:
            raise ValueError(
                f"keep_alive_margin={self.keep_alive_margin} must be below session_timeout={self.session_timeout}: "
                "the keep-alive is asked that long before the session would time out"
            )
        if self.probe_timeout >= self.keep_alive_margin:
            raise ValueError(
                f"probe_timeout={self.probe_timeout} must be below keep_alive_margin={self.keep_alive_margin}, so "
                "that a keep-alive's outcome is due before the session would time out"
            )
        if self.backoff_initial > self.backoff_max:
            raise ValueError(f"backoff_initial={self.backoff_initial} must not exceed backoff_max={self.backoff_max}")

    def backoff_delay(self, backoffs: int, jitter: float) -> float:
        """The re-login back-off after ``backoffs`` earlier back-offs since the last session, for the caller's
        random draw ``jitter`` in [0, 1).

        ``min(backoff_max, backoff_initial * 2**backoffs) * (0.5 + jitter / 2)``: exponential with "equal
        jitter", always within [backoff_initial / 2, backoff_max).
        """
        check_jitter(jitter)
        if backoffs < 0:
            raise ValueError(f"backoffs must be >= 0, not {backoffs}")
        # 2.0 ** 1000 is finite; a larger product is inf, which min() turns into backoff_max.
        ceiling = min(self.backoff_max, self.backoff_initial * 2.0 ** min(backoffs, 1000))
        return ceiling * (0.5 + jitter / 2)


def check_jitter(jitter: float) -> None:
    """Refuse a ``jitter`` outside [0, 1) (the caller's random draw: the supervisor has no random source)."""
    if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be a number in [0, 1) (the caller's random draw), not {jitter!r}")
