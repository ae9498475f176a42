"""The Interaction Processor session's rules, as data.

Two tables hold every order rule :class:`~ccproto.processor.session.ProcessorSession`
enforces; the session only looks them up.  Both are keyed by what happened and
who sent it, never by "our" role, so one table checks both sides, and
``docs/processor.md``'s diagrams are generated from them.

* :data:`EXCHANGE_TRANSITIONS`: messages carry no correlation id, so a response
  answers the *oldest outstanding request with the same command*; the state is
  what that request allows (:class:`Exchange`).
* :data:`REPORT_TRANSITIONS`: per agent id, whether team-status events may flow.
"""

from __future__ import annotations

from ccproto.core.roles import IdentityEnum, Role
from ccproto.processor.models import (
    ConfirmResponse,
    Event,
    FailureResponse,
    ProcessorMessage,
    Request,
    SuccessResponse,
    TeamStatusBeginRequest,
    TeamStatusEndRequest,
    TeamStatusEvent,
)

__all__ = [
    "EXCHANGE_HINTS",
    "EXCHANGE_LOOKUP",
    "EXCHANGE_TRANSITIONS",
    "JOINED_EXCHANGE_TRANSITIONS",
    "JOINED_REPORT_TRANSITIONS",
    "REPORT_LOOKUP",
    "REPORT_TRANSITIONS",
    "Effect",
    "Exchange",
    "Input",
    "ReportState",
    "ReportInput",
    "SessionState",
    "exchange_of",
    "input_of",
    "report_input_of",
]


class SessionState(IdentityEnum):
    """The session as a whole: usable, or stopped by a (sticky) protocol error."""

    OPEN = "open"
    ERROR = "error"


class Exchange(IdentityEnum):
    """What the oldest outstanding request of a message's command allows."""

    #: No request of this command is outstanding (events always see this state).
    IDLE = "idle"
    #: A request that is answered with success or failure.
    AWAITING = "awaiting"
    #: A request the processor may also answer with confirm (prepareSession with ``override: false``).
    AWAITING_CONFIRMABLE = "awaiting-confirmable"
    #: A request that broke its schema: only a failure (echoing it) can answer it.
    AWAITING_INVALID = "awaiting-invalid"
    #: Observed from the middle of the conversation: a command not requested since, whose answer may still
    #: answer a request from before (:data:`JOINED_EXCHANGE_TRANSITIONS`).
    JOINED = "joined"


class Input(IdentityEnum):
    """What a message is, as the exchange table sees it."""

    REQUEST = "request"
    SUCCESS = "success"
    CONFIRM = "confirm"
    FAILURE = "failure"
    EVENT = "event"


class Effect(IdentityEnum):
    """What an accepted message does to its command's queue of outstanding requests."""

    #: Append the request to its command's queue.
    OPEN = "open"
    #: Answer (remove) the oldest outstanding request of the command.
    ANSWER = "answer"
    #: Nothing (an event; the report table decides whether it may flow).
    NOTIFY = "notify"
    #: Nothing to remove: the answer is to a request sent before observing began (the joined reading).
    ANSWER_EARLIER = "answer earlier"


def input_of(message: ProcessorMessage) -> Input:
    """Classify a message for the exchange table."""
    found = _INPUTS.get(type(message))
    if found is None:
        # What a message is depends on its class alone (isinstance): worked out once per class.
        found = _INPUTS[type(message)] = _classify(message)
    return found


_INPUTS: dict[type[ProcessorMessage], Input] = {}


def _classify(message: ProcessorMessage) -> Input:
    if isinstance(message, Request):
        return Input.REQUEST
    if isinstance(message, SuccessResponse):
        return Input.SUCCESS
    if isinstance(message, ConfirmResponse):
        return Input.CONFIRM
    if isinstance(message, FailureResponse):
        return Input.FAILURE
    assert isinstance(message, Event)
    return Input.EVENT


_C, _S = Role.CLIENT, Role.SERVER

#: (state of the command's exchange, sender, input) -> action.  An absent combination is a protocol error.
EXCHANGE_TRANSITIONS: dict[tuple[Exchange, Role, Input], Effect] = {
    # The client may send any request at any time, several of one command at once (answered in order).
    **{(state, _C, Input.REQUEST): Effect.OPEN for state in Exchange if state is not Exchange.JOINED},
    (Exchange.AWAITING, _S, Input.SUCCESS): Effect.ANSWER,
    (Exchange.AWAITING, _S, Input.FAILURE): Effect.ANSWER,
    (Exchange.AWAITING_CONFIRMABLE, _S, Input.SUCCESS): Effect.ANSWER,
    (Exchange.AWAITING_CONFIRMABLE, _S, Input.CONFIRM): Effect.ANSWER,
    (Exchange.AWAITING_CONFIRMABLE, _S, Input.FAILURE): Effect.ANSWER,
    (Exchange.AWAITING_INVALID, _S, Input.FAILURE): Effect.ANSWER,
    # Events belong to no exchange.
    (Exchange.IDLE, _S, Input.EVENT): Effect.NOTIFY,
}

#: The joined reading (docs/quirks.md V12): on a connection observed from the middle of its conversation, an
#: answer of a command not requested since may answer a request from before.  Kept apart from
#: :data:`EXCHANGE_TRANSITIONS`: it reads a capture, it is not a rule of the protocol.
JOINED_EXCHANGE_TRANSITIONS: dict[tuple[Exchange, Role, Input], Effect] = {
    (Exchange.JOINED, _C, Input.REQUEST): Effect.OPEN,
    **{(Exchange.JOINED, _S, answer): Effect.ANSWER_EARLIER
       for answer in (Input.SUCCESS, Input.CONFIRM, Input.FAILURE)},
}

#: Every exchange transition a session looks up.
EXCHANGE_LOOKUP = {**EXCHANGE_TRANSITIONS, **JOINED_EXCHANGE_TRANSITIONS}

#: Why a combination is absent, for the error's hint: (state, input) -> hint (server-sent inputs).
EXCHANGE_HINTS: dict[tuple[Exchange, Input], str] = {
    **{
        (Exchange.IDLE, answer): "answer only a request that is outstanding, once"
        for answer in (Input.SUCCESS, Input.CONFIRM, Input.FAILURE)
    },
    (Exchange.AWAITING, Input.CONFIRM): "confirm answers only a prepareSession whose override is false",
    (Exchange.AWAITING_INVALID, Input.SUCCESS): "the request broke its schema: answer it with a failure",
    (Exchange.AWAITING_INVALID, Input.CONFIRM): "the request broke its schema: answer it with a failure",
}


class ReportState(IdentityEnum):
    """Whether team-status events may flow for an agent id."""

    INACTIVE = "inactive"
    ACTIVE = "active"
    #: Observed from the middle of the conversation: a report the capture has not mentioned may be running.
    UNKNOWN = "unknown"


class ReportInput(IdentityEnum):
    """What changes a report's state."""

    BEGIN_SUCCEEDED = "report.teamstatus.begin succeeded"
    END_SUCCEEDED = "report.teamstatus.end succeeded"
    EVENT = "team-status event"


#: (report state, input) -> next state.  An absent combination is a protocol error.
REPORT_TRANSITIONS: dict[tuple[ReportState, ReportInput], ReportState] = {
    (ReportState.INACTIVE, ReportInput.BEGIN_SUCCEEDED): ReportState.ACTIVE,
    # A repeated begin restarts nothing and is harmless.
    (ReportState.ACTIVE, ReportInput.BEGIN_SUCCEEDED): ReportState.ACTIVE,
    (ReportState.ACTIVE, ReportInput.EVENT): ReportState.ACTIVE,
    (ReportState.ACTIVE, ReportInput.END_SUCCEEDED): ReportState.INACTIVE,
    # Ending a report that is not running ends nothing (the processor may still say success).
    (ReportState.INACTIVE, ReportInput.END_SUCCEEDED): ReportState.INACTIVE,
}

#: The joined reading: a report the capture never mentioned may have begun before it; its events pass until an
#: end success says it stopped (a begin request makes the report known: not running until it succeeds).  Kept
#: apart, as :data:`JOINED_EXCHANGE_TRANSITIONS`.
JOINED_REPORT_TRANSITIONS: dict[tuple[ReportState, ReportInput], ReportState] = {
    (ReportState.UNKNOWN, ReportInput.EVENT): ReportState.UNKNOWN,
    (ReportState.UNKNOWN, ReportInput.END_SUCCEEDED): ReportState.INACTIVE,
}

#: Every report transition a session looks up.
REPORT_LOOKUP = {**REPORT_TRANSITIONS, **JOINED_REPORT_TRANSITIONS}


def report_input_of(message: ProcessorMessage, answered: Request | None) -> tuple[ReportInput, str] | None:
    """The report-table input of a message (with the agent id it concerns), if it has one.

    ``answered`` is the request a response answers (``None`` for other messages).
    """
    if isinstance(message, TeamStatusEvent):
        return ReportInput.EVENT, message.agent_id
    if isinstance(message, SuccessResponse):
        if isinstance(answered, TeamStatusBeginRequest):
            return ReportInput.BEGIN_SUCCEEDED, answered.agent_id
        if isinstance(answered, TeamStatusEndRequest):
            return ReportInput.END_SUCCEEDED, answered.agent_id
    return None


def exchange_of(request: Request | None, *, command_confirms: bool) -> Exchange:
    """The state a request puts its exchange in while it is the oldest outstanding one.

    ``request`` is ``None`` for a request that broke its schema; ``command_confirms``
    says whether its command can be answered with confirm at all (a confirm
    response is registered for it, or the command is unknown).
    """
    if request is None:
        return Exchange.AWAITING_INVALID
    return Exchange.AWAITING_CONFIRMABLE if command_confirms and request.confirmable else Exchange.AWAITING


def mermaid_exchange_diagram() -> str:
    """The exchange table as a Mermaid state diagram (for docs/processor.md).

    The state is that of the *oldest* outstanding request of a command: a
    request sent while another is outstanding queues behind it, and an answer
    moves the exchange to the next queued request's state (or ``IDLE``).
    """
    lines = ["stateDiagram-v2", f"    [*] --> {Exchange.IDLE.name}"]
    opened = {
        Exchange.AWAITING: "client: request",
        Exchange.AWAITING_CONFIRMABLE: "client: request that may be confirmed",
        Exchange.AWAITING_INVALID: "client: request that broke its schema",
    }
    for (state, sender, input_), action in EXCHANGE_TRANSITIONS.items():
        party = "client" if sender is Role.CLIENT else "processor"
        if action is Effect.OPEN and state is Exchange.IDLE:
            lines.extend(f"    {state.name} --> {target.name}: {label}" for target, label in opened.items())
        elif action is Effect.OPEN:
            lines.append(f"    {state.name} --> {state.name}: {party}: another request (queued)")
        elif action is Effect.ANSWER:
            lines.append(f"    {state.name} --> {Exchange.IDLE.name}: {party}: {input_.value} (or the next queued)")
        else:
            lines.append(f"    {state.name} --> {state.name}: {party}: {input_.value}")
    return "\n".join(lines)


def mermaid_report_diagram() -> str:
    """The report table as a Mermaid state diagram."""
    lines = ["stateDiagram-v2", f"    [*] --> {ReportState.INACTIVE.name}"]
    for (state, input_), target in REPORT_TRANSITIONS.items():
        lines.append(f"    {state.name} --> {target.name}: {input_.value}")
    return "\n".join(lines)
