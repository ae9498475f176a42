"""Planted bugs of the CCEB reference peers: each subclass breaks one rule, overriding one decision.

Not a test module: ``tests/test_peers_cceb.py`` (and the conformance harness's tests) import it as
``planted_cceb``.  Where a bug writes what its own connection would refuse, it sends the valid message
through the connection (so its bookkeeping goes on) and returns a text edited after encoding.
"""

from __future__ import annotations

import math
from typing import Any

from ccproto.cceb import (
    REGISTRY,
    Ack,
    Action,
    CcebConnection,
    Notification,
    PhoneValidation,
    PhoneValidationState,
    Registry,
    SessionStore,
    encode,
    new_uuid,
)
from ccproto.core.jsonio import dumps, parse_object
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.slices.cceb.peers import ReferenceCceb, ReferenceCcebClient

__all__ = [
    "BUGS",
    "AckWrongUuid",
    "EchoesReservedField",
    "NeverAcks",
    "ResumesAfter72h",
    "TimeoutOnAnswered",
]


def _edit(text: str, *path: str, **members: Any) -> str:
    """``text`` (one JSON object) with ``members`` set in the object at ``path``."""
    value: dict[str, Any] = parse_object(text)
    target = value
    for key in path:
        target = target[key]
    target.update(members)
    return dumps(value)


class AckWrongUuid(ReferenceCceb):
    """Bug ``ack-wrong-uuid``: acks an action with a fresh uuid instead of the action's."""

    def ack_action(self, connection: CcebConnection, action: Action, *, now: float) -> list[str]:
        return [encode(Ack(uuid=new_uuid()))]


class NeverAcks(ReferenceCceb):
    """Bug ``never-acks``: never acks an action (its notifications still follow)."""

    def ack_action(self, connection: CcebConnection, action: Action, *, now: float) -> list[str]:
        return []


class ResumesAfter72h(ReferenceCceb):
    """Bug ``resumes-after-72h``: its session store never expires a session, so a key resumes however old."""

    def __init__(
        self, *, store: SessionStore | None = None, registry: Registry = REGISTRY,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(store=store, registry=registry, limits=limits)
        self.store.lifetime = math.inf


class TimeoutOnAnswered(ReferenceCceb):
    """Bug ``timeout-on-answered``: its ``answered`` phone_validation notification carries a ``timeout``."""

    def notify(self, connection: CcebConnection, notification: Notification, *, now: float) -> list[str]:
        sent = super().notify(connection, notification, now=now)
        if sent and isinstance(notification, PhoneValidation) and notification.state is PhoneValidationState.ANSWERED:
            return [_edit(sent[0], "data", timeout=self.VALIDATION_TIMEOUT)]
        return sent


class EchoesReservedField(ReferenceCcebClient):
    """Bug ``echoes-reserved-field``: accepts an interaction with the notification's data copied into
    ``action_details``, echoing the reserved ``agentGuid`` / ``tenantGuid`` back."""

    def accept(self, connection: CcebConnection, notification: Notification, *, now: float) -> list[str]:
        sent = super().accept(connection, notification, now=now)
        data = getattr(notification, "data", {})
        return [_edit(text, "data", "action_details", **data) for text in sent]


#: bug id -> the class that plants it.
BUGS: dict[str, type[ReferencePeer]] = {
    "ack-wrong-uuid": AckWrongUuid,
    "never-acks": NeverAcks,
    "resumes-after-72h": ResumesAfter72h,
    "timeout-on-answered": TimeoutOnAnswered,
    "echoes-reserved-field": EchoesReservedField,
}
