"""The bridge's walker of valid conversations: walks of its control destination's phase table.

:data:`WALKER` is what the bridge's testing slice names in ``conversations``; :func:`bridge_conversations` is
``ccproto.testing.sequences.conversations("bridge")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import strategies as st

from ccproto.bridge import codec
from ccproto.bridge import states as bridge_states
from ccproto.bridge.channel import ControlChannel, PendingRequest
from ccproto.bridge.models import ALL_MESSAGE_CLASSES as BRIDGE_CLASSES
from ccproto.bridge.models import FailureResponse as BridgeFailure
from ccproto.bridge.models import Name, RequestName, ServerStatus, ServerStatusChanged
from ccproto.bridge.models import Request as BridgeRequest
from ccproto.bridge.models import Response as BridgeResponse
from ccproto.core.roles import Role
from ccproto.testing.sequences import (
    COMMON,
    RARE,
    Conversation,
    Move,
    Step,
    Walker,
    choose,
    conversations,
    draw_model,
    field_values,
    fresh_id,
    pick,
)

__all__ = ["WALKER", "BridgeWalker", "bridge_conversations"]

_BRIDGE_REQUESTS: dict[bridge_states.Input, type[BridgeRequest]] = {
    bridge_states.Input(cls.NAME.value): cls
    for cls in BRIDGE_CLASSES
    if issubclass(cls, BridgeRequest) and cls.NAME is not None
}
_BRIDGE_RESPONSES: dict[Name, type[BridgeResponse]] = {
    cls.NAME: cls.RESPONSE for cls in _BRIDGE_REQUESTS.values() if cls.NAME is not None
}
_PHASES = "PHASE_TRANSITIONS"
_TARGETS = field_values(BridgeRequest, "target")


class BridgeWalker(Walker):
    """A walk of the control destination's ``PHASE_TRANSITIONS``, observed by a :class:`ControlChannel`.

    Besides the phase table's entries it records ``("SERVER_STATUS", (last reported status or None, reported
    status))`` for every server-status report.
    """

    encode_value = staticmethod(codec.encode_value)

    def __init__(self) -> None:
        super().__init__()
        self.observer = ControlChannel(Role.SERVER)
        #: The targets requests were sent to so far (a channel's requests usually name one processor).
        self.targets: list[str] = []

    def deadline(self) -> float | None:
        return self.observer.get_timer()

    def emit(self, message: Any, sender: Role, now: float) -> Step:
        observer = self.observer
        self.transitions.append(("PHASE_TRANSITIONS", (observer.phase, sender, bridge_states.input_of(message))))
        if isinstance(message, ServerStatusChanged):
            self.transitions.append(("SERVER_STATUS", (observer.server_status, message.status)))
        observer.observe(message, sender, now=now)
        return Step(sender=sender, message=message, now=now)

    def moves(self) -> list[tuple[int, Move]]:
        phase = self.observer.phase
        pending = self.observer.pending_requests()
        answerable = [p for p in pending if p.name is not Name.DISPOSE]
        disposing = [p for p in pending if p.name is Name.DISPOSE]
        found: list[tuple[int, Move]] = []
        for key in bridge_states.PHASE_TRANSITIONS:
            table_phase, sender, input_ = key
            if table_phase is not phase:
                continue
            if sender is Role.SERVER:
                weight = self.weigh(_PHASES, key, COMMON)
                if input_ is bridge_states.Input.DISPOSE_REQUEST:
                    # Rare, as it ends the walk; less so while initializing, which the status report soon ends.
                    weight = RARE if phase is bridge_states.Phase.ACTIVE else COMMON // 2
                found.append((weight, self._request(_BRIDGE_REQUESTS[input_])))
            elif input_ is bridge_states.Input.RESPONSE and answerable:
                found.append((self.weigh(_PHASES, key, COMMON), self._response(answerable)))
            elif input_ is bridge_states.Input.DISPOSE_RESPONSE and disposing:
                found.append((COMMON, self._response(disposing)))
            elif input_ is bridge_states.Input.STATUS_EVENT:
                # The status table has entries of its own: weigh more while one reachable now is new.
                last = self.observer.server_status
                fresh = any(("SERVER_STATUS", (last, new)) not in self.transitions for new in self._allowed())
                found.append((self.weigh(_PHASES, key, 2 * COMMON) * (3 if fresh else 1), self._status))
        return found

    def _request(self, cls: type[BridgeRequest]) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            target = pick(draw, [*self.targets, None]) if self.targets else None
            if target is None:
                target = draw(_TARGETS)
                self.targets.append(target)
            request = draw_model(draw, cls, target=target)
            outstanding = {p.request_id for p in self.observer.pending_requests()}
            request_id = fresh_id(request.request_id, outstanding.__contains__, self.next_serial())
            return self.emit(attrs.evolve(request, request_id=request_id), Role.SERVER, now)

        return move

    def _response(self, candidates: Sequence[PendingRequest]) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            answered = pick(draw, candidates)
            # createsession may succeed only while the last reported status is in-service (docs/quirks.md B11).
            can_succeed = answered.name is not Name.CREATE_SESSION or (
                self.observer.server_status is bridge_states.SESSION_STATUS
            )
            success = can_succeed and choose(draw, [(3, True), (1, False)])
            response: BridgeResponse
            if success:
                response = draw_model(draw, _BRIDGE_RESPONSES[answered.name], target=answered.target,
                                       request_id=answered.request_id)
            else:
                response = draw_model(draw, BridgeFailure, target=answered.target, request_id=answered.request_id,
                                       name=RequestName(answered.name.value))
            return self.emit(response, Role.CLIENT, now)

        return move

    def _allowed(self) -> list[ServerStatus]:
        last = self.observer.server_status
        if last is None:
            return list(ServerStatus)
        # The changes first, then re-announcing the same status (allowed, but less interesting).
        return [s for s in ServerStatus if s in bridge_states.STATUS_TRANSITIONS[last]] + [last]

    def _status(self, draw: st.DrawFn, now: float) -> Step:
        last = self.observer.server_status
        _, status = self.novel(draw, "SERVER_STATUS", [(last, s) for s in self._allowed()])
        return self.emit(draw_model(draw, ServerStatusChanged, status=status), Role.CLIENT, now)


#: The bridge's walker (the bridge's testing slice names it).
WALKER = BridgeWalker


def bridge_conversations(*, max_steps: int = 30) -> st.SearchStrategy[Conversation]:
    """Valid control-destination conversations of at most ``max_steps`` steps.

    Queries and requests from the bridge, success and failure responses (in any
    order, createsession succeeding only while in service), server-status
    reports along ``STATUS_TRANSITIONS``, dispose and its answer (which ends the
    conversation); messages carry unknown ``x-`` members now and then.
    """
    return conversations("bridge", max_steps=max_steps)
