"""The Interaction Processor's walker of valid conversations: walks of its exchange and report tables.

:data:`WALKER` is what the processor's testing slice names in ``conversations``; :func:`processor_conversations`
is ``ccproto.testing.sequences.conversations("processor")``.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from hypothesis import strategies as st

from ccproto.core.roles import Role
from ccproto.processor import codec
from ccproto.processor import states as processor_states
from ccproto.processor.models import (
    REGISTRY,
    TEAM_STATUS_BEGIN,
    TEAM_STATUS_END,
    FailureResponse,
    PrepareSessionConfirm,
    PrepareSessionRequest,
    PrepareSessionSuccess,
    ProcessorMessage,
    SessionResource,
    TeamStatusBeginRequest,
    TeamStatusEndRequest,
    TeamStatusEvent,
    UnknownConfirm,
    UnknownEvent,
    UnknownRequest,
    UnknownSuccess,
)
from ccproto.processor.models import Request as ProcessorRequest
from ccproto.processor.models import Response as ProcessorResponse
from ccproto.processor.session import PendingCommand, ProcessorSession
from ccproto.testing.sequences import (
    COMMON,
    UNKNOWN_NAMES,
    Conversation,
    Move,
    Step,
    Walker,
    choose,
    conversations,
    draw_model,
    pick,
)

__all__ = ["WALKER", "ProcessorWalker", "processor_conversations"]

_Exchange = processor_states.Exchange
_Report, _RInput = processor_states.ReportState, processor_states.ReportInput
_PInput = processor_states.Input
_REPORTS = "REPORT_TRANSITIONS"


class ProcessorWalker(Walker):
    """A walk of ``EXCHANGE_TRANSITIONS`` and ``REPORT_TRANSITIONS``, observed by a :class:`ProcessorSession`."""

    encode_value = staticmethod(codec.encode_value)

    def __init__(self) -> None:
        super().__init__()
        self.observer = ProcessorSession(Role.SERVER)
        #: Agent ids team-status requests named so far (begin/end often name one again).
        self.agents: list[str] = []

    def deadline(self) -> float | None:
        return self.observer.get_timer()

    def emit(self, message: ProcessorMessage, sender: Role, now: float) -> Step:
        observer = self.observer
        input_ = processor_states.input_of(message)
        command = message.command_name if isinstance(message, (ProcessorRequest, ProcessorResponse)) else None
        exchange = observer.exchange_state(command) if command is not None else _Exchange.IDLE
        self.transitions.append(("EXCHANGE_TRANSITIONS", (exchange, sender, input_)))
        queue = observer.pending_for(command) if command is not None and input_ is not _PInput.REQUEST else ()
        report = processor_states.report_input_of(message, queue[0].request if queue else None)
        if report is not None:
            report_input, agent_id = report
            self.transitions.append(("REPORT_TRANSITIONS", (observer.report_state(agent_id), report_input)))
        observer.observe(message, sender, now=now)
        return Step(sender=sender, message=message, now=now)

    def heads(self) -> dict[str, _Exchange]:
        """Commands with outstanding requests (oldest first) -> what their oldest request allows."""
        commands = dict.fromkeys(p.command for p in self.observer.pending_requests())
        return {command: self.observer.exchange_state(command) for command in commands}

    def moves(self) -> list[tuple[int, Move]]:
        heads = self.heads()
        found: list[tuple[int, Move]] = []
        for key in processor_states.EXCHANGE_TRANSITIONS:
            exchange, _sender, input_ = key
            commands = [command for command, head in heads.items() if head is exchange]
            weight = self.weigh("EXCHANGE_TRANSITIONS", key, COMMON)
            if input_ is _PInput.EVENT:
                found.append((weight, self._event))
            elif input_ is _PInput.REQUEST and exchange is _Exchange.IDLE:
                found.append((weight, self._new_request))  # an unknown command is always idle
            elif input_ is _PInput.REQUEST and commands:
                found.append((weight, self._queued_request(commands)))
            elif commands:
                found.append((weight, self._answer(commands, input_)))
        return found

    # -- requests --------------------------------------------------------------------------

    def _new_request(self, draw: st.DrawFn, now: float) -> Step:
        heads = self.heads()
        idle = [c for c in REGISTRY.commands() if c not in heads and REGISTRY.request_class(c) is not None]
        # The report commands weigh more: the report table needs begin, its success, end and its success in turn.
        running = bool(self.observer.active_reports)
        weights = {
            TEAM_STATUS_BEGIN: self.weigh(_REPORTS, (_Report.ACTIVE, _RInput.BEGIN_SUCCEEDED), 3) if running else 3,
            TEAM_STATUS_END: self.weigh(_REPORTS, (_Report.ACTIVE, _RInput.END_SUCCEEDED), 3) if running else 3,
        }
        command = choose(draw, [*((weights.get(c, 1), c) for c in idle), (1, None)])
        if command is None:
            command = draw(UNKNOWN_NAMES)
        return self.emit(self._request_of(draw, command), Role.CLIENT, now)

    def _queued_request(self, commands: Sequence[str]) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            return self.emit(self._request_of(draw, pick(draw, commands)), Role.CLIENT, now)

        return move

    def _request_of(self, draw: st.DrawFn, command: str) -> ProcessorRequest:
        cls = REGISTRY.request_class(command)
        if cls is None:
            return draw_model(draw, UnknownRequest, command=command)
        confirmation = self.observer.confirmation
        if cls is PrepareSessionRequest and confirmation is not None and choose(draw, [(1, False), (1, True)]):
            # The user accepted the prompt: the client repeats the confirmed request with override (P10).
            return confirmation.original.with_override()
        if cls in (TeamStatusBeginRequest, TeamStatusEndRequest):
            # Begin and end often name an agent seen before: a running report, one that ended.
            # Mostly an agent whose report runs (a repeated begin, an end that ends something), first.
            running = list(self.observer.active_reports)
            agent_id = choose(draw, [*((3, a) for a in running), *((1, a) for a in self.agents if a not in running),
                                      (1, None)])
            if agent_id is None:
                request = draw_model(draw, cls)
                self.agents.append(request.agent_id)  # type: ignore[attr-defined]
                return request
            return draw_model(draw, cls, agent_id=agent_id)
        return draw_model(draw, cls)

    # -- answers ---------------------------------------------------------------------------

    def _answer(self, commands: Sequence[str], input_: processor_states.Input) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            command = pick(draw, commands)
            oldest = self.observer.pending_for(command)[0]
            answer: ProcessorMessage
            if input_ is _PInput.SUCCESS:
                answer = self._success(draw, command, oldest)
            elif input_ is _PInput.CONFIRM:
                answer = self._confirm(draw, command, oldest)
            else:
                # A failure repeats the request it answers, exactly, in ``original`` (P5).
                answer = draw_model(draw, FailureResponse, command=command, original=dict(oldest.value))
            return self.emit(answer, Role.SERVER, now)

        return move

    def _success(self, draw: st.DrawFn, command: str, oldest: PendingCommand) -> ProcessorMessage:
        cls = REGISTRY.success_class(command)
        if cls is None:
            return draw_model(draw, UnknownSuccess, command=command)
        if cls is PrepareSessionSuccess:
            # resource.data repeats the request's data exactly (P6).
            assert isinstance(oldest.request, PrepareSessionRequest)
            resource = draw_model(draw, SessionResource, data=oldest.request.data)
            return draw_model(draw, PrepareSessionSuccess, resource=resource)
        return draw_model(draw, cls)

    def _confirm(self, draw: st.DrawFn, command: str, oldest: PendingCommand) -> ProcessorMessage:
        cls = REGISTRY.confirm_class(command)
        if cls is None:
            # An unknown command's confirm keeps ``original`` among its unknown members.
            drawn = draw_model(draw, UnknownConfirm, command=command)
            return attrs.evolve(drawn, extra={**drawn.extra, "/original": dict(oldest.value)})
        if cls is not PrepareSessionConfirm:
            raise NotImplementedError(f"no walk knows how {cls.__name__} repeats its request")
        assert isinstance(oldest.request, PrepareSessionRequest)
        return draw_model(draw, PrepareSessionConfirm, original=oldest.request)

    # -- events ----------------------------------------------------------------------------

    def _event(self, draw: st.DrawFn, now: float) -> Step:
        classes = [cls for cls in map(REGISTRY.event_class, REGISTRY.events()) if cls is not None]
        team_status = [cls for cls in classes if issubclass(cls, TeamStatusEvent)]
        others = [cls for cls in classes if not issubclass(cls, TeamStatusEvent)]
        running = list(self.observer.active_reports)
        kinds: list[tuple[int, type[ProcessorMessage]]] = [(3, cls) for cls in team_status] if running else []
        kinds += [(1, cls) for cls in others] + [(1, UnknownEvent)]
        cls = choose(draw, kinds)
        event: ProcessorMessage
        if cls is UnknownEvent:
            event = draw_model(draw, UnknownEvent, name=draw(UNKNOWN_NAMES))
        elif issubclass(cls, TeamStatusEvent):
            # Team-status events flow only for an agent whose report runs (P11).
            event = draw_model(draw, cls, agent_id=pick(draw, running))
        else:
            event = draw_model(draw, cls)
        return self.emit(event, Role.SERVER, now)


#: The processor's walker (its testing slice names it).
WALKER = ProcessorWalker


def processor_conversations(*, max_steps: int = 30) -> st.SearchStrategy[Conversation]:
    """Valid Interaction Processor conversations of at most ``max_steps`` steps.

    Requests of every registered command and of unknown (``x-``) ones, several
    of one command outstanding at once; success, confirm and failure answers to
    the oldest outstanding request of their command (``original`` and
    ``resource.data`` repeating it; confirm only for ``override: false``; a
    confirmed prepareSession repeated with override); team-status reports begun
    and ended, with their events only while they run; unknown events.
    """
    return conversations("processor", max_steps=max_steps)
