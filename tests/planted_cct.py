"""Planted bugs of a CCT client's session supervisor: each a subclass of ccproto's ``Supervisor`` breaking one duty.

Not a test module: ``tests/test_cct_conformance.py`` imports it as ``planted_cct``. Each bug is listed in ``BUGS``
with the duty the conformance machine must name and the configuration that makes the duty reachable (a late
keep-alive only matters when probes do not keep the session alive already).
"""

from __future__ import annotations

import attrs

from ccproto.cct.config import GET_VERSION, SupervisorConfig
from ccproto.cct.duties import Duty
from ccproto.cct.states import FaultKind, State
from ccproto.cct.supervisor import (
    Call,
    CallFailed,
    GiveUp,
    LoggedIn,
    LogIn,
    LogOff,
    Outcome,
    Probe,
    Subscribe,
    Supervisor,
    Unsubscribe,
)

__all__ = ["BUGS", "PlantedBug"]


class _Relogins(Supervisor):
    """Counts the sessions it was told ``LoggedIn`` for (the first is not a re-login)."""

    def __init__(self, config: SupervisorConfig | None = None) -> None:
        super().__init__(config)
        self.logins = 0

    def handle(self, outcome: Outcome, *, now: float, jitter: float = 0.5) -> list[Call]:
        if isinstance(outcome, LoggedIn):
            self.logins += 1
        return super().handle(outcome, now=now, jitter=jitter)


class NeverResubscribes(_Relogins):
    """Bug ``never-resubscribes``: after a re-login, it subscribes no listener."""

    def handle(self, outcome: Outcome, *, now: float, jitter: float = 0.5) -> list[Call]:
        calls = super().handle(outcome, now=now, jitter=jitter)
        if isinstance(outcome, LoggedIn) and self.logins > 1:
            return [call for call in calls if not isinstance(call, Subscribe)]
        return calls


class ResubscribesFirstOnly(_Relogins):
    """Bug ``resubscribes-first-only``: after a re-login, it subscribes only the first listener."""

    def handle(self, outcome: Outcome, *, now: float, jitter: float = 0.5) -> list[Call]:
        calls = super().handle(outcome, now=now, jitter=jitter)
        if isinstance(outcome, LoggedIn) and self.logins > 1:
            first = self.config.listeners[:1]
            return [call for call in calls if not isinstance(call, Subscribe) or call.listener in first]
        return calls


class UnsubscribesOldFirst(Supervisor):
    """Bug ``unsubscribes-old-first``: ``renew`` unsubscribes the old subscription before the new one is confirmed."""

    def renew(self, listener: str, *, now: float) -> list[Call]:
        old = self.subscriptions.get(listener)
        calls = super().renew(listener, now=now)
        if old is None or not calls:
            return calls
        return [Unsubscribe(listener=listener, subscription_id=old), *calls]


class LateKeepAlive(Supervisor):
    """Bug ``late-keep-alive``: the keep-alive margin is ignored: it is asked when the session times out."""

    @property
    def _keep_alive_due(self) -> float:
        return self._last_reset + self.config.session_timeout


class ProbesWithGetVersion(Supervisor):
    """Bug ``probes-with-getversion``: probes and keep-alives call ``GetVersion`` (the config's check bypassed)."""

    def __init__(self, config: SupervisorConfig | None = None) -> None:
        super().__init__(config)
        evaded = attrs.evolve(self.config)
        # The config refuses GetVersion on construction; the bug writes it past the check.
        object.__setattr__(evaded, "probe_operation", GET_VERSION)
        object.__setattr__(evaded, "keep_alive_operation", GET_VERSION)
        self.config = evaded


class CallsAfterSessionNotCreated(Supervisor):
    """Bug ``calls-after-session-not-created``: told ``SessionNotCreatedException``, it probes once more before
    logging in again."""

    def handle(self, outcome: Outcome, *, now: float, jitter: float = 0.5) -> list[Call]:
        calls = super().handle(outcome, now=now, jitter=jitter)
        if isinstance(outcome, CallFailed) and outcome.fault is FaultKind.SESSION_NOT_CREATED and calls:
            return [Probe(operation=self.config.probe_operation), *calls]
        return calls


class GivesUpAfterThree(Supervisor):
    """Bug ``gives-up-after-three``: gives up after three failed logins in a row although ``max_attempts`` is
    ``None``."""

    def __init__(self, config: SupervisorConfig | None = None) -> None:
        super().__init__(config)
        self.failed_logins = 0
        self.quit = False

    def handle(self, outcome: Outcome, *, now: float, jitter: float = 0.5) -> list[Call]:
        if self.quit:
            return []
        if isinstance(outcome, LoggedIn):
            self.failed_logins = 0
        calls = super().handle(outcome, now=now, jitter=jitter)
        if isinstance(outcome, CallFailed) and isinstance(outcome.call, LogIn):
            self.failed_logins += 1
            if self.failed_logins >= 3:
                self.quit = True
                return [GiveUp(reason="three logins failed")]
        return calls

    def handle_timer(self, now: float, *, jitter: float = 0.5) -> list[Call]:
        return [] if self.quit else super().handle_timer(now, jitter=jitter)

    def get_timer(self) -> float | None:
        return None if self.quit else super().get_timer()


class NoLogOffOnStop(Supervisor):
    """Bug ``no-logoff-on-stop``: ``stop`` never logs the session off."""

    def stop(self, now: float) -> list[Call]:
        return [call for call in super().stop(now) if not isinstance(call, LogOff)]


class StopsProbingAfterFailover(_Relogins):
    """Bug ``stops-probing-after-failover``: after the first re-login it no longer polls: the probes it asks are never
    made (and forgotten, so no probe timeout counts against the session); keep-alives and the rest go on."""

    def _unprobed(self, calls: list[Call]) -> list[Call]:
        if self.logins < 2:
            return calls
        probes = [call for call in calls if isinstance(call, Probe)]
        for probe in probes:
            # Forget the probe it asked, as if the call had never been asked.
            for asked in reversed(self._asked):
                if asked.call is probe:
                    self._asked.remove(asked)
                    break
        return [call for call in calls if not isinstance(call, Probe)]

    def handle(self, outcome: Outcome, *, now: float, jitter: float = 0.5) -> list[Call]:
        return self._unprobed(super().handle(outcome, now=now, jitter=jitter))

    def handle_timer(self, now: float, *, jitter: float = 0.5) -> list[Call]:
        return self._unprobed(super().handle_timer(now, jitter=jitter))

    def renew(self, listener: str, *, now: float) -> list[Call]:
        return self._unprobed(super().renew(listener, now=now))


class UnboundedBackoff(Supervisor):
    """Bug ``unbounded-backoff``: every back-off waits ``backoff_max`` longer than its bound."""

    def _longer(self, before: State) -> None:
        if self.state is State.BACKING_OFF and before is not State.BACKING_OFF:
            self._retry_at += self.config.backoff_max

    def handle(self, outcome: Outcome, *, now: float, jitter: float = 0.5) -> list[Call]:
        before = self.state
        calls = super().handle(outcome, now=now, jitter=jitter)
        self._longer(before)
        return calls

    def handle_timer(self, now: float, *, jitter: float = 0.5) -> list[Call]:
        before = self.state
        calls = super().handle_timer(now, jitter=jitter)
        self._longer(before)
        return calls


@attrs.frozen(kw_only=True)
class PlantedBug:
    """A planted bug: the supervisor class, the duty it breaks, the configuration the machine runs it with."""

    cls: type[Supervisor]
    duty: Duty
    config: SupervisorConfig


#: Two listeners, a probe every 15 s and a 600 s session: ordinary.
ORDINARY = SupervisorConfig(listeners=("agent-events", "call-events"))
#: Probes further apart than the session timeout: only keep-alives hold the session.
RARE_PROBES = SupervisorConfig(
    listeners=("agent-events", "call-events"), session_timeout=120.0, keep_alive_margin=20.0, probe_timeout=5.0,
    probe_interval=300.0,
)

#: bug id -> the planted bug.
BUGS: dict[str, PlantedBug] = {
    "never-resubscribes": PlantedBug(cls=NeverResubscribes, duty=Duty.NOT_RESUBSCRIBED, config=ORDINARY),
    "resubscribes-first-only": PlantedBug(cls=ResubscribesFirstOnly, duty=Duty.NOT_RESUBSCRIBED, config=ORDINARY),
    "unsubscribes-old-first": PlantedBug(
        cls=UnsubscribesOldFirst, duty=Duty.OLD_SUBSCRIPTION_DROPPED_FIRST, config=ORDINARY),
    "late-keep-alive": PlantedBug(cls=LateKeepAlive, duty=Duty.SESSION_SILENT_PAST_TIMEOUT, config=RARE_PROBES),
    "probes-with-getversion": PlantedBug(
        cls=ProbesWithGetVersion, duty=Duty.GETVERSION_ONLY_KEEP_ALIVE, config=ORDINARY),
    "calls-after-session-not-created": PlantedBug(
        cls=CallsAfterSessionNotCreated, duty=Duty.CALL_WITHOUT_SESSION, config=ORDINARY),
    "gives-up-after-three": PlantedBug(cls=GivesUpAfterThree, duty=Duty.RETRY_NOT_BOUNDED, config=ORDINARY),
    "no-logoff-on-stop": PlantedBug(cls=NoLogOffOnStop, duty=Duty.SESSION_NOT_LOGGED_OFF, config=ORDINARY),
    "stops-probing-after-failover": PlantedBug(
        cls=StopsProbingAfterFailover, duty=Duty.FAILOVER_NOT_DETECTED, config=ORDINARY),
    "unbounded-backoff": PlantedBug(cls=UnboundedBackoff, duty=Duty.RETRY_NOT_BOUNDED, config=ORDINARY),
}
