#!/usr/bin/env python3
"""End-to-end `ccproto validate` throughput and memory on a generated mixed capture.

Run (sets up .venv with the bench extra, then runs this): python3 tasks.py bench
Or directly:  .venv/bin/python bench/validate.py [--records N] [--hand-sample N] [--memory-sizes A,B]

One run prints one table:
* records/s of the floor (`orjson.loads` of each line), of a hand-written
  `json` + `jsonschema` loop (validators built once, from ccproto's published
  schemas; no state machines), and of ccproto (`validate_files`: reading,
  schema, state machines, cross-connection rules, report), as ratios;
* peak memory (peak RSS, VmHWM, of a fresh process, and how much it grew over
  the RSS after its imports) of ccproto validating a 100 k-record and a 1 M-record
  capture: streaming keeps it flat.

The capture mixes all three protocols: 8 connections open at once, each a
complete, valid conversation closed by both sides; CCEB agents (a pool of 200)
reconnect and resume their long-lived sessions.  Every record is valid, so the
figures measure checking, not reporting.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_790_000_000.0
CONCURRENT = 8
AGENTS = 200


def _sample(name: str) -> list[dict[str, Any]]:
    lines = (ROOT / "examples" / "captures" / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _templates() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """(sender, message) conversations of each protocol, from the clean samples, free of warnings."""
    bridge = [(r["from"], r["message"]) for r in _sample("bridge-clean.jsonl")]
    header = bridge[1][1]["header"]
    header["result"] = header.pop("cti.result")  # the sample shows the alternate spelling (a warning)
    processor = [(r["from"], r["message"]) for r in _sample("processor-clean.jsonl")[2:18]]
    cceb = [(r["from"], r["message"]) for r in _sample("cceb-clean.jsonl")
            if r.get("conn") == "agent-1" and "message" in r]
    return {"bridge": bridge, "processor": processor, "cceb": cceb}


def _conversation(protocol: str, index: int, template: list[tuple[str, dict[str, Any]]],
                  agents_seen: set[int]) -> list[tuple[str, str]]:
    """One connection's (sender, message JSON) pairs; CCEB agents resume their session after the first time."""
    messages = [(sender, json.dumps(message, separators=(",", ":"))) for sender, message in template]
    if protocol == "cceb":
        agent = index % AGENTS
        key = f"sk-bench-agent-{agent:04d}-long-lived-session"
        hello, reply = messages[0][1], messages[1][1]
        reply = reply.replace("sk-live-7f3a9c2e-long-lived-key-one", key)
        if agent in agents_seen:
            hello = hello.replace('"long_lived":true', f'"session_key":"{key}"')
            reply = reply.replace('"}}', '","resumed":true}}', 1) if '"resumed"' not in reply else reply
        agents_seen.add(agent)
        messages[0], messages[1] = ("client", hello), ("server", reply)
    return messages


def generate(path: Path, records: int) -> None:
    """Write a capture of exactly ``records`` records: interleaved, complete, closed conversations."""
    templates = _templates()
    protocols = ("bridge", "processor", "cceb")
    agents_seen: set[int] = set()
    started = 0
    open_conns: list[Iterator[str]] = []
    ts = T0

    def connection(number: int) -> Iterator[str]:
        protocol = protocols[number % 3]
        conn = f"{protocol}-{number}"
        for sender, message in _conversation(protocol, number // 3, templates[protocol], agents_seen):
            yield f'{{"ts":{{ts}},"conn":"{conn}","from":"{sender}","protocol":"{protocol}","message":{message}}}'
        for sender in ("client", "server"):
            yield f'{{"ts":{{ts}},"conn":"{conn}","from":"{sender}","protocol":"{protocol}","close":{{"code":1000}}}}'

    written = 0
    with path.open("w", encoding="utf-8") as out:
        while written < records:
            while len(open_conns) < CONCURRENT:
                open_conns.append(connection(started))
                started += 1
            for conn in list(open_conns):
                line = next(conn, None)
                if line is None:
                    open_conns.remove(conn)
                    continue
                ts += 0.005
                out.write(line.replace("{ts}", f"{ts:.3f}") + "\n")
                written += 1
                if written == records:
                    break


def _lines(path: Path, limit: int | None = None) -> list[bytes]:
    with path.open("rb") as handle:
        return list(islice(handle, limit))


def floor_rate(path: Path) -> float:
    """Records per second of `orjson.loads` on every line (the file read into memory first)."""
    import orjson

    lines = _lines(path)
    start = time.perf_counter()
    for line in lines:
        orjson.loads(line)
    return len(lines) / (time.perf_counter() - start)


def _hand_validators() -> Callable[[dict[str, Any]], list[Any]]:
    """What an integrator would write: a Draft 2020-12 validator per published schema, picked by message shape."""
    import jsonschema

    from ccproto.bridge.codec import message_class_for as bridge_class
    from ccproto.cceb.codec import message_class_for as cceb_class
    from ccproto.processor.codec import message_class_for as processor_class

    validators: dict[tuple[str, str], Any] = {}
    for protocol in ("bridge", "processor", "cceb"):
        for schema_path in sorted((ROOT / "schemas" / protocol).glob("*.schema.json")):
            schema = json.loads(schema_path.read_text(encoding="utf-8"))
            name = schema_path.name.removesuffix(".schema.json")
            validators[(protocol, name)] = jsonschema.Draft202012Validator(schema)
    # Routing by shape (a few dict lookups) reuses ccproto's dispatch tables: its cost is negligible here.
    route = {"bridge": bridge_class, "processor": processor_class, "cceb": cceb_class}

    def check(record: dict[str, Any]) -> list[Any]:
        if "message" not in record:
            return []
        protocol, message = record["protocol"], record["message"]
        cls = route[protocol](message)
        return list(validators[(protocol, cls.__name__)].iter_errors(message))

    return check


def hand_rate(path: Path, sample: int) -> tuple[float, int]:
    """Records per second of `json.loads` + jsonschema on the first ``sample`` lines, and errors it found."""
    check = _hand_validators()
    lines = _lines(path, sample)
    errors = 0
    start = time.perf_counter()
    for line in lines:
        errors += len(check(json.loads(line)))
    return len(lines) / (time.perf_counter() - start), errors


_CHILD = r"""
import json, sys, time
from ccproto.capture import validate_files
from ccproto.capture.output import render

def peak_kib():
    # VmHWM: this process's own peak RSS (ru_maxrss would carry the parent's peak across exec).
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

base = peak_kib()
start = time.perf_counter()
report = validate_files([sys.argv[1]], all_connections=False)  # as `ccproto validate` (text, json)
render(report, "json")
elapsed = time.perf_counter() - start
print(json.dumps({"records": report.records, "errors": report.errors, "warnings": report.warnings,
                  "seconds": elapsed, "base_kib": base, "peak_kib": peak_kib()}))
"""


def ccproto_run(path: Path) -> dict[str, Any]:
    """Validate ``path`` end to end in a fresh process: rate, findings, memory."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="records in the big capture (default 1 M)")
    parser.add_argument("--small", type=int, default=100_000, help="records in the small capture (default 100 k)")
    parser.add_argument("--hand-sample", type=int, default=50_000,
                        help="lines the (slow) json+jsonschema loop runs on (default 50 k)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "big.jsonl", Path(tmp) / "small.jsonl"
        print(f"generating {args.records:,} and {args.small:,} records ...", file=sys.stderr, flush=True)
        generate(big, args.records)
        generate(small, args.small)
        size_mb = big.stat().st_size / 1e6
        print("measuring ...", file=sys.stderr, flush=True)
        ours_small = ccproto_run(small)  # first, in fresh processes, while this one holds little
        ours_big = ccproto_run(big)
        floor = floor_rate(big)
        hand, hand_errors = hand_rate(big, args.hand_sample)
    ours = ours_big["records"] / ours_big["seconds"]
    if ours_big["errors"] or hand_errors:
        raise SystemExit("the generated capture must be valid: a benchmark of error reporting measures nothing")
    print(f"mixed capture: {args.records:,} records, {size_mb:,.0f} MB, 3 protocols, {CONCURRENT} connections open "
          f"at once; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print()
    print(f"| {'what':<44} | {'records/s':>10} | {'time vs orjson.loads':>20} |")
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 22}|")
    for label, rate in (
        ("orjson.loads per line (floor)", floor),
        (f"json.loads + jsonschema (first {args.hand_sample:,} lines)", hand),
        ("ccproto validate (schema + state machines)", ours),
    ):
        print(f"| {label:<44} | {rate:>10,.0f} | {floor / rate:>19.1f}x |")
    print()
    print(f"ccproto vs the hand-written loop: {ours / hand:.1f}x faster (target >= 10x)")
    print(f"ccproto vs the floor: {floor / ours:.1f}x slower (target <= 4x)")
    print()
    print(f"| {'records':>10} | {'peak RSS MiB':>12} | {'over imports MiB':>16} |")
    print(f"|{'-' * 12}|{'-' * 14}|{'-' * 18}|")
    for run in (ours_small, ours_big):
        peak, base = run["peak_kib"] / 1024, run["base_kib"] / 1024
        print(f"| {run['records']:>10,} | {peak:>12.1f} | {peak - base:>16.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
