#!/usr/bin/env python3
"""State-machine step throughput: messages per second through an in-memory connection pair of each protocol.

Run: .venv/bin/python bench/machines.py

Each protocol gets a client-side and a server-side connection object that talk to each other directly (no
transport).  A setup brings the pair into its steady state; then a round of a steady-state exchange is repeated:

* bridge (``ControlChannel``; the bridge is ``Role.SERVER``): the bridge sends a ``cti.query.agentinfo`` query,
  the client answers it with the success response and reports ``cti.serverstatuschanged`` (``in-service``,
  re-announced) -- 3 messages;
* processor (``ProcessorSession``): after prepareSession and ``report.teamstatus.begin`` succeeded, the client
  sends ``report.calljourney``, the processor answers it with a success and sends a
  ``report.teamstatus.memberstatuschanged`` event -- 3 messages;
* CCEB (``CcebConnection``): after hello / hello_reply, the client sends an ``action`` and the CCEB acks it, the
  CCEB sends a ``presence`` notification and the client acks it -- 4 messages.

Every message of a batch (with fresh request ids / uuids) is built before the clock starts; ``now`` is a plain
increasing float; the garbage collector is off while timing (as in ``timeit``).  A message is one send
plus its receive.  Two figures per protocol:

* **full**: ``send`` on one side (text, or framed bytes for the bridge) into ``receive_message`` on the other
  (bridge: ``receive_data`` + ``next_event``): codec and state machine, what an integration runs;
* **machine**: no codec at all.  No connection object has a sending call that skips encoding, but ``send`` is
  ``encode`` + ``observe(message, our_role)``, so the sending half is ``observe``.  The receiving half hands the
  model to ``receive_message`` where that skips the codec (bridge; processor responses and events) and calls
  ``observe(message, their_role)`` where it does not: a processor request handed to ``receive_message`` is
  encoded once more (the session keeps the request's JSON to check echoes; ``observe`` takes it as ``value=``,
  built before timing here), and the CCEB's ``receive_message(model)`` re-runs ``encode_value`` +
  ``decode_value`` so a model gets the same checks as text.

The table also shows **model in**: the machine loop with every receive through ``receive_message(model)``, i.e.
what handing decoded models to the public receiving call costs.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from ccproto import bridge, cceb, processor
from ccproto.core.jsonio import JsonValue
from ccproto.core.roles import Role

__all__ = ["step_rates"]

Mode = Literal["full", "machine", "model"]
MODES: tuple[Mode, ...] = ("full", "machine", "model")
BATCHES = 3

TARGET = "Acme1.CONTROL"
AGENT = "1001"


class _Pair:
    """A connection pair in its steady state, and batches of one exchange round."""

    NAME: ClassVar[str]
    #: Messages per round (each one send + its receive).
    PER_ROUND: ClassVar[int]

    def __init__(self) -> None:
        self.clock = 0.0

    def tick(self, n: int) -> list[float]:
        """``n`` increasing ``now`` values, continuing from the last batch."""
        start = self.clock
        self.clock += n
        return [start + i + 1 for i in range(n)]

    def prepare(self, n: int) -> None:
        """Build the messages of ``n`` rounds (fresh ids), outside the timed loop."""
        raise NotImplementedError

    def run(self, mode: Mode) -> None:
        """Run the prepared rounds in ``mode``."""
        raise NotImplementedError

    def verify(self) -> None:
        """One round through the full path, checking every step; then the pair must be idle again."""
        raise NotImplementedError

    def check_idle(self) -> None:
        """Nothing outstanding, no error, the steady state."""
        raise NotImplementedError


# -- bridge --------------------------------------------------------------------------------


class _Bridge(_Pair):
    NAME = "bridge"
    PER_ROUND = 3

    def __init__(self) -> None:
        super().__init__()
        self.bridge = bridge.ControlChannel(Role.SERVER)
        self.client = bridge.ControlChannel(Role.CLIENT)
        self.status = bridge.ServerStatusChanged(status=bridge.ServerStatus.IN_SERVICE)
        self.batch: list[tuple[float, bridge.AgentInfoQuery, bridge.Response]] = []
        ask = bridge.ServerStatusRequest(target=TARGET, request_id=bridge.new_request_id())
        for sender, receiver, message in (
            (self.bridge, self.client, ask),
            (self.client, self.bridge, bridge.success_response(ask)),
            (self.client, self.bridge, self.status),
        ):
            receiver.receive_data(sender.send(message, now=0.0))
            assert receiver.next_event(now=0.0) == message
        self.check_idle()

    def check_idle(self) -> None:
        for channel in (self.bridge, self.client):
            assert channel.error is None, channel.error
            assert channel.phase is bridge.Phase.ACTIVE, channel.phase
            assert channel.server_status is bridge.ServerStatus.IN_SERVICE
            assert not channel.outstanding(), channel.outstanding()

    def _round(self, request_id: str) -> tuple[bridge.AgentInfoQuery, bridge.Response]:
        query = bridge.AgentInfoQuery(
            target=TARGET, request_id=request_id, agent_id="4711", requesting_agent_login="supervisor",
            requesting_agent_password="secret",
        )
        answer = bridge.success_response(
            query, switch_agent_id="4711", first_name="Ada", last_name="Lovelace",
            cti_specific={"site": 3, "skills": ["billing", "de"]},
        )
        return query, answer

    def prepare(self, n: int) -> None:
        self.batch = [(now, *self._round(bridge.new_request_id())) for now in self.tick(n)]

    def verify(self) -> None:
        (now, query, answer), = [(now, *self._round(bridge.new_request_id())) for now in self.tick(1)]
        self.client.receive_data(self.bridge.send(query, now=now))
        assert self.client.next_event(now=now) == query
        assert self.client.next_event(now=now) is bridge.NEED_DATA
        for channel in (self.bridge, self.client):
            (pending,) = channel.outstanding()
            assert pending.request_id == query.request_id
            assert pending.deadline == now + channel.limits.request_timeout
        self.bridge.receive_data(self.client.send(answer, now=now))
        assert self.bridge.next_event(now=now) == answer
        self.bridge.receive_data(self.client.send(self.status, now=now))
        assert self.bridge.next_event(now=now) == self.status
        self.check_idle()

    def run(self, mode: Mode) -> None:
        server, client, status = self.bridge, self.client, self.status
        if mode == "full":
            server_send, server_data, server_next = server.send, server.receive_data, server.next_event
            client_send, client_data, client_next = client.send, client.receive_data, client.next_event
            for now, query, answer in self.batch:
                client_data(server_send(query, now=now))
                client_next(now=now)
                server_data(client_send(answer, now=now))
                server_next(now=now)
                server_data(client_send(status, now=now))
                server_next(now=now)
        else:  # receive_message(model) is observe plus a usability check: both modes are the machine alone
            server_out, client_out = server.observe, client.observe
            server_in, client_in = server.receive_message, client.receive_message
            s, c = Role.SERVER, Role.CLIENT
            for now, query, answer in self.batch:
                server_out(query, s, now=now)
                client_in(query, now=now)
                client_out(answer, c, now=now)
                server_in(answer, now=now)
                client_out(status, c, now=now)
                server_in(status, now=now)


# -- processor -----------------------------------------------------------------------------

_ProcessorRound = tuple[
    float, processor.CallJourneyRequest, Mapping[str, JsonValue], processor.CallJourneySuccess,
    processor.MemberStatusChangedEvent,
]


class _Processor(_Pair):
    NAME = "processor"
    PER_ROUND = 3

    def __init__(self) -> None:
        super().__init__()
        self.processor = processor.ProcessorSession(Role.SERVER)
        self.client = processor.ProcessorSession(Role.CLIENT)
        self.batch: list[_ProcessorRound] = []
        ask = processor.PrepareSessionRequest(data=processor.SessionParameters(
            model="uccx", override=False, agent=processor.AgentCredentials(id=AGENT, password="pw"),
        ))
        begin = processor.TeamStatusBeginRequest(agent_id=AGENT)
        for sender, receiver, message in (
            (self.client, self.processor, ask),
            (self.processor, self.client, processor.PrepareSessionSuccess(
                resource=processor.SessionResource(id="session-1", data=ask.data))),
            (self.client, self.processor, begin),
            (self.processor, self.client, processor.TeamStatusBeginSuccess()),
        ):
            assert receiver.receive_message(sender.send(message, now=0.0), now=0.0) == message
        self.check_idle()

    def check_idle(self) -> None:
        for session in (self.processor, self.client):
            assert session.error is None, session.error
            assert session.state is processor.SessionState.OPEN, session.state
            assert session.report_state(AGENT) is processor.Report.ACTIVE
            assert not session.outstanding(), session.outstanding()

    def _round(self, now: float, n: int) -> _ProcessorRound:
        call_id = f"call-{n}"
        request = processor.CallJourneyRequest(call_id=call_id)
        answer = processor.CallJourneySuccess(call_journey=(
            processor.CallJourneyStep(call_id=call_id, device="IVR-1", device_type="IVR", description="Menu",
                                      duration="00:00:12"),
            processor.CallJourneyStep(call_id=call_id, device="2001", device_type="Agent", description="Talk",
                                      duration="00:03:27"),
        ))
        member = processor.TeamMember(
            member_id="2001", member_type=processor.MemberType.AGENT, member_name="Agent 1",
            status=processor.MemberStatus.NOT_READY if n % 2 else processor.MemberStatus.READY, reason="",
        )
        event = processor.MemberStatusChangedEvent(
            agent_id=AGENT, team=processor.TeamMemberChanges(team_id="T7", team_name="Billing", members=(member,)),
        )
        return now, request, processor.encode_value(request), answer, event

    def prepare(self, n: int) -> None:
        self.batch = [self._round(now, int(now)) for now in self.tick(n)]

    def verify(self) -> None:
        (now,) = self.tick(1)
        _, request, _, answer, event = self._round(now, int(now))
        assert self.processor.receive_message(self.client.send(request, now=now), now=now) == request
        for session in (self.processor, self.client):
            (pending,) = session.outstanding()
            assert pending.request == request
            assert session.exchange_state(request.command_name) is processor.Exchange.AWAITING
        assert self.client.receive_message(self.processor.send(answer, now=now), now=now) == answer
        assert self.client.receive_message(self.processor.send(event, now=now), now=now) == event
        self.check_idle()

    def run(self, mode: Mode) -> None:
        server, client = self.processor, self.client
        if mode == "full":
            server_send, server_in = server.send, server.receive_message
            client_send, client_in = client.send, client.receive_message
            for now, request, _, answer, event in self.batch:
                server_in(client_send(request, now=now), now=now)
                client_in(server_send(answer, now=now), now=now)
                client_in(server_send(event, now=now), now=now)
            return
        server_out, client_out = server.observe, client.observe
        server_in, client_in = server.receive_message, client.receive_message
        s, c = Role.SERVER, Role.CLIENT
        if mode == "machine":  # the request's JSON is given as send / receive_message would give it
            server_observe = server.observe
            for now, request, value, answer, event in self.batch:
                client_out(request, c, now=now, value=value)
                server_observe(request, c, now=now, value=value)
                server_out(answer, s, now=now)
                client_in(answer, now=now)
                server_out(event, s, now=now)
                client_in(event, now=now)
        else:  # receive_message(model) for the request too: the session encodes it to keep its JSON
            for now, request, value, answer, event in self.batch:
                client_out(request, c, now=now, value=value)
                server_in(request, now=now)
                server_out(answer, s, now=now)
                client_in(answer, now=now)
                server_out(event, s, now=now)
                client_in(event, now=now)


# -- CCEB ----------------------------------------------------------------------------------


class _Cceb(_Pair):
    NAME = "cceb"
    PER_ROUND = 4

    def __init__(self) -> None:
        super().__init__()
        self.cceb = cceb.CcebConnection(Role.SERVER)
        self.client = cceb.CcebConnection(Role.CLIENT)
        self.batch: list[tuple[float, cceb.Action, cceb.Ack, cceb.Presence, cceb.Ack]] = []
        hello = cceb.Hello.new(token="eyJhbGciOiJSUzI1NiJ9.e30.c2ln", tenant="acme")
        assert self.cceb.receive_message(self.client.send(hello, now=0.0), now=0.0) == hello
        reply = cceb.HelloReply(uuid=hello.uuid)
        assert self.client.receive_message(self.cceb.send(reply, now=0.0), now=0.0) == reply
        self.check_idle()

    def check_idle(self) -> None:
        for connection in (self.cceb, self.client):
            assert connection.error is None, connection.error
            assert connection.state is cceb.ConnectionState.OPEN, connection.state
            assert not connection.outstanding(), connection.outstanding()

    def _round(self, now: float) -> tuple[float, cceb.Action, cceb.Ack, cceb.Presence, cceb.Ack]:
        details: dict[str, JsonValue] = {"state": "Available"}
        action = cceb.Action(uuid=cceb.new_uuid(), action="ChangeAgentStateEvent", action_details=details)
        presence = cceb.Presence(uuid=cceb.new_uuid(), data={"state": "Available", "reason": ""})
        return now, action, cceb.Ack.of(action), presence, cceb.Ack.of(presence)

    def prepare(self, n: int) -> None:
        self.batch = [self._round(now) for now in self.tick(n)]

    def verify(self) -> None:
        (now,) = self.tick(1)
        _, action, action_ack, presence, presence_ack = self._round(now)
        assert self.cceb.receive_message(self.client.send(action, now=now), now=now) == action
        assert [item.uuid for item in self.cceb.unacked_actions()] == [action.uuid]
        assert [item.uuid for item in self.client.unacked_actions()] == [action.uuid]
        assert self.client.receive_message(self.cceb.send(action_ack, now=now), now=now) == action_ack
        assert self.client.receive_message(self.cceb.send(presence, now=now), now=now) == presence
        assert [item.uuid for item in self.client.unacked_notifications()] == [presence.uuid]
        assert self.cceb.receive_message(self.client.send(presence_ack, now=now), now=now) == presence_ack
        self.check_idle()

    def run(self, mode: Mode) -> None:
        server, client = self.cceb, self.client
        if mode == "full":
            server_send, server_in = server.send, server.receive_message
            client_send, client_in = client.send, client.receive_message
            for now, action, action_ack, presence, presence_ack in self.batch:
                server_in(client_send(action, now=now), now=now)
                client_in(server_send(action_ack, now=now), now=now)
                client_in(server_send(presence, now=now), now=now)
                server_in(client_send(presence_ack, now=now), now=now)
            return
        s, c = Role.SERVER, Role.CLIENT
        server_out, client_out = server.observe, client.observe
        if mode == "machine":
            for now, action, action_ack, presence, presence_ack in self.batch:
                client_out(action, c, now=now)
                server_out(action, c, now=now)
                server_out(action_ack, s, now=now)
                client_out(action_ack, s, now=now)
                server_out(presence, s, now=now)
                client_out(presence, s, now=now)
                client_out(presence_ack, c, now=now)
                server_out(presence_ack, c, now=now)
        else:  # receive_message(model): encode_value + decode_value, then the machine
            server_in, client_in = server.receive_message, client.receive_message
            for now, action, action_ack, presence, presence_ack in self.batch:
                client_out(action, c, now=now)
                server_in(action, now=now)
                server_out(action_ack, s, now=now)
                client_in(action_ack, now=now)
                server_out(presence, s, now=now)
                client_in(presence, now=now)
                client_out(presence_ack, c, now=now)
                server_in(presence_ack, now=now)


PAIRS: tuple[Callable[[], _Pair], ...] = (_Bridge, _Processor, _Cceb)


# -- measuring -----------------------------------------------------------------------------


def _timed(pair: _Pair, mode: Mode, rounds: int) -> float:
    """Seconds for ``rounds`` rounds (messages built beforehand, collector off as in ``timeit``); then idle."""
    pair.prepare(rounds)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        pair.run(mode)
        elapsed = time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()
    pair.check_idle()
    return elapsed


def _rate(make: Callable[[], _Pair], mode: Mode, seconds: float) -> float:
    """Messages per second of ``mode`` on a fresh pair: best of ``BATCHES`` batches of about ``seconds / BATCHES``."""
    pair = make()
    pair.verify()
    _timed(pair, mode, 1)  # the mode's path works (check_idle) before anything is timed
    rounds, elapsed = 16, 0.0
    while (elapsed := _timed(pair, mode, rounds)) < min(0.05, seconds / 10):
        rounds *= 4
    rounds = max(1, round(rounds * seconds / BATCHES / elapsed))
    best = min(_timed(pair, mode, rounds) for _ in range(BATCHES))
    return rounds * pair.PER_ROUND / best


def _rates(seconds: float, modes: tuple[Mode, ...]) -> dict[str, dict[str, float]]:
    return {make().NAME: {mode: _rate(make, mode, seconds) for mode in modes} for make in PAIRS}


def step_rates(seconds: float = 1.0) -> dict[str, dict[str, float]]:
    """protocol -> {"full": messages/s, "machine": messages/s (or float('nan'))}; a message is one send + its receive.

    Every protocol has a clean machine-only path (``observe``), so "machine" is never NaN here.
    """
    return _rates(seconds, ("full", "machine"))


def main(argv: list[str] | None = None) -> None:
    """Print the table (``--seconds S`` per measurement, default 1)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default 1)")
    args = parser.parse_args(argv)
    rates: dict[str, dict[str, Any]] = _rates(args.seconds, MODES)
    print(f"{'protocol':<10} {'full msg/s':>11} {'machine msg/s':>14} {'model in msg/s':>15} {'machine/full':>13}")
    for name, found in rates.items():
        full, machine, model = found["full"], found["machine"], found["model"]
        ratio = machine / full if full and not math.isnan(machine) else math.nan
        print(f"{name:<10} {full:>11,.0f} {machine:>14,.0f} {model:>15,.0f} {ratio:>13.1f}")
    print("a message = one send + its receive; full = codec + state machine; machine = observe / receive_message(model)"
          " without codec; model in = every receive through receive_message(model)")


if __name__ == "__main__":
    main()
