"""The control channel's rules, as data.

Everything the control channel enforces about *order* is in this module's
tables; :mod:`ccproto.bridge.channel` only looks them up.  The tables are keyed
by the role of the *sender*, never by "our" role, so the same tables check
both sides (h11's approach).  ``docs/bridge.md``'s state diagram is generated
from :data:`PHASE_TRANSITIONS` (``python3 tasks.py docs``).
"""

from __future__ import annotations

from ccproto.bridge.models import (
    MESSAGE_CLASSES,
    BridgeMessage,
    FailureResponse,
    Name,
    Response,
    ServerStatus,
    ServerStatusChanged,
)
from ccproto.core.roles import IdentityEnum, Role

__all__ = [
    "JOINED_PHASE_TRANSITIONS",
    "PHASE_TRANSITIONS",
    "TRANSITIONS",
    "STATUS_TRANSITIONS",
    "Input",
    "Phase",
    "input_of",
    "mermaid_diagram",
]


class Phase(IdentityEnum):
    """Where a control channel is in its life."""

    #: Nothing has flowed; the bridge must open with ``cti.request.serverstatus``.
    AWAITING_INIT = "awaiting-init"
    #: Initialization: status requested, the client has not reported one yet.
    INITIALIZING = "initializing"
    #: The client has reported a status; sessions may be created.
    ACTIVE = "active"
    #: The bridge sent ``cti.request.dispose``; only the client's answers may follow.
    DISPOSING = "disposing"
    #: The client answered ``dispose``: nothing more may flow.
    CLOSED = "closed"
    #: Observed from the middle of the conversation (a capture that began after the channel opened): any phase
    #: but ``AWAITING_INIT``, until a message pins it (:data:`JOINED_PHASE_TRANSITIONS`).
    JOINED = "joined"
    #: A protocol error happened; the channel is unusable (sticky).
    ERROR = "error"


class Input(IdentityEnum):
    """What a message is, as the phase table sees it."""

    CAPABILITIES_QUERY = "cti.query.capabilities"
    AGENT_INFO_QUERY = "cti.query.agentinfo"
    VALIDATE_CREDENTIALS_REQUEST = "cti.request.validateagentcredentials"
    SERVER_STATUS_REQUEST = "cti.request.serverstatus"
    CREATE_SESSION_REQUEST = "cti.request.createsession"
    DISPOSE_REQUEST = "cti.request.dispose"
    #: A response to anything but ``dispose``.
    RESPONSE = "cti.response"
    DISPOSE_RESPONSE = "cti.response(cti.request.dispose)"
    STATUS_EVENT = "cti.serverstatuschanged"


def input_of(message: BridgeMessage) -> Input:
    """Classify a message for the phase table."""
    found = _INPUTS.get(type(message))
    return found if found is not None else _classify(message)


def _classify(message: BridgeMessage) -> Input:
    if isinstance(message, (Response, FailureResponse)):
        input_ = Input.DISPOSE_RESPONSE if message.message_name is Name.DISPOSE else Input.RESPONSE
    elif isinstance(message, ServerStatusChanged):
        input_ = Input.STATUS_EVENT
    else:
        input_ = Input(message.message_name.value)
    if type(message) in _FIXED_NAME:
        _INPUTS[type(message)] = input_
    return input_


#: Inputs of the classes seen so far whose input is their class's (looked up for every message).
_INPUTS: dict[type[BridgeMessage], Input] = {}
#: The declared classes, each with one header name (a failure's name is the request's it answers).
_FIXED_NAME = frozenset(MESSAGE_CLASSES.values()) - {FailureResponse}


_S, _C = Role.SERVER, Role.CLIENT
_QUERIES = (Input.CAPABILITIES_QUERY, Input.AGENT_INFO_QUERY, Input.VALIDATE_CREDENTIALS_REQUEST)

#: (phase, sender, input) -> next phase.  A combination that is absent is a protocol error.
PHASE_TRANSITIONS: dict[tuple[Phase, Role, Input], Phase] = {
    (Phase.AWAITING_INIT, _S, Input.SERVER_STATUS_REQUEST): Phase.INITIALIZING,
    # Initialization: anything but createsession from the bridge; answers and the first status from the client.
    **{(Phase.INITIALIZING, _S, q): Phase.INITIALIZING for q in _QUERIES},
    (Phase.INITIALIZING, _S, Input.SERVER_STATUS_REQUEST): Phase.INITIALIZING,
    (Phase.INITIALIZING, _S, Input.DISPOSE_REQUEST): Phase.DISPOSING,
    (Phase.INITIALIZING, _C, Input.RESPONSE): Phase.INITIALIZING,
    (Phase.INITIALIZING, _C, Input.STATUS_EVENT): Phase.ACTIVE,
    # Active: everything.
    **{(Phase.ACTIVE, _S, q): Phase.ACTIVE for q in _QUERIES},
    (Phase.ACTIVE, _S, Input.SERVER_STATUS_REQUEST): Phase.ACTIVE,
    (Phase.ACTIVE, _S, Input.CREATE_SESSION_REQUEST): Phase.ACTIVE,
    (Phase.ACTIVE, _S, Input.DISPOSE_REQUEST): Phase.DISPOSING,
    (Phase.ACTIVE, _C, Input.RESPONSE): Phase.ACTIVE,
    (Phase.ACTIVE, _C, Input.STATUS_EVENT): Phase.ACTIVE,
    # Teardown: the bridge is done; the client may still answer and report until it answers dispose.
    (Phase.DISPOSING, _C, Input.RESPONSE): Phase.DISPOSING,
    (Phase.DISPOSING, _C, Input.STATUS_EVENT): Phase.DISPOSING,
    (Phase.DISPOSING, _C, Input.DISPOSE_RESPONSE): Phase.CLOSED,
}

#: The joined reading (docs/quirks.md V10): a channel observed from the middle of its conversation may be
#: initializing, active or disposing.  Whatever either side may send in one of those phases is accepted, and a
#: message that only one phase allows pins the channel there.  Kept apart from :data:`PHASE_TRANSITIONS`: it
#: reads a capture, it is not a rule of the protocol (nor a transition to cover, nor in the state diagram).
JOINED_PHASE_TRANSITIONS: dict[tuple[Phase, Role, Input], Phase] = {
    **{(Phase.JOINED, _S, q): Phase.JOINED for q in (*_QUERIES, Input.SERVER_STATUS_REQUEST)},
    # createsession waits for the first status report: the channel was active.
    (Phase.JOINED, _S, Input.CREATE_SESSION_REQUEST): Phase.ACTIVE,
    (Phase.JOINED, _S, Input.DISPOSE_REQUEST): Phase.DISPOSING,
    (Phase.JOINED, _C, Input.RESPONSE): Phase.JOINED,
    # A status report may come while initializing (-> active), active or disposing: it pins nothing.
    (Phase.JOINED, _C, Input.STATUS_EVENT): Phase.JOINED,
    (Phase.JOINED, _C, Input.DISPOSE_RESPONSE): Phase.CLOSED,
}

#: Every transition a channel looks up: the protocol's and the joined reading's.
TRANSITIONS: dict[tuple[Phase, Role, Input], Phase] = {**PHASE_TRANSITIONS, **JOINED_PHASE_TRANSITIONS}

#: Why a combination is absent, for the error's hint: (phase, sender) -> hint.
PHASE_HINTS: dict[tuple[Phase, Role], str] = {
    (Phase.AWAITING_INIT, _S): "the bridge must open the channel with cti.request.serverstatus",
    (Phase.AWAITING_INIT, _C): "the client sends nothing before the bridge's cti.request.serverstatus",
    (Phase.INITIALIZING, _S): "cti.request.createsession waits for the client's first cti.serverstatuschanged",
    (Phase.INITIALIZING, _C): "the client answers outstanding requests and reports its status",
    (Phase.ACTIVE, _C): "the client sends only responses and cti.serverstatuschanged",
    (Phase.DISPOSING, _S): "the bridge sends nothing after cti.request.dispose",
    (Phase.DISPOSING, _C): "the client may only answer and report status until it answers dispose",
    (Phase.CLOSED, _S): "the channel is closed: dispose was answered",
    (Phase.CLOSED, _C): "the channel is closed: dispose was answered",
}

#: Hints that depend on the message rather than the phase (checked first).
INPUT_HINTS: dict[Input, str] = {
    Input.DISPOSE_RESPONSE: "answer dispose only after the bridge's cti.request.dispose",
}

#: Server-status changes the client may report: last reported -> allowed next.
#: Any status may be re-announced; the first report may be any status.
STATUS_TRANSITIONS: dict[ServerStatus, frozenset[ServerStatus]] = {
    ServerStatus.STARTING_SERVICE: frozenset(
        {ServerStatus.IN_SERVICE, ServerStatus.STOPPING_SERVICE, ServerStatus.OUT_OF_SERVICE}
    ),
    ServerStatus.IN_SERVICE: frozenset(
        {ServerStatus.PAUSING_SERVICE, ServerStatus.STOPPING_SERVICE, ServerStatus.OUT_OF_SERVICE}
    ),
    ServerStatus.PAUSING_SERVICE: frozenset(
        {ServerStatus.IN_SERVICE, ServerStatus.STOPPING_SERVICE, ServerStatus.OUT_OF_SERVICE}
    ),
    ServerStatus.STOPPING_SERVICE: frozenset({ServerStatus.OUT_OF_SERVICE}),
    ServerStatus.OUT_OF_SERVICE: frozenset({ServerStatus.STARTING_SERVICE}),
}

#: The only status in which the client may answer createsession with SUCCESS.
SESSION_STATUS = ServerStatus.IN_SERVICE


def status_change_allowed(last: ServerStatus | None, new: ServerStatus) -> bool:
    """Whether the client may report ``new`` after having reported ``last``."""
    return last is None or new is last or new in STATUS_TRANSITIONS[last]


def mermaid_diagram() -> str:
    """The phase table as a Mermaid state diagram (for docs/bridge.md)."""
    lines = ["stateDiagram-v2", f"    [*] --> {Phase.AWAITING_INIT.name}"]
    edges: dict[tuple[Phase, Phase], list[str]] = {}
    for (phase, sender, input_), target in PHASE_TRANSITIONS.items():
        party = "bridge" if sender is Role.SERVER else "client"
        edges.setdefault((phase, target), []).append(f"{party}: {input_.value}")
    for (phase, target), labels in edges.items():
        lines.append(f"    {phase.name} --> {target.name}: " + "<br/>".join(labels))
    lines.append(f"    {Phase.CLOSED.name} --> [*]")
    return "\n".join(lines)


def mermaid_status_diagram() -> str:
    """The server-status table as a Mermaid state diagram."""
    lines = ["stateDiagram-v2"]
    for status in ServerStatus:
        lines.append(f"    [*] --> {status.name}")
    for last, allowed in STATUS_TRANSITIONS.items():
        for new in sorted(allowed, key=lambda s: list(ServerStatus).index(s)):
            lines.append(f"    {last.name} --> {new.name}")
    return "\n".join(lines)
