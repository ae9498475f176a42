"""The example programs (``examples/*.py``) against real reference peers over loopback.

Each example runs in-process against a ``ccproto serve`` subprocess (whose
recording must validate clean), and once through its ``main()`` in a
subprocess.  The CCEB's 72-hour rule is tested with an in-process server whose
clock the test moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ccproto.bridge import ServerStatus
from ccproto.capture.validator import validate_capture
from ccproto.cceb import SessionStore
from ccproto.testing.live import serve_peer
from ccproto.testing.slices.cceb.peers import ReferenceCceb
from ccproto.testing.slices.processor.peers import ReferenceProcessor

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: The longest any single wait of this file may take (seconds).
WAIT = 10.0
HOURS = 3600.0


def load(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` (examples are scripts, not a package)."""
    module_name = f"example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


class Served:
    """A ``ccproto serve`` subprocess: its URL, and (after ``stop``) its exit status and output lines."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.returncode: int | None = None
        self.lines: list[str] = []

    @property
    def host_port(self) -> tuple[str, int]:
        """The listening address."""
        host, _, port = self.url.split("://", 1)[1].rpartition(":")
        return host, int(port)

    def stop(self) -> None:
        """SIGINT (the serve prints its summary and exits), bounded."""
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=WAIT)
        self.returncode = self.process.returncode
        self.lines = out.splitlines()


@contextlib.contextmanager
def serve(protocol: str, *stimuli: str, record: Path | None = None) -> Iterator[Served]:
    """Run ``ccproto serve PROTOCOL --listen 127.0.0.1:0`` with ``stimuli``; killed whatever happens."""
    command = [sys.executable, "-m", "ccproto", "serve", protocol, "--listen", "127.0.0.1:0"]
    for name in stimuli:
        command += ["--stimulate", name]
    if record is not None:
        command += ["--record", str(record)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], WAIT)
        assert ready, "ccproto serve printed nothing"
        first = process.stdout.readline()
        assert first.startswith("listening on "), first
        yield Served(process, first.split()[2])
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=WAIT)


def run_main(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python examples/<name>.py ARGS`` (bounded)."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args], capture_output=True, text=True, timeout=WAIT,
        env={**os.environ, **(env or {})}, check=False,
    )


def recorded(path: Path) -> list[dict[str, Any]]:
    """The records of a ``--record`` capture."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_clean(served: Served, record: Path) -> None:
    """The serve saw no error, and its recording validates clean."""
    assert served.returncode == 0, served.lines
    assert served.lines[-1].startswith("OK: "), served.lines[-3:]
    report = validate_capture(record)
    assert report.records > 0
    assert not report.findings, [str(finding) for finding in report.findings]


def bridge_names(records: list[dict[str, Any]], sender: str) -> list[str]:
    """``header.name`` (and the event's status) of each bridge message ``sender`` sent."""
    names = []
    for record in records:
        message = record.get("message")
        if record["from"] == sender and isinstance(message, dict):
            status = message["body"].get("status")
            names.append(message["header"]["name"] + (f":{status}" if status else ""))
    return names


# -- the bridge client -----------------------------------------------------------------------


def test_bridge_client_answers_every_request_until_dispose(tmp_path: Path) -> None:
    bridge_client = load("bridge_client")
    record = tmp_path / "bridge.jsonl"
    stimuli = ("create-session", "query-capabilities", "query-agent-info", "validate-credentials", "dispose")
    lines: list[str] = []
    with serve("bridge", *stimuli, record=record) as served:
        host, port = served.host_port
        outcome = asyncio.run(asyncio.wait_for(bridge_client.run(host, port, log=lines.append), WAIT))
        served.stop()
    assert outcome.handled == [
        "cti.request.serverstatus", "cti.request.createsession", "cti.query.capabilities", "cti.query.agentinfo",
        "cti.request.validateagentcredentials", "cti.request.dispose",
    ]
    assert outcome.reported == [ServerStatus.IN_SERVICE]
    assert outcome.sessions == {"session-1": "agent-1001"}
    assert outcome.disposed
    assert not any("s3cret" in line for line in lines + served.lines)  # the bridge's agent passwords
    assert_clean(served, record)
    records = recorded(record)
    assert bridge_names(records, "client") == [
        "cti.request.serverstatus", "cti.serverstatuschanged:in-service", "cti.request.createsession",
        "cti.query.capabilities", "cti.query.agentinfo", "cti.request.validateagentcredentials",
        "cti.request.dispose",
    ]
    answers = [r["message"]["header"].get("result") for r in records if r["from"] == "client" and "message" in r]
    assert answers.count("SUCCESS") == 6


def test_bridge_client_reports_out_of_service_when_the_cti_link_drops(tmp_path: Path) -> None:
    bridge_client = load("bridge_client")
    record = tmp_path / "bridge.jsonl"
    with serve("bridge", "create-session", record=record) as served:
        host, port = served.host_port
        started = time.monotonic()
        run = bridge_client.run(host, port, cti_drop_after=1.0, log=lambda line: None)
        outcome = asyncio.run(asyncio.wait_for(run, WAIT))
        assert time.monotonic() - started >= 1.0
        served.stop()
    assert outcome.handled == ["cti.request.serverstatus", "cti.request.createsession"]
    assert outcome.reported == [ServerStatus.IN_SERVICE, ServerStatus.OUT_OF_SERVICE]
    assert not outcome.disposed
    assert_clean(served, record)
    assert bridge_names(recorded(record), "client")[-1] == "cti.serverstatuschanged:out-of-service"


def test_bridge_client_drop_before_the_first_request_sends_nothing() -> None:
    bridge_client = load("bridge_client")

    async def scenario() -> Any:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # a bridge that never opens with serverstatus: nothing may be sent to it
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            run = bridge_client.run("127.0.0.1", port, cti_drop_after=0.1, log=lambda _: None)
            return await asyncio.wait_for(run, WAIT)
        finally:
            server.close()
            await server.wait_closed()

    outcome = asyncio.run(scenario())
    assert outcome.handled == []
    assert outcome.reported == []


def test_bridge_client_main_runs() -> None:
    with serve("bridge", "create-session") as served:
        done = run_main("bridge_client", served.url, "--cti-drop-after", "1")
        served.stop()
    assert done.returncode == 0, done.stderr
    assert "reported out-of-service" in done.stdout
    assert "sessions created: 1; last status: out-of-service" in done.stdout
    assert served.returncode == 0
    assert any('"status":"out-of-service"' in line for line in served.lines)


# -- the CCEB agent --------------------------------------------------------------------------


def test_cceb_agent_acts_acks_and_resumes(tmp_path: Path) -> None:
    cceb_agent = load("cceb_agent")
    record = tmp_path / "cceb.jsonl"
    lines: list[str] = []

    async def scenario() -> tuple[Any, str | None, str | None]:
        agent = cceb_agent.Agent(served.url + "/ws/v1", token="tok-example-123", tenant="acme", log=lines.append)
        await agent.connect()
        try:
            assert not agent.resumed
            assert agent.key_is_new
            first_key = agent.session_key
            await agent.act("ChangeAgentStateEvent", {"state": "Available"})
            await agent.act("RequestAgentInteractionListEvent")
            await agent.listen(0.5)  # the offered interaction arrives once the connection is quiet
            await agent.reconnect()
            await agent.listen(0.5)
            return agent, first_key, agent.session_key
        finally:
            await agent.close()

    with serve("cceb", "offer-interaction", record=record) as served:
        agent, first_key, second_key = asyncio.run(asyncio.wait_for(scenario(), WAIT))
        served.stop()
    assert first_key is not None
    assert second_key == first_key
    assert agent.resumed
    assert not agent.key_is_new
    # The order depends on when the served CCEB finds the connection quiet; what was acked does not.
    assert sorted(agent.acked) == ["agent_interaction", "agent_interaction", "interactions_list", "presence"]
    assert "Agent(" in repr(agent)
    assert first_key not in repr(agent)
    assert not any(first_key in line or "tok-example-123" in line for line in lines + served.lines)
    assert_clean(served, record)  # including the capture's check that the session was resumed
    hellos = [r["message"]["data"] for r in recorded(record) if r.get("message", {}).get("type") == "hello"]
    assert [("long_lived" in data, "session_key" in data) for data in hellos] == [(True, False), (False, True)]


def test_cceb_agent_main_runs() -> None:
    token = "tok-never-printed-42"
    with serve("cceb", "offer-interaction") as served:
        done = run_main("cceb_agent", served.url + "/ws/v1", "--tenant", "acme", env={"CCEB_TOKEN": token})
        served.stop()
    assert done.returncode == 0, done.stderr
    assert "hello_reply: resumed=False, new session key=True" in done.stdout
    assert "hello_reply: resumed=True, new session key=False" in done.stdout
    assert "session resumed on reconnection: True" in done.stdout
    assert token not in done.stdout + done.stderr + "\n".join(served.lines)
    assert served.returncode == 0


@pytest.mark.parametrize(("hours", "resumes"), [(71.0, True), (73.0, False)])
def test_cceb_agent_resumes_within_72_hours_and_gets_a_new_key_after(hours: float, resumes: bool) -> None:
    """The issue's requirement: reconnect over a real WebSocket, with the peer's clock moved between."""
    cceb_agent = load("cceb_agent")
    store = SessionStore()
    offset = 0.0

    def fake_clock() -> float:
        return time.time() + offset

    async def scenario() -> tuple[Any, str | None, str | None]:
        nonlocal offset
        server = await serve_peer("cceb", lambda: ReferenceCceb(store=store), "127.0.0.1", 0, clock=fake_clock)
        try:
            port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            agent = cceb_agent.Agent(f"ws://127.0.0.1:{port}/ws/v1", token="t", tenant="acme", log=lambda _: None)
            await agent.connect()
            first = agent.session_key
            await agent.act("ChangeAgentStateEvent", {"state": "Available"})
            await agent.listen(0.1)  # ack the presence notification the action causes
            await agent.close()
            # The server records the disconnection (at its clock) once it sees the close: wait for that.
            while any(session.disconnected_at is None for session in store):
                await asyncio.sleep(0.01)
            offset += hours * HOURS
            await agent.connect()
            second = agent.session_key
            await agent.close()
            return agent, first, second
        finally:
            server.close()
            await server.wait_closed()

    agent, first, second = asyncio.run(asyncio.wait_for(scenario(), WAIT))
    assert first is not None
    assert second is not None
    assert agent.resumed is resumes
    assert agent.key_is_new is not resumes
    assert (first == second) is resumes
    now = fake_clock()
    assert store.find(second, now) is not None
    assert (store.find(first, now) is not None) is resumes  # past 72 h the old key opens nothing


# -- the processor client --------------------------------------------------------------------


def test_processor_client_prepares_and_runs_a_team_status_report(tmp_path: Path) -> None:
    processor_client = load("processor_client")
    record = tmp_path / "processor.jsonl"
    lines: list[str] = []
    with serve("processor", "team-change", "members-removed", record=record) as served:
        run = processor_client.run(served.url, agent_id="1001", password="pw-not-shown-7", events=3, log=lines.append)
        outcome = asyncio.run(asyncio.wait_for(run, WAIT))
        done = run_main("processor_client", served.url, "--agent", "1002", env={"PROCESSOR_PASSWORD": "pw-main-8"})
        served.stop()
    assert outcome.session_id == "session-1"
    assert not outcome.confirmed
    assert [event.event_name for event in outcome.events] == [
        "report.teamstatus.teamadded", "report.teamstatus.memberstatuschanged", "report.teamstatus.memberremoved",
    ]
    assert {event.agent_id for event in outcome.events} == {"1001"}
    assert "report.teamstatus.memberstatuschanged (team Support): 2002: ACW" in lines
    assert done.returncode == 0, done.stderr
    assert "3 team-status event(s)" in done.stdout
    everything = "\n".join(lines + served.lines) + done.stdout + done.stderr
    assert "pw-not-shown-7" not in everything
    assert "pw-main-8" not in everything
    assert_clean(served, record)
    commands = [r["message"].get("command") for r in recorded(record) if r["from"] == "client" and "message" in r]
    assert commands == ["prepareSession", "report.teamstatus.begin", "report.teamstatus.end"] * 2


def test_processor_client_overrides_after_a_confirm() -> None:
    """A processor whose agent sessions outlive connections (one peer for every connection) asks to confirm."""
    processor_client = load("processor_client")
    processor = ReferenceProcessor()

    async def scenario() -> tuple[Any, Any]:
        server = await serve_peer("processor", lambda: processor, "127.0.0.1", 0)
        try:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"  # type: ignore[attr-defined]
            first = await processor_client.run(url, agent_id="1001", password="pw", events=1, log=lambda _: None)
            second = await processor_client.run(url, agent_id="1001", password="pw", events=1, log=lambda _: None)
            return first, second
        finally:
            server.close()
            await server.wait_closed()

    first, second = asyncio.run(asyncio.wait_for(scenario(), WAIT))
    assert not first.confirmed
    assert first.session_id == "session-1"
    assert second.confirmed
    assert second.session_id == "session-2"
    assert processor.sessions == {"1001": "session-2"}
    assert not processor.errors


def test_served_processor_remembers_agent_sessions_across_connections() -> None:
    processor_client = load("processor_client")
    with serve("processor") as served:
        first = asyncio.run(asyncio.wait_for(
            processor_client.run(served.url, agent_id="1001", password="pw", events=0, wait=0, log=lambda _: None), WAIT
        ))
        second = asyncio.run(asyncio.wait_for(
            processor_client.run(served.url, agent_id="1001", password="pw", events=0, wait=0, log=lambda _: None), WAIT
        ))
        served.stop()
    assert not first.confirmed
    assert second.confirmed
