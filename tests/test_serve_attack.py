"""``ccproto serve`` under attack (issue 22): every client's fault is refused, reported and recorded; nothing a
client does crashes serve, grows it without bound or keeps it from stopping.

Each test starts a ``ccproto serve`` subprocess on loopback (as a shared test lab would), attacks it with raw
clients, stops it with a signal and reads what it printed and recorded.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ccproto.capture import validate_capture
from ccproto.core.framing import encode_frame
from ccproto.testing.live import ACCEPT_ERROR, ServeLimits, default_max_connections, limit_accept_errors
from test_cli_live import CCPROTO, FINDING, HOST, SUMMARY, Processes, Serve, lines_of, records

CCPROTO_PYTHON = CCPROTO[:1]  # the interpreter serve runs on (it has websockets)

HELLO = json.dumps({"type": "hello", "uuid": "00000000-0000-4000-8000-000000000001",
                    "data": {"token": "not-a-real-token", "tenant": "acme", "long_lived": False}})
ACTION = {"type": "action", "uuid": "00000000-0000-4000-8000-000000000002",
          "data": {"action": "ChangeAgentStateEvent", "action_details": {"state": "Ready"}}}


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


async def said_hello(url: str) -> Any:
    """A CCEB client past its hello (the reference CCEB takes any token)."""
    websocket = await connect(url + "/ws/v1")
    await websocket.send(HELLO)
    reply = json.loads(await asyncio.wait_for(websocket.recv(), 10))
    assert reply["type"] == "hello_reply", reply
    return websocket


async def answers(websocket: Any, quiet: float = 0.5) -> list[Any]:
    """Everything the server sends until it is quiet for ``quiet`` s or closes."""
    got: list[Any] = []
    try:
        while True:
            got.append(await asyncio.wait_for(websocket.recv(), quiet))
    except (TimeoutError, ConnectionClosed):
        return got


def stopped(serve: Serve, signum: int = signal.SIGINT) -> tuple[int, list[str], str]:
    """Stop serve with ``signum``: (exit status, its lines, its standard error)."""
    serve.popen.send_signal(signum)
    status = serve.wait(30)
    return status, lines_of(serve.stdout), serve.stderr


def codes(lines: list[str]) -> set[str]:
    return {match["code"] for line in lines if (match := FINDING.match(line))}


# -- item 1: deep nesting ---------------------------------------------------------------------------------------


def test_a_deeply_nested_action_is_a_finding_not_a_recursion_error(processes: Processes, tmp_path: Path) -> None:
    recording = tmp_path / "deep.jsonl"
    serve = processes.serve("cceb", "--record", str(recording))
    url = serve.listening()
    deep = '{"a":' * 600 + "1" + "}" * 600  # 3.7 KB that the standard parser takes
    text = json.dumps(ACTION).replace('{"state": "Ready"}', deep)
    assert len(json.loads(text)["data"]["action_details"]) == 1

    async def attack() -> list[Any]:
        websocket = await said_hello(url)
        await websocket.send(text)
        got = await answers(websocket)
        await websocket.close()
        return got

    got = asyncio.run(attack())
    assert not any('"ack"' in str(message) for message in got)  # refused, never acked
    status, lines, stderr = stopped(serve)
    assert "RecursionError" not in stderr
    assert "Traceback" not in stderr
    assert "too-deep" in codes(lines), lines
    assert SUMMARY.match(lines[-1])
    assert " 0 errors" not in lines[-1]
    assert status == 0  # the client's fault, refused as the protocol requires
    # The recording keeps the text as it crossed, and validate finds the same fault in it.
    assert any(finding.code == "too-deep" for finding in validate_capture(recording).findings)


# -- item 2: an oversized bridge frame ----------------------------------------------------------------------------


def test_an_oversized_bridge_frame_is_refused_recorded_and_closed(processes: Processes, tmp_path: Path) -> None:
    recording = tmp_path / "big.jsonl"
    serve = processes.serve("bridge", "--record", str(recording))
    url = serve.listening()
    with socket.create_connection((HOST, port_of(url)), timeout=10) as sock:
        sock.sendall(struct.pack(">I", 0x7FFF_FFFF) + b"{")  # a length prefix of 2 GiB
        sock.settimeout(10)
        received = b""
        while chunk := sock.recv(65536):  # the bridge's first request, then the close: EOF
            received += chunk
    status, lines, stderr = stopped(serve)
    assert "Traceback" not in stderr, stderr
    assert "Unhandled exception" not in stderr, stderr
    assert "frame-too-large" in codes(lines), lines
    closes = [json.loads(line)["close"] for line in recording.read_text().splitlines() if '"close"' in line]
    assert any("frame-too-large" in close["reason"] for close in closes), closes
    assert status == 0


# -- item 4: invalid UTF-8, binary frames -------------------------------------------------------------------------


def test_invalid_utf8_is_refused_by_the_peer_and_stays_invalid_in_the_recording(
    processes: Processes, tmp_path: Path,
) -> None:
    recording = tmp_path / "utf8.jsonl"
    serve = processes.serve("bridge", "--record", str(recording))
    url = serve.listening()
    bad = b'{"header":{"cti.type":"cti.event","cti.name":"x\xff"},"body":{}}'
    with socket.create_connection((HOST, port_of(url)), timeout=10) as sock:
        sock.sendall(encode_frame(bad))
        time.sleep(0.5)
    _status, lines, stderr = stopped(serve)
    assert "Traceback" not in stderr
    found = [line for line in lines if FINDING.match(line)]
    assert any("UTF-8" in line or "surrogate" in line for line in found), lines
    assert "\ufffd" not in recording.read_text(encoding="utf-8")  # never replaced by U+FFFD, which would pass
    replayed = validate_capture(recording)
    assert any("UTF-8" in f.message or "surrogate" in f.message for f in replayed.findings), replayed.findings


@pytest.mark.parametrize("first", ["hello", "action"])
def test_a_binary_frame_is_refused_with_1003_never_acked(first: str, processes: Processes) -> None:
    serve = processes.serve("cceb")
    url = serve.listening()

    async def attack() -> tuple[list[Any], int | None]:
        if first == "hello":
            websocket = await connect(url + "/ws/v1")
            await websocket.send(HELLO.encode())
        else:
            websocket = await said_hello(url)
            await websocket.send(json.dumps(ACTION).encode())
        got = await answers(websocket, quiet=3)
        await websocket.close()
        return got, websocket.close_code

    got, code = asyncio.run(attack())
    assert got == []
    assert code == 1003
    _status, lines, _ = stopped(serve)
    assert any("closed (code 1003)" in match["shown"] for match in records(lines)), lines


# -- item 5: shutdown ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_serve_bridge_while_a_client_floods_it(signum: int, processes: Processes) -> None:
    serve = processes.serve("bridge", "--quiet", "--shutdown-timeout", "2")
    url = serve.listening()
    frame = encode_frame(b'{"header":{"cti.type":"cti.event","cti.name":"noise"},"body":{}}')
    with socket.create_connection((HOST, port_of(url)), timeout=10) as sock:
        sock.setblocking(False)
        deadline = time.monotonic() + 1.5
        sent = 0
        while time.monotonic() < deadline:
            try:
                sent += sock.send(frame * 64)
            except BlockingIOError:
                time.sleep(0.001)
        assert sent > 100_000
        serve.popen.send_signal(signum)
        began = time.monotonic()
        while serve.popen.poll() is None and time.monotonic() - began < 20:  # keep flooding while it stops
            try:
                sock.send(frame * 64)
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                break
    status = serve.wait(20)
    lines, stderr = lines_of(serve.stdout), serve.stderr
    assert time.monotonic() - began < 15  # --shutdown-timeout 2 plus the summary: bounded, whatever the client does
    assert SUMMARY.match(lines[-1]) or SUMMARY.match(lines[-2]), lines[-3:]
    assert "Traceback" not in stderr, stderr
    assert "CancelledError" not in stderr, stderr
    assert status == 1 or status == 0


def test_idle_clients_are_closed_with_1001_on_sigint_without_tracebacks(processes: Processes, tmp_path: Path) -> None:
    recording = tmp_path / "idle.jsonl"
    serve = processes.serve("cceb", "--record", str(recording))
    url = serve.listening()

    async def idle() -> list[int | None]:
        sockets = [await said_hello(url) for _ in range(5)]
        await asyncio.sleep(0.3)
        serve.popen.send_signal(signal.SIGINT)
        closes = []
        for websocket in sockets:
            await answers(websocket, quiet=10)
            closes.append(websocket.close_code)
        return closes

    assert asyncio.run(idle()) == [1001] * 5
    status = serve.wait(30)
    lines, stderr = lines_of(serve.stdout), serve.stderr
    assert "Traceback" not in stderr, stderr
    assert "CancelledError" not in stderr, stderr
    assert status == 0
    assert SUMMARY.match(lines[-1]), lines[-3:]
    server_closes = [json.loads(line) for line in recording.read_text().splitlines() if '"close"' in line]
    assert sum(r["from"] == "server" and r["close"].get("code") == 1001 for r in server_closes) == 5


# -- item 6: hello timeout, connection cap ------------------------------------------------------------------------


def test_a_client_that_never_says_hello_is_closed_and_a_good_client_gets_in(processes: Processes) -> None:
    serve = processes.serve("cceb", "--hello-timeout", "1", "--max-connections", "4")
    url = serve.listening()

    async def lockout() -> tuple[list[int | None], int | None, str]:
        silent = [await connect(url + "/ws/v1") for _ in range(4)]
        refused = await connect(url + "/ws/v1")
        await answers(refused, quiet=5)
        for websocket in silent:
            await answers(websocket, quiet=5)  # closed by serve after --hello-timeout
        good = await said_hello(url)  # the slots are free again
        await good.close()
        return [websocket.close_code for websocket in silent], refused.close_code, str(refused.close_reason)

    silent_codes, refused_code, refused_reason = asyncio.run(lockout())
    assert silent_codes == [1008] * 4
    assert refused_code == 1013
    assert "too many connections" in refused_reason
    _status, lines, stderr = stopped(serve)
    assert any(line.startswith("1 connection(s) refused") for line in lines), lines
    assert "Traceback" not in stderr


# -- item 8: what the codec refuses, the live check refuses too ---------------------------------------------------


@pytest.mark.parametrize(("text", "code"), [
    (json.dumps(ACTION)[:-1] + ',"type":"ack"}', "duplicate-key"),
    (json.dumps(ACTION)[:-2] + ',"x":NaN}}', "decode-error"),
    (json.dumps(ACTION)[:-2] + ',"x":1e999}}', "decode-error"),
])
def test_the_live_report_sees_what_the_codec_refused(text: str, code: str, processes: Processes) -> None:
    serve = processes.serve("cceb")
    url = serve.listening()

    async def send() -> list[Any]:
        websocket = await said_hello(url)
        await websocket.send(text)
        got = await answers(websocket)
        await websocket.close()
        return got

    got = asyncio.run(send())
    assert not any('"ack"' in str(message) for message in got)
    _status, lines, _ = stopped(serve)
    # Before issue 22 the repeated key read as an ack, and NaN/1e999 gave no finding.
    assert code in codes(lines), lines
    assert not any(match["shown"].startswith("ack") for match in records(lines))


# -- the soak/flood test ------------------------------------------------------------------------------------------

#: The flooder, in a process of its own (so its sending does not slow our well-behaved client down): SILENT
#: connections that never say hello, and one client that says hello and then sends COUNT refused messages.
FLOODER = """
import asyncio, json, sys
from websockets.asyncio.client import connect

async def main(url, count, silent, hello, last):
    quiet = [await connect(url) for _ in range(silent)]
    websocket = await connect(url)
    await websocket.send(hello)
    await websocket.recv()
    for _ in range(count):
        await websocket.send("{}")
    await websocket.send(last)  # acked once serve has read everything before it
    while json.loads(await websocket.recv()).get("type") != "ack":
        pass
    await websocket.close()
    for other in quiet:
        await other.close()
    print("flooded", flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]))
"""
#: What the flood is (measured with these on 2 cores: see the issue 22 note).
FLOOD_MESSAGES, FLOOD_SILENT, GOOD_ROUND_TRIPS = 40_000, 50, 300
#: The bounds the test holds serve to.  Before issue 22 the flood kept ~100 MB (2.4 KB per refused message)
#: for good; now it keeps at most 1,000 findings and 100 errors per peer.
P99_BOUND, RSS_MARGIN = 0.5, 30 * 2**20


def rss(pid: int) -> int:
    """Resident set size of a process (bytes), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident set size from /proc")
def test_a_flood_neither_slows_a_good_client_down_nor_grows_serve(processes: Processes, tmp_path: Path) -> None:
    serve = processes.serve("cceb", "--quiet", "--hello-timeout", "30")
    url = serve.listening() + "/ws/v1"
    pid = serve.popen.pid

    async def good_client(rounds: int) -> list[float]:
        websocket = await said_hello(url[: -len("/ws/v1")])
        waits = []
        for number in range(rounds):
            action = ACTION | {"uuid": f"00000000-0000-4000-8000-{number:012d}"}
            began = time.perf_counter()
            await websocket.send(json.dumps(action))
            while json.loads(await asyncio.wait_for(websocket.recv(), 30)).get("type") != "ack":
                pass
            waits.append(time.perf_counter() - began)
            await asyncio.sleep(0.01)
        await websocket.close()
        return waits

    asyncio.run(good_client(50))  # warm up: imports, caches, the first connection
    before = rss(pid)
    flooder = processes.start([*CCPROTO_PYTHON, "-c", FLOODER, url, str(FLOOD_MESSAGES), str(FLOOD_SILENT), HELLO,
                               json.dumps(ACTION)],
                              "flooder")
    waits = asyncio.run(good_client(GOOD_ROUND_TRIPS))
    assert flooder.wait(120) == 0, flooder.stderr
    time.sleep(1.0)  # the silent connections' closes are read too
    after = rss(pid)
    status, lines, stderr = stopped(serve)
    p99 = sorted(waits)[int(len(waits) * 0.99) - 1]
    print(f"p99 {p99 * 1000:.1f} ms; RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MB")  # for the note (-s)
    assert p99 < P99_BOUND
    assert after - before < RSS_MARGIN
    assert "Traceback" not in stderr
    summary = SUMMARY.match(lines[-1])
    assert summary, lines[-3:]
    assert int(summary["errors"]) >= FLOOD_MESSAGES  # every refused message counted, though few are kept
    assert status == 0


def test_a_client_silent_after_its_hello_is_closed_after_the_idle_timeout(processes: Processes) -> None:
    serve = processes.serve("cceb", "--idle-timeout", "1")
    url = serve.listening()

    async def idle() -> tuple[int | None, float]:
        websocket = await said_hello(url)
        began = time.monotonic()
        await answers(websocket, quiet=10)
        return websocket.close_code, time.monotonic() - began

    code, waited = asyncio.run(idle())
    assert code == 1000
    assert 0.9 < waited < 9  # closed by the idle timeout, not by anything else
    status, lines, _ = stopped(serve)
    assert any("nothing received for 1 s" in match["shown"] for match in records(lines)), lines
    assert status == 0


# -- accept errors and the default connection cap (no sockets needed) ---------------------------------------------


class FakeLoop:
    """What limit_accept_errors needs of an event loop: a clock and an exception handler."""

    def __init__(self) -> None:
        self.now = 100.0
        self.handler: Any = None
        self.reported: list[dict[str, Any]] = []

    def time(self) -> float:
        return self.now

    def get_exception_handler(self) -> Any:
        return lambda loop, context: self.reported.append(context)

    def set_exception_handler(self, handler: Any) -> None:
        self.handler = handler


def test_accept_errors_are_reported_at_most_once_a_second_with_the_count() -> None:
    loop = FakeLoop()
    limit_accept_errors(loop)  # type: ignore[arg-type]
    error = {"message": ACCEPT_ERROR, "exception": OSError(24, "Too many open files")}
    for _ in range(100):  # what Python 3.11 reports for one retry of a backlog of 100
        loop.handler(loop, dict(error))
    assert len(loop.reported) == 1
    loop.now += 1.0
    loop.handler(loop, dict(error))
    assert len(loop.reported) == 2
    assert "99 more since the last report" in loop.reported[1]["message"]
    assert "--max-connections" in loop.reported[1]["message"]
    assert "exception" not in loop.reported[1]  # one line, not a traceback each time
    loop.handler(loop, {"message": "something else"})
    assert loop.reported[-1] == {"message": "something else"}  # other errors pass untouched


def test_the_default_connection_cap_leaves_file_descriptors_for_everything_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda which: (256, 4096))
    assert default_max_connections() == 192
    assert ServeLimits().max_connections == 192
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1_048_576, 1_048_576))
    assert default_max_connections() == 1024


#: Subprocesses, sockets or long runs: in the full run only (tests/conftest.py).
pytestmark = pytest.mark.slow
