"""Conformance machines for the Processor Bridge control destination: the harness as the bridge, and as its client."""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from ccproto.bridge import (
    AgentInfoQuery,
    CapabilitiesQuery,
    ControlChannel,
    CreateSessionRequest,
    DisposeRequest,
    Phase,
    Request,
    ServerStatus,
    ServerStatusChanged,
    ServerStatusRequest,
    ValidateAgentCredentialsRequest,
    failure_response,
    new_request_id,
    success_response,
)
from ccproto.bridge.states import STATUS_TRANSITIONS
from ccproto.core.roles import Role
from ccproto.testing.harness import ConformanceMachine
from ccproto.testing.slices.bridge.peers import DEFAULT_AGENTS, DEFAULT_CAPABILITIES
from ccproto.testing.strategies import SecretText

__all__ = ["BridgeClientConformance", "BridgeServerConformance"]

_QUERIES = (CapabilitiesQuery, AgentInfoQuery, ValidateAgentCredentialsRequest, ServerStatusRequest)
#: Phases in which the bridge may still send queries and requests.
_SENDING = (Phase.INITIALIZING, Phase.ACTIVE)
#: Phases in which the client may report its status.
_REPORTING = (Phase.INITIALIZING, Phase.ACTIVE, Phase.DISPOSING)


class _BridgeMachine(ConformanceMachine):
    protocol = "bridge"
    unsolicited = (ServerStatusChanged,)  # the CTI client reports its status at any time (B11)

    def encode(self, message: Any) -> str:
        return str(self.conn.send_text(message, now=self.now))

    def expire(self, now: float) -> list[str]:
        """Requests the SUT did not answer in time."""
        return [f"{p.name.value} {p.request_id}" for p in self.conn.handle_timer(now)]


class BridgeClientConformance(_BridgeMachine):
    """The harness plays the Processor Bridge; the system under test is its CTI client.

    It opens with ``serverstatus``, sends every query and request (``createsession``
    once the client reported a status, for agents the reference client knows and
    others), asks the client to change its status (stimuli), disposes and
    reconnects, and checks that every request is answered once with its own
    ``requestId`` and target, that status changes follow the server-status table,
    and that ``createsession`` succeeds only while the client is ``in-service``.
    """

    sut_role = Role.CLIENT

    def __init__(self) -> None:
        super().__init__()
        self.target = "ccproto.CONTROL"

    def new_connection(self) -> ControlChannel:
        return ControlChannel(Role.SERVER, limits=self.limits)

    def owed(self) -> list[str]:
        return [f"{p.name.value} {p.request_id}" for p in self.conn.pending_requests()]

    def request(self, message: Request, data: st.DataObject) -> None:
        """Send a request with the channel's target and a fresh requestId."""
        self.transmit(attrs.evolve(message, target=self.target, request_id=new_request_id()), data)

    def open_channel(self, data: st.DataObject) -> None:
        """Connect and open with serverstatus, as the bridge must."""
        self.start_connection(data)
        self.request(self.draw(data, ServerStatusRequest, "request"), data)

    @initialize(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        """Open the first channel (the target is drawn once per example)."""
        self.target = self.draw(data, ServerStatusRequest, "target").target
        self.open_channel(data)

    def agent(self, data: st.DataObject) -> tuple[str, str]:
        """An agent id and password: mostly the reference client's, sometimes unknown ones."""
        known = sorted(DEFAULT_AGENTS.items())
        # Passwords are drawn as SecretText, so a failure's report prints them as '***' (str() is the password).
        choices = [(agent, SecretText(password)) for agent, password in [*known, ("unknown-agent", "wrong")]]
        agent, password = data.draw(st.sampled_from(choices), label="agent")
        return agent, str(password)

    @precondition(lambda self: self.open and self.conn.phase in _SENDING)
    @rule(data=st.data(), cls=st.sampled_from(_QUERIES))
    def query(self, data: st.DataObject, cls: type[Request]) -> None:
        """A query or request other than createsession and dispose."""
        message = self.draw(data, cls, "request")
        agent, password = self.agent(data)
        if isinstance(message, AgentInfoQuery):
            message = attrs.evolve(message, agent_id=agent)
        elif isinstance(message, ValidateAgentCredentialsRequest):
            message = attrs.evolve(message, agent_id=agent, agent_password=password)
        self.request(message, data)

    @precondition(lambda self: self.open and self.conn.phase is Phase.ACTIVE)
    @rule(data=st.data())
    def create_session(self, data: st.DataObject) -> None:
        """createsession: SUCCESS is allowed only while the client's last reported status is in-service."""
        message = self.draw(data, CreateSessionRequest, "request")
        agent, password = self.agent(data)
        self.request(attrs.evolve(message, agent_id=agent, agent_password=password), data)

    @precondition(lambda self: self.open and self.conn.phase in _SENDING)
    @rule(data=st.data())
    def dispose(self, data: st.DataObject) -> None:
        """dispose: the client answers it; nothing more flows on this channel."""
        self.request(self.draw(data, DisposeRequest, "request"), data)

    @precondition(lambda self: self.open and self.can_reconnect)
    @rule(data=st.data())
    def reconnect(self, data: st.DataObject) -> None:
        """Close the channel and open a new one."""
        self.end_connection()
        self.open_channel(data)


class BridgeServerConformance(_BridgeMachine):
    """The harness plays the CTI client; the system under test is the Processor Bridge.

    It answers every query and request (success or failure, ``createsession``
    SUCCESS only while in-service), reports status changes along the server-status
    table, asks the bridge to send its requests (stimuli) and reconnects, and checks
    that the bridge opens with ``serverstatus``, sends ``createsession`` only after
    the client's first status report, sends nothing after ``dispose``, and never
    reuses an outstanding ``requestId``.
    """

    sut_role = Role.SERVER
    sut_speaks_first = True  # the Processor Bridge opens with serverstatus

    def __init__(self) -> None:
        super().__init__()
        self.status = ServerStatus.IN_SERVICE

    def new_connection(self) -> ControlChannel:
        return ControlChannel(Role.CLIENT, limits=self.limits)

    @initialize(data=st.data(), status=st.sampled_from(ServerStatus))
    def connect(self, data: st.DataObject, status: ServerStatus) -> None:
        """The client's CTI link starts in a drawn status; the bridge connects and opens the channel."""
        self.status = status
        self.start_connection(data)

    def react(self, message: Any, data: st.DataObject | None) -> None:
        if not isinstance(message, Request):
            return
        if isinstance(message, ServerStatusRequest):
            self.transmit(success_response(message), data)
            # Usually report at once; sometimes later (the seed allows any time), so that the bridge's
            # behaviour before the first report (no createsession) is tested too.
            if data is None or data.draw(st.booleans(), label="report status now") or self.status_reported:
                self.transmit(ServerStatusChanged(status=self.status), data)
            return
        succeed = data.draw(st.booleans(), label="succeed") if data is not None else True
        if isinstance(message, CreateSessionRequest) and self.conn.server_status is not ServerStatus.IN_SERVICE:
            succeed = False
        if isinstance(message, DisposeRequest):
            succeed = True
        self.transmit(self.answer(message) if succeed else failure_response(message, "refused by the harness"), data)

    def answer(self, request: Request) -> Any:
        """A success response to ``request`` (fixed, valid bodies)."""
        if isinstance(request, CapabilitiesQuery):
            return success_response(request, **DEFAULT_CAPABILITIES)
        if isinstance(request, AgentInfoQuery):
            return success_response(request, switch_agent_id=request.agent_id, full_name="Agent")
        return success_response(request)

    @property
    def status_reported(self) -> bool:
        """Whether the harness reported a status on this channel."""
        return self.conn.server_status is not None

    @precondition(lambda self: self.open and self.conn.phase in _REPORTING)
    @rule(data=st.data())
    def change_status(self, data: st.DataObject) -> None:
        """Report the first status, or a change the server-status table allows."""
        if self.status_reported:
            allowed = sorted(STATUS_TRANSITIONS[self.status], key=lambda s: s.value)
            self.status = data.draw(st.sampled_from(allowed), label="status")
        self.transmit(ServerStatusChanged(status=self.status), data)

    @precondition(lambda self: self.open and not self.status_reported and bool(self.stimuli))
    @rule(data=st.data())
    def stimulate_before_status(self, data: st.DataObject) -> None:
        """Before the first status report, ask the bridge to act (it must not create a session yet).

        The general ``stimulate`` rule competes with ``change_status`` here; this second way in makes the
        short window before the report (where a bridge may only query) likely enough for the random search.
        """
        self.stimulate(data)

    @precondition(lambda self: self.open and self.can_reconnect)
    @rule(data=st.data())
    def reconnect(self, data: st.DataObject) -> None:
        """Close the channel; the bridge connects again."""
        self.end_connection()
        self.start_connection(data)

