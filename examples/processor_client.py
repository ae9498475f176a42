"""An Interaction Processor client: prepare an agent session, then watch the agent's team (UCCX team-status report).

``prepareSession`` is sent without ``override``; if the agent already has a
session the processor answers ``confirm`` (its message is the question for
the user), and this client agrees by sending the same request again with
``override: true``.  Then it begins the team-status report, prints the
team-status events for a while, and ends the report.

Try it against the reference processor (which changes a member's status on each connection)::

    ccproto serve processor --listen 127.0.0.1:8765 --stimulate team-change --stimulate team-change
    PROCESSOR_PASSWORD=... python examples/processor_client.py ws://127.0.0.1:8765 --agent 1001

Run it twice: the second run finds the agent's session and meets the ``confirm``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence

from ccproto.processor import (
    AgentCredentials,
    FailureResponse,
    PrepareSessionConfirm,
    PrepareSessionRequest,
    PrepareSessionSuccess,
    ProcessorMessage,
    ProcessorSession,
    Response,
    SessionParameters,
    TeamStatusBeginRequest,
    TeamStatusEndRequest,
    TeamStatusEvent,
)
from ccproto.processor.ws import connect_processor
from ccproto.transports import Expired, MessageStream


@dataclasses.dataclass
class Outcome:
    """What one run did (for logs and tests)."""

    #: The prepared session's resource id.
    session_id: str = ""
    #: Whether the processor asked to confirm (and we repeated the request with ``override: true``).
    confirmed: bool = False
    #: The team-status events received while the report ran, in order.
    events: list[TeamStatusEvent] = dataclasses.field(default_factory=list)


def describe(event: TeamStatusEvent) -> str:
    """One line about a team-status event: its name, the team, and each member's status when it has one."""
    team = getattr(event, "team", None)
    members = getattr(team, "members", ())
    shown = ", ".join(
        f"{member.member_id}: {member.status.value}" if hasattr(member, "status") else f"{member.member_id}"
        for member in members
    )
    return f"{event.event_name} (team {getattr(team, 'team_name', '?')}){': ' + shown if shown else ''}"


class Client:
    """Requests and their answers on one processor connection; team-status events are collected on the way."""

    def __init__(self, stream: MessageStream[ProcessorSession], outcome: Outcome, log: Callable[[str], None]):
        self.stream = stream
        self.outcome = outcome
        self.log = log

    async def next_message(self, seconds: float) -> ProcessorMessage | None:
        """The next response or event (events are recorded); ``None`` if ``seconds`` pass first."""
        try:
            message: ProcessorMessage | Expired | None = await asyncio.wait_for(self.stream.receive(), seconds)
        except TimeoutError:
            return None
        if message is None:
            raise ConnectionError("the processor closed the connection")
        if isinstance(message, Expired):
            raise TimeoutError("the processor did not answer in time")
        if isinstance(message, TeamStatusEvent):
            self.outcome.events.append(message)
            self.log(describe(message))
        return message

    async def ask(self, request: ProcessorMessage, timeout: float) -> Response:
        """Send ``request`` and return its answer (a failure raises ``RuntimeError`` with its code)."""
        await self.stream.send(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.next_message(max(0.0, deadline - loop.time()))
            if message is None:
                raise TimeoutError("no answer")
            if isinstance(message, FailureResponse):
                raise RuntimeError(f"{message.command} failed: {message.failure.code}")
            if isinstance(message, Response):
                return message  # no correlation id: the session already matched it to our request


async def run(
    uri: str, *, agent_id: str, password: str, events: int = 3, wait: float = 2.0, timeout: float = 5.0,
    log: Callable[[str], None] = print,
) -> Outcome:
    """Prepare ``agent_id``'s session, run its team-status report until ``events`` events or ``wait`` seconds."""
    outcome = Outcome()
    async with await asyncio.wait_for(connect_processor(uri), timeout) as stream:
        client = Client(stream, outcome, log)
        credentials = AgentCredentials(id=agent_id, password=password)  # the password never shows in a repr
        ask = PrepareSessionRequest(data=SessionParameters(model="uccx", override=False, agent=credentials))
        answer = await client.ask(ask, timeout)
        if isinstance(answer, PrepareSessionConfirm):
            log(f"the processor asks: {answer.message!r}; answering yes")
            outcome.confirmed = True
            answer = await client.ask(answer.original.with_override(), timeout)
        if not isinstance(answer, PrepareSessionSuccess):
            raise RuntimeError(f"unexpected answer to prepareSession: {type(answer).__name__}")
        outcome.session_id = answer.resource.id
        log(f"session {outcome.session_id} ready")

        await client.ask(TeamStatusBeginRequest(agent_id=agent_id), timeout)
        log("team-status report started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while len(outcome.events) < events and loop.time() < deadline:
            await client.next_message(max(0.0, deadline - loop.time()))
        await client.ask(TeamStatusEndRequest(agent_id=agent_id), timeout)
        log(f"team-status report ended after {len(outcome.events)} event(s)")
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    """``python examples/processor_client.py ws://HOST:PORT --agent ID`` (password from ``$PROCESSOR_PASSWORD``)."""
    parser = argparse.ArgumentParser(description="An Interaction Processor client (see the module docstring).")
    parser.add_argument("uri", help="the processor's WebSocket URL, ws://HOST:PORT[/PATH]")
    parser.add_argument("--agent", default="1001", help="the agent id")
    parser.add_argument("--events", type=int, default=3, help="stop the report after this many events")
    parser.add_argument("--wait", type=float, default=2.0, help="or after this many seconds")
    args = parser.parse_args(argv)
    password = os.environ.get("PROCESSOR_PASSWORD", "secret-1001")  # never on the command line (`ps` shows it)
    outcome = asyncio.run(run(args.uri, agent_id=args.agent, password=password, events=args.events, wait=args.wait))
    print(f"session {outcome.session_id} (confirmed: {outcome.confirmed}); {len(outcome.events)} team-status event(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
