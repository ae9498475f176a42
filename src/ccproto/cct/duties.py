"""The CCT client's duties, by the one name each goes by in a capture finding and a conformance failure.

A duty broken in a captured client's traffic (``ccproto validate``, :mod:`ccproto.cct.checker`) and a duty an
integrator's supervisor breaks under test (the conformance machine of ``ccproto.testing``) carry the same code, so
that a report and a failing test point at the same row of ``docs/quirks.md``.  The seed's one concrete rule (detect
a failover, re-establish the session, re-register every listener) and the public session rules are the sources;
each duty's ``source`` says which.
"""

from __future__ import annotations

import enum

__all__ = ["Duty"]


class Duty(enum.Enum):
    """One duty of a CCT client; ``value`` is the finding code, ``summary`` says it in a sentence."""

    #: A call other than a login while the client holds no session: after a ``SessionNotCreatedException``, a
    #: logoff or a lost session, before a new login succeeded.
    CALL_WITHOUT_SESSION = "call-without-session"
    #: After a re-login, a listener the client had subscribed before is not subscribed again.
    NOT_RESUBSCRIBED = "not-resubscribed"
    #: A held session (with subscriptions, in a capture) went longer than the session timeout without a call that
    #: resets it: a zombie session and zombie subscriptions on the server.
    SESSION_SILENT_PAST_TIMEOUT = "session-silent-past-timeout"
    #: Only ``GetVersion`` was called across a session timeout: it does not reset the timeout.
    GETVERSION_ONLY_KEEP_ALIVE = "getversion-only-keep-alive"
    #: A session still held when the client stopped (end of the capture, or ``stop``): never logged off.
    SESSION_NOT_LOGGED_OFF = "session-not-logged-off"
    #: A re-subscription unsubscribed the old subscription before the new one was confirmed.
    OLD_SUBSCRIPTION_DROPPED_FIRST = "old-subscription-dropped-first"
    #: (Under test only.) The client stopped re-trying a login while the server was reachable, or waited longer
    #: than its back-off bound before the next attempt.
    RETRY_NOT_BOUNDED = "retry-not-bounded"
    #: (Under test only.) The client did not notice a lost session (a failover) within its probe bound.
    FAILOVER_NOT_DETECTED = "failover-not-detected"

    @property
    def summary(self) -> str:
        """The duty in one sentence (reports, test failures)."""
        return _SUMMARIES[self]


_SUMMARIES = {
    Duty.CALL_WITHOUT_SESSION: "no call but a login while the client holds no session",
    Duty.NOT_RESUBSCRIBED: "every listener subscribed before is subscribed again after a re-login",
    Duty.SESSION_SILENT_PAST_TIMEOUT: "a held session is kept alive before its timeout",
    Duty.GETVERSION_ONLY_KEEP_ALIVE: "GetVersion does not keep a session alive: another call must",
    Duty.SESSION_NOT_LOGGED_OFF: "a session is logged off when the client stops",
    Duty.OLD_SUBSCRIPTION_DROPPED_FIRST: "a re-subscription subscribes the new one before it unsubscribes the old",
    Duty.RETRY_NOT_BOUNDED: "a lost session is re-tried for, with a bounded back-off",
    Duty.FAILOVER_NOT_DETECTED: "a failover is detected by polling, within the probe bound",
}
