"""A canary over ``ccproto serve`` at every ``--log-level``: no secret reaches its output, log, recording or report.

Each level runs a CCEB serve and a processor serve as subprocesses (``test_cli_live``'s helpers).  Our clients
put a canary everywhere a secret can travel: the URL's query, the ``Authorization`` and ``Cookie`` headers, a
hello's token, a hello whose ``data`` is JSON text with a token (nested JSON), an action's extension member
``password``, a prepareSession's agent password; the hello_reply's session key is the server's own secret.
Then serve is stopped with SIGINT and none of them may appear (as sent, JSON-escaped, URL-quoted) in its standard
output (the report), its standard error (the log) or its ``--record`` file.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.parse
import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest
import websockets

from test_cli_live import Processes, Serve

LEVELS = ("debug", "info", "warning", "error")
QUIET = 0.5  # seconds our clients wait for one more message before they go on


def canary(name: str) -> str:
    """A canary: a unique core (what any leak shows), then characters JSON and URLs write differently."""
    return f"CANARY_{name}-{secrets.token_hex(6)}/+=é"


def header_canary(name: str) -> str:
    """A canary for an HTTP header (ASCII only: what a header may hold)."""
    return f"CANARY_{name}-{secrets.token_hex(6)}/+="


def spellings(secret: str) -> set[str]:
    """The ways a secret could be written down: as is, JSON-escaped (both ways), URL-quoted, and its core."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret).replace("/", "\\/")[1:-1],
        urllib.parse.quote(secret),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        secret.partition("/")[0],  # the unique core: even part of a secret must not show
    }


def assert_clean(text: str, where: str, canaries: Iterable[str]) -> None:
    """Fail, saying where and which, if ``text`` holds any spelling of any canary."""
    for secret in canaries:
        for spelled in spellings(secret):
            assert spelled not in text, f"{spelled!r} leaked through {where}:\n{text[:4000]}"


async def recv(websocket: websockets.ClientConnection) -> str | None:
    """The next message, or ``None`` after QUIET seconds of silence or once closed."""
    try:
        message = await asyncio.wait_for(websocket.recv(), QUIET)
    except (TimeoutError, websockets.ConnectionClosed):
        return None
    return message if isinstance(message, str) else message.decode("utf-8")


def connect(url: str, canaries: dict[str, str]) -> websockets.connect:
    """Our client's connection: a token in the query string, credentials in the headers."""
    query = urllib.parse.urlencode({"token": canaries["query"]})
    return websockets.connect(f"{url}/ws/v1?{query}", additional_headers=[
        ("Authorization", f"Bearer {canaries['authorization']}"), ("Cookie", f"s={canaries['cookie']}")])


async def drive_cceb(url: str, canaries: dict[str, str]) -> list[str]:
    """A hello with a token, an action with an extension password; then a hello whose data is JSON text."""
    received = []
    async with connect(url, canaries) as websocket:
        await websocket.send(json.dumps({"type": "hello", "uuid": str(uuid.uuid4()), "data": {
            "token": canaries["token"], "tenant": "acme", "long_lived": True}}, ensure_ascii=False))
        while (message := await recv(websocket)) is not None:
            received.append(message)
            if '"hello_reply"' in message:
                break
        await websocket.send(json.dumps({"type": "action", "uuid": str(uuid.uuid4()), "data": {
            "action": "ChangeAgentStateEvent", "action_details": {"state": "Ready"}},
            "password": canaries["extension"]}, ensure_ascii=False))
        while (message := await recv(websocket)) is not None:
            received.append(message)
    async with connect(url, canaries) as websocket:
        nested = json.dumps({"token": canaries["nested"], "tenant": "acme"}, ensure_ascii=False)
        await websocket.send(json.dumps({"type": "hello", "uuid": str(uuid.uuid4()), "data": nested}))
        while (message := await recv(websocket)) is not None:
            received.append(message)
    return received


async def drive_processor(url: str, canaries: dict[str, str]) -> list[str]:
    """A prepareSession carrying the agent's password (a success echoes it back)."""
    received = []
    async with connect(url, canaries) as websocket:
        await websocket.send(json.dumps({"command": "prepareSession", "data": {
            "model": "uccx", "override": True, "agent": {"id": "agent-7", "password": canaries["password"]}}},
            ensure_ascii=False))
        while (message := await recv(websocket)) is not None:
            received.append(message)
    return received


@pytest.mark.parametrize("level", LEVELS)
def test_serve_keeps_every_secret_out_of_its_output_log_and_recording(level: str, tmp_path: Path) -> None:
    canaries = {name: canary(name) for name in ("query", "token", "nested", "extension", "password")}
    canaries |= {name: header_canary(name) for name in ("authorization", "cookie")}
    processes = Processes(tmp_path)
    try:
        served: dict[str, Serve] = {
            protocol: processes.serve(protocol, "--record", str(tmp_path / f"{protocol}.jsonl"), "--log-level", level,
                                      name=protocol)
            for protocol in ("cceb", "processor")
        }
        urls = {protocol: serve.listening() for protocol, serve in served.items()}

        async def drive() -> tuple[list[str], list[str]]:
            return await asyncio.gather(drive_cceb(urls["cceb"], canaries),
                                        drive_processor(urls["processor"], canaries))

        from_cceb, from_processor = asyncio.run(drive())
        statuses = {protocol: serve.stop()[0] for protocol, serve in served.items()}
    finally:
        processes.kill_all()

    # The conversations happened (else the canary proves nothing): the session key is the server's secret.
    replies = [json.loads(text) for text in from_cceb]
    session_keys = [reply["data"]["session_key"] for reply in replies if reply.get("type") == "hello_reply"]
    assert session_keys, from_cceb
    assert from_processor, "the processor answered nothing"
    everything = [*canaries.values(), *session_keys]
    for protocol, serve in served.items():
        assert statuses[protocol] in (0, 1), serve.stderr
        report, log = serve.stdout, serve.stderr
        recording = (tmp_path / f"{protocol}.jsonl").read_text(encoding="utf-8")
        assert "records" in report.splitlines()[-1], report  # the summary: serve stopped as it should
        assert '"from":"client"' in recording, recording
        assert "secret-1" in recording, recording
        assert_clean(report, f"{protocol} serve's standard output at {level}", everything)
        assert_clean(log, f"{protocol} serve's log at {level}", everything)
        assert_clean(recording, f"{protocol} serve's --record file at {level}", everything)
        if level == "debug":
            # websockets did log the handshake (a filter that dropped everything would pass the checks above).
            assert "websockets.server" in log, log
            assert "GET /ws/v1?*** HTTP/1.1" in log, log
        if level in ("debug", "info"):
            assert "connection open" in log, log


#: Subprocesses, sockets or long runs: in the full run only (tests/conftest.py).
pytestmark = pytest.mark.slow
