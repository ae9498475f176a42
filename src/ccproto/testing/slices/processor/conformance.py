"""Conformance machines for the Interaction Processor: the harness as the client, and as the processor."""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from ccproto.core.roles import Role
from ccproto.processor import (
    CallJourneyRequest,
    CallJourneySuccess,
    Event,
    GetCapabilitiesRequest,
    GetCapabilitiesSuccess,
    MemberRemovedEvent,
    MembersAddedEvent,
    MemberStatusChangedEvent,
    PrepareSessionConfirm,
    PrepareSessionRequest,
    PrepareSessionSuccess,
    ProcessorSession,
    Request,
    SessionResource,
    TeamAddedEvent,
    TeamChangedEvent,
    TeamRemovedEvent,
    TeamStatusBeginRequest,
    TeamStatusBeginSuccess,
    TeamStatusEndRequest,
    TeamStatusEndSuccess,
    UnknownRequest,
    encode_value,
    failure_response,
)
from ccproto.testing.harness import ConformanceMachine
from ccproto.testing.slices.processor.peers import DEFAULT_CAPABILITIES
from ccproto.testing.strategies import text

__all__ = ["ProcessorClientConformance", "ProcessorServerConformance"]

#: Agent ids the harness uses: few, so that a second prepareSession for the same agent (a confirm) is likely.
AGENTS = ("agent-1", "agent-2")

_EVENTS = (
    TeamChangedEvent, TeamRemovedEvent, TeamAddedEvent, MembersAddedEvent, MemberStatusChangedEvent,
    MemberRemovedEvent,
)


class _ProcessorMachine(ConformanceMachine):
    protocol = "processor"
    unsolicited = (Event,)  # team-status events stream while a report runs

    def expire(self, now: float) -> list[str]:
        """Requests the SUT did not answer in time."""
        return [f"{pending.command} request" for pending in self.conn.handle_timer(now)]

    @precondition(lambda self: self.open and self.can_reconnect)
    @rule(data=st.data())
    def reconnect(self, data: st.DataObject) -> None:
        """Close the connection and open a new one."""
        self.end_connection()
        self.start_connection(data)


class ProcessorServerConformance(_ProcessorMachine):
    """The harness plays the client; the system under test is the Interaction Processor.

    It sends prepareSession (for few agents, with and without ``override``, and
    repeats a confirmed one with ``override: true``), getCapabilities, callJourney,
    team-status begin and end, commands nobody registered and requests that break
    their schema, and checks that every request is answered once, in order, with the
    right kind of answer (no confirm for ``override: true``), that ``original`` and
    ``resource.data`` repeat the request, and that team-status events flow only
    while their report runs.
    """

    sut_role = Role.SERVER

    def new_connection(self) -> ProcessorSession:
        return ProcessorSession(Role.CLIENT, limits=self.limits, sticky_errors=True)

    def owed(self) -> list[str]:
        return [f"{pending.command} request" for pending in self.conn.pending_requests()]

    @initialize(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        """Open the first connection."""
        self.start_connection(data)

    def agent(self, data: st.DataObject) -> str:
        """One of the harness's agent ids."""
        return data.draw(st.sampled_from(AGENTS), label="agent")

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def prepare_session(self, data: st.DataObject) -> None:
        """prepareSession for one of few agents (a second one for the same agent may be confirmed)."""
        request = self.draw(data, PrepareSessionRequest, "request")
        agent = attrs.evolve(request.data.agent, id=self.agent(data))
        self.transmit(attrs.evolve(request, data=attrs.evolve(request.data, agent=agent)), data)

    @precondition(lambda self: self.open and self.conn.confirmation is not None)
    @rule(data=st.data())
    def confirm_with_override(self, data: st.DataObject) -> None:
        """The user confirmed the prompt: repeat the confirmed request with ``override: true`` (P10)."""
        confirmation = self.conn.confirmation
        assert confirmation is not None
        self.transmit(confirmation.original.with_override(), data)

    @precondition(lambda self: self.open)
    @rule(data=st.data(), cls=st.sampled_from([GetCapabilitiesRequest, CallJourneyRequest]))
    def query(self, data: st.DataObject, cls: type[Request]) -> None:
        """getCapabilities or callJourney."""
        self.transmit(self.draw(data, cls, "request"), data)

    @precondition(lambda self: self.open)
    @rule(data=st.data(), cls=st.sampled_from([TeamStatusBeginRequest, TeamStatusEndRequest]))
    def team_status(self, data: st.DataObject, cls: type[TeamStatusBeginRequest | TeamStatusEndRequest]) -> None:
        """Begin or end the team-status report of one of the agents (after an end: probe that no event follows)."""
        request = self.draw(data, cls, "request")
        self.transmit(attrs.evolve(request, agent_id=self.agent(data)), data)
        if cls is TeamStatusEndRequest:
            # The processor's events come when its teams change: ask for every kind of change at once, so an
            # event for the ended report shows now rather than only when a later step happens to ask.
            for name in self.stimuli:
                self.tick()
                self.adapter.stimulate(name)
                self.collect(data)

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def unknown_command(self, data: st.DataObject) -> None:
        """A command no registry knows (the processor answers it; a failure is usual)."""
        request = self.draw(data, UnknownRequest, "request")
        name = data.draw(text(max_size=10), label="command")
        self.transmit(attrs.evolve(request, command="x-" + name), data)

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def invalid_request(self, data: st.DataObject) -> None:
        """A prepareSession whose ``override`` is the string ``"false"``: answered by a failure echoing it (P13)."""
        request = self.draw(data, PrepareSessionRequest, "request")
        value = encode_value(request)
        value["data"]["override"] = json.dumps(request.data.override)
        self.tick()
        self.conn.observe_invalid(value, Role.CLIENT, now=self.now)
        self.transmit_text(json.dumps(value), data)


class ProcessorClientConformance(_ProcessorMachine):
    """The harness plays the Interaction Processor; the system under test is its client.

    It answers each request (success, failure, or confirm where allowed, with
    ``original`` and ``resource.data`` right), sends team-status events while a
    report runs, and checks that the client sends only valid requests.
    """

    sut_role = Role.CLIENT

    def new_connection(self) -> ProcessorSession:
        return ProcessorSession(Role.SERVER, limits=self.limits, sticky_errors=True)

    @initialize(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        """Open the first connection."""
        self.start_connection(data)

    def react(self, message: Any, data: st.DataObject | None) -> None:
        if isinstance(message, Request):
            self.transmit(self.answer(message, data), data)

    def answer(self, request: Request, data: st.DataObject | None) -> Any:
        """A valid answer to ``request``: mostly success, sometimes failure or (prepareSession) confirm."""
        kinds = ["success", "failure"]
        if isinstance(request, PrepareSessionRequest) and request.confirmable:
            kinds.append("confirm")
        kind = data.draw(st.sampled_from(kinds), label="answer") if data is not None else "success"
        if kind == "failure" or isinstance(request, UnknownRequest):
            return failure_response(request, "refused", "the harness refuses this request")
        if isinstance(request, PrepareSessionRequest):
            if kind == "confirm":
                return PrepareSessionConfirm(message="Destroy the existing session?", original=request)
            return PrepareSessionSuccess(resource=SessionResource(id="session-1", data=request.data))
        if isinstance(request, GetCapabilitiesRequest):
            return GetCapabilitiesSuccess(capabilities=DEFAULT_CAPABILITIES)
        if isinstance(request, CallJourneyRequest):
            return CallJourneySuccess(call_journey=())
        if isinstance(request, TeamStatusBeginRequest):
            return TeamStatusBeginSuccess()
        if isinstance(request, TeamStatusEndRequest):
            return TeamStatusEndSuccess()
        return failure_response(request, "unsupported", "the harness does not carry out this command")

    @precondition(lambda self: self.open and bool(self.conn.active_reports))
    @rule(data=st.data(), cls=st.sampled_from(_EVENTS))
    def team_status_event(self, data: st.DataObject, cls: type[Any]) -> None:
        """A team-status event for a running report."""
        agent = data.draw(st.sampled_from(sorted(self.conn.active_reports)), label="agent")
        event = self.draw(data, cls, "event")
        self.transmit(attrs.evolve(event, agent_id=agent), data)
