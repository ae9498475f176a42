"""A Processor Bridge client (a CTI connector) skeleton: the control destination over TCP.

The bridge connects nothing: it listens, and the CTI connector dials in.  This
client answers ``cti.request.serverstatus`` (and reports ``in-service``), the
queries, ``cti.request.createsession`` and ``cti.request.dispose``; when its CTI
link drops it reports ``out-of-service`` and leaves.  Replace :class:`CtiLink`
and the ``answer_*`` functions with your switch's calls.

Try it against the reference bridge::

    ccproto serve bridge --listen 127.0.0.1:8765 --stimulate create-session --stimulate dispose
    python examples/bridge_client.py tcp://127.0.0.1:8765

or let the CTI link drop after two seconds (the bridge creates a session first)::

    ccproto serve bridge --listen 127.0.0.1:8765 --stimulate create-session
    python examples/bridge_client.py tcp://127.0.0.1:8765 --cti-drop-after 2
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Callable, Sequence

from ccproto.bridge import (
    AgentInfoQuery,
    BridgeMessage,
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
    success_response,
)
from ccproto.bridge.tcp import open_bridge
from ccproto.transports import MessageStream, parse_target


class CtiLink:
    """Stands in for the connection to the switch: up until :meth:`drop` is called."""

    def __init__(self) -> None:
        self.dropped = asyncio.Event()

    @property
    def up(self) -> bool:
        """Whether the switch can be reached."""
        return not self.dropped.is_set()

    def drop(self) -> None:
        """The switch became unreachable."""
        self.dropped.set()


@dataclasses.dataclass
class Outcome:
    """What one connection to the bridge did (for logs and tests)."""

    #: The ``name`` of every query and request answered, in order.
    handled: list[str] = dataclasses.field(default_factory=list)
    #: Every status reported with ``cti.serverstatuschanged``, in order.
    reported: list[ServerStatus] = dataclasses.field(default_factory=list)
    #: Session id -> agent id of the sessions created.
    sessions: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Whether the bridge disposed of the channel (it ends the conversation).
    disposed: bool = False


def answer(request: Request, cti: CtiLink, outcome: Outcome) -> list[BridgeMessage]:
    """Everything to send for ``request``: its response, then (for serverstatus) our status."""
    status = ServerStatus.IN_SERVICE if cti.up else ServerStatus.OUT_OF_SERVICE
    if isinstance(request, ServerStatusRequest):
        return [success_response(request), ServerStatusChanged(status=status)]
    if isinstance(request, CapabilitiesQuery):
        return [success_response(
            request, channel_groups_supported=False, channel_groups_max_per_agent=0, channel_groups_media_types=(),
            single_channels_supported=True, single_channels_media_types=("voice",),
        )]
    if isinstance(request, AgentInfoQuery):
        # Ask the switch here; the requesting agent's password is a secret: never log it.
        return [success_response(request, switch_agent_id=f"sw-{request.agent_id}", full_name="Example Agent")]
    if isinstance(request, ValidateAgentCredentialsRequest):
        return [success_response(request)]  # check request.agent_password against the switch here
    if isinstance(request, CreateSessionRequest):
        if not cti.up:
            return [failure_response(request, "the CTI link is down")]
        outcome.sessions[request.session_id] = request.agent_id
        return [success_response(request)]
    if isinstance(request, DisposeRequest):
        outcome.disposed = True
        return [success_response(request)]
    return [failure_response(request, "unsupported request")]


async def _next_message_or_drop(stream: MessageStream[ControlChannel], cti: CtiLink) -> tuple[bool, object]:
    """``(True, message)`` when the bridge spoke first, ``(False, None)`` when the CTI link dropped first."""
    receiving = asyncio.ensure_future(stream.receive())
    dropping = asyncio.ensure_future(cti.dropped.wait())
    done, _ = await asyncio.wait({receiving, dropping}, return_when=asyncio.FIRST_COMPLETED)
    dropping.cancel()
    if receiving in done:
        return True, receiving.result()
    receiving.cancel()  # safe: a cancelled receive loses nothing
    return False, None


async def serve_connection(
    stream: MessageStream[ControlChannel], cti: CtiLink, outcome: Outcome, log: Callable[[str], None]
) -> None:
    """Answer the bridge on ``stream`` until it disposes of us, closes, or the CTI link drops."""
    async with stream:
        while not outcome.disposed:
            spoke, message = await _next_message_or_drop(stream, cti)
            if not spoke:
                log("CTI link dropped")
                # Before the bridge's first serverstatus request nothing may be sent: just leave.
                if stream.machine.phase in (Phase.INITIALIZING, Phase.ACTIVE):
                    await stream.send(ServerStatusChanged(status=ServerStatus.OUT_OF_SERVICE))
                    outcome.reported.append(ServerStatus.OUT_OF_SERVICE)
                    log("reported out-of-service")
                break
            if message is None:
                log("the bridge closed the connection")
                break
            if not isinstance(message, Request):
                continue  # an Expired: only requests we sent could expire, and a client sends none
            log(f"received {message.message_name.value}")
            outcome.handled.append(message.message_name.value)
            for reply in answer(message, cti, outcome):
                await stream.send(reply)
                if isinstance(reply, ServerStatusChanged):
                    outcome.reported.append(reply.status)
                    log(f"reported {reply.status.value}")


async def run(
    host: str, port: int, *, cti: CtiLink | None = None, cti_drop_after: float | None = None,
    log: Callable[[str], None] = print,
) -> Outcome:
    """Serve one connection to the bridge at ``host:port`` until it disposes of us, closes, or the CTI drops."""
    cti = cti if cti is not None else CtiLink()
    timer = asyncio.get_running_loop().call_later(cti_drop_after, cti.drop) if cti_drop_after is not None else None
    outcome = Outcome()
    try:
        await serve_connection(await open_bridge(host, port), cti, outcome, log)
    finally:
        if timer is not None:
            timer.cancel()
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    """``python examples/bridge_client.py tcp://HOST:PORT [--cti-drop-after SECONDS]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("target", help="the bridge's address, tcp://HOST:PORT")
    parser.add_argument("--cti-drop-after", type=float, metavar="SECONDS", help="simulate the CTI link dropping")
    args = parser.parse_args(argv)
    scheme, host, port = parse_target(args.target)
    if scheme != "tcp":
        parser.error("this example speaks plain TCP: tcp://HOST:PORT")
    outcome = asyncio.run(run(host, port, cti_drop_after=args.cti_drop_after))
    print(f"handled {len(outcome.handled)} request(s); sessions created: {len(outcome.sessions)}; "
          f"last status: {outcome.reported[-1].value if outcome.reported else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
