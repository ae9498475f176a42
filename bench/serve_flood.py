#!/usr/bin/env python3
"""`ccproto serve` under a flood (issue 22): the server's memory before and after, a good client's latency meanwhile.

Run: .venv/bin/python bench/serve_flood.py [--messages N] [--silent N] [--rounds N]

For each scenario a fresh ``ccproto serve`` subprocess (``--quiet``) is started on loopback; a flooder process
attacks it while a well-behaved CCEB client (this process) sends actions one at a time and times each ack. The
resident set size of serve is read from /proc after a warm-up and again once the flood has been read and the
flooder has left. Scenarios:

* **refused**: after its hello, the flooder sends N ``{}`` (each refused by the CCEB: a peer error and a finding);
* **never-acked**: the flooder sends N valid actions and never acks a notification (serve plays a CCEB that sends a
  notification for every state change: they pile up in flight until ``max_pending``, then are refused);
* **bridge**: N refused frames to the bridge (a CTI client's event with no session).

Before issue 22 (measured by the issue's tester): 100,000 ``{}`` took serve from 46 to 295 MB, kept after the client
left; 100,000 never-acked actions, 385 MB; the good client's p99 reached 535 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

HOST = "127.0.0.1"
HELLO = json.dumps({"type": "hello", "uuid": "00000000-0000-4000-8000-000000000001",
                    "data": {"token": "not-a-real-token", "tenant": "acme", "long_lived": False}})


def action(number: int) -> str:
    """A valid action (a state change the reference CCEB acks)."""
    return json.dumps({"type": "action", "uuid": f"00000000-0000-4000-8000-{number:012d}",
                       "data": {"action": "ChangeAgentStateEvent", "action_details": {"state": "Ready"}}})


FLOODER = """
import asyncio, json, socket, struct, sys
from websockets.asyncio.client import connect

async def cceb(url, count, silent, hello, kind):
    quiet = [await connect(url) for _ in range(silent)]
    websocket = await connect(url, max_queue=None)
    await websocket.send(hello)
    await websocket.recv()
    for number in range(count):
        if kind == "refused":
            await websocket.send("{}")
        else:
            await websocket.send(json.dumps({"type": "action", "uuid": "10000000-0000-4000-8000-%012d" % number,
                "data": {"action": "ChangeAgentStateEvent", "action_details": {"state": "Ready"}}}))
    await websocket.close()
    for other in quiet:
        await other.close()

def bridge(port, count):
    frame = json.dumps({"header": {"type": "cti.event", "name": "cti.event.noise"}, "body": {}}).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall((struct.pack(">I", len(frame)) + frame) * count)

if sys.argv[1] == "bridge":
    bridge(int(sys.argv[2]), int(sys.argv[3]))
else:
    asyncio.run(cceb(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[1]))
"""


def rss(pid: int) -> float:
    """Resident set size of a process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


#: serve's options besides --listen and --quiet (``--serve-args``; "" for a serve older than issue 22).
SERVE_ARGS = ["--hello-timeout", "60"]


def start_serve(protocol: str) -> tuple[subprocess.Popen[str], str]:
    serve = subprocess.Popen([sys.executable, "-m", "ccproto", "serve", protocol, "--listen", f"{HOST}:0", "--quiet",
                              *SERVE_ARGS], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert serve.stdout is not None
    first = serve.stdout.readline().split()
    return serve, first[2]  # "listening on URL (Peer)"


async def good_client(url: str, rounds: int, pause: float = 0.01) -> list[float]:
    """Round trips (seconds) of actions sent one at a time, each waiting for its ack."""
    websocket = await connect(url + "/ws/v1")
    await websocket.send(HELLO)
    await websocket.recv()
    waits = []
    for number in range(rounds):
        began = time.perf_counter()
        await websocket.send(action(number))
        while json.loads(await asyncio.wait_for(websocket.recv(), 60)).get("type") != "ack":
            pass
        waits.append(time.perf_counter() - began)
        await asyncio.sleep(pause)
    await websocket.close()
    return waits


def scenario(kind: str, messages: int, silent: int) -> dict[str, float]:
    protocol = "bridge" if kind == "bridge" else "cceb"
    serve, url = start_serve(protocol)
    try:
        if protocol == "cceb":
            asyncio.run(good_client(url, 50))  # warm up
        else:
            time.sleep(1.0)
        before = rss(serve.pid)
        args = (["bridge", url.rsplit(":", 1)[1], str(messages)] if protocol == "bridge" else
                [kind, url + "/ws/v1", str(messages), str(silent), HELLO])
        began = time.perf_counter()
        flooder = subprocess.Popen([sys.executable, "-c", FLOODER, *args])
        # The good client's latency is measured on the CCEB (the bridge has no request a client starts).
        waits = asyncio.run(good_client(url, 300)) if protocol == "cceb" else []
        flooder.wait(600)
        flooded = time.perf_counter() - began
        peak = rss(serve.pid)
        time.sleep(3.0)  # serve reads what is left of the flood; the connections close
        after = rss(serve.pid)
        waits.sort()
        return {"before_mb": before, "peak_mb": peak, "after_mb": after, "flood_s": flooded,
                "p50_ms": waits[len(waits) // 2] * 1000 if waits else float("nan"),
                "p99_ms": waits[int(len(waits) * 0.99) - 1] * 1000 if waits else float("nan")}
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--silent", type=int, default=50)
    parser.add_argument("--scenarios", nargs="*", default=["refused", "never-acked", "bridge"])
    parser.add_argument("--serve-args", default=" ".join(SERVE_ARGS),
                        help="serve's other options (\"\" to measure a serve older than issue 22: PYTHONPATH=OLD/src)")
    args = parser.parse_args()
    SERVE_ARGS[:] = args.serve_args.split()
    for kind in args.scenarios:
        result = scenario(kind, args.messages, args.silent)
        latency = (f"; good client p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
                   if result["p99_ms"] == result["p99_ms"] else "")
        print(f"{kind}: {args.messages} messages in {result['flood_s']:.1f} s; serve RSS {result['before_mb']:.1f} -> "
              f"{result['peak_mb']:.1f} (at the end of the flood) -> {result['after_mb']:.1f} MB (3 s later)"
              f"{latency}", flush=True)


if __name__ == "__main__":
    main()
