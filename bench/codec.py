#!/usr/bin/env python3
"""Codec and state-machine performance against the libraries an integrator would otherwise use (issue 8).

Run: python3 tasks.py bench          (sets up .venv with the bench extra, then runs this)
     .venv/bin/python bench/codec.py [--quick]

One run, side by side, every figure also as a ratio to the floor:

* per message (bench/messages.py: one per protocol plus a 10- and a 50-member team-status event) and on a
  mixed stream of the four representative ones: decode + full validation and encode, for ccproto (with
  orjson, and with it hidden: the standard-library path), ``json`` + ``jsonschema``, pydantic v2 and msgspec
  (bench/rivals.py), against ``orjson.loads`` / ``orjson.dumps`` of the same message (the floor);
* state-machine step throughput per protocol through a connection pair (bench/machines.py);
* ``import`` times and ``ccproto --version`` wall time (fresh processes);
* retained memory per decoded message.

Before timing, every library must accept each message, write it back as the same JSON value, and reject every
invalid variant (rivals.check_agreement): a benchmark of libraries that check different things measures nothing.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.metadata
import os
import statistics
import subprocess
import sys
import timeit
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import machines
import rivals
from messages import MESSAGES, PROTOCOL, mixed_stream

import ccproto
from ccproto import bridge, cceb, processor
from ccproto.core import jsonio

CODECS: dict[str, Any] = {"bridge": bridge, "processor": processor, "cceb": cceb}
MIXED = ("agentinfo", "failure", "action", "team10")
#: Seconds each measurement aims for (best of REPEAT runs of about this long).
TARGET_SECONDS = 0.2
REPEAT = 5


def seconds_per_call(function: Callable[[], object], target: float = TARGET_SECONDS) -> float:
    """Best-of-``REPEAT`` time of one call, each repeat running about ``target`` seconds."""
    number = 1
    while True:
        elapsed = timeit.timeit(function, number=number)
        if elapsed > target / 10:
            break
        number *= 4
    number = max(1, int(number * target / elapsed))
    return min(timeit.repeat(function, number=number, repeat=REPEAT)) / number


class Hidden:
    """ccproto with orjson hidden (the standard-library path), as a context manager."""

    def __enter__(self) -> None:
        self.saved = getattr(jsonio, "_orjson")  # noqa: B009 - private on purpose: the benchmark hides it
        setattr(jsonio, "_orjson", None)  # noqa: B010

    def __exit__(self, *exc: object) -> None:
        setattr(jsonio, "_orjson", self.saved)  # noqa: B010


def timed(function: Callable[[], object], hide: bool) -> float:
    """:func:`seconds_per_call`, with orjson hidden from ccproto when ``hide``."""
    if not hide:
        return seconds_per_call(function)
    with Hidden():
        return seconds_per_call(function)


def ccproto_decoder(protocol: str) -> Callable[[str], object]:
    """``ccproto.<protocol>.decode``."""
    decode: Callable[[str], object] = CODECS[protocol].decode
    return decode


def ccproto_encoder(protocol: str) -> Callable[[object], str]:
    """``ccproto.<protocol>.encode``."""
    encode: Callable[[object], str] = CODECS[protocol].encode
    return encode


# -- decode and encode ---------------------------------------------------------------------------------------

Row = tuple[str, list[float]]  # label, seconds per message for each column


def decode_rows(names: Sequence[str]) -> tuple[list[float], list[Row]]:
    """The floor and each library's seconds per decode, per message."""
    floor = [seconds_per_call(functools.partial(orjson.loads, MESSAGES[n])) for n in names]
    rows: list[Row] = []
    libraries: list[tuple[str, Callable[[str], Callable[[str], object]], bool]] = [
        ("ccproto", ccproto_decoder, False),
        ("ccproto, no orjson", ccproto_decoder, True),
        *((rival.name, rival.decoder, False) for rival in rivals.RIVALS),
    ]
    for label, factory, hide in libraries:
        times = []
        for name in names:
            decode = factory(PROTOCOL[name])
            text = MESSAGES[name]
            times.append(timed(functools.partial(decode, text), hide))
        rows.append((label, times))
    return floor, rows


def encode_rows(names: Sequence[str]) -> tuple[list[float], list[Row]]:
    """The floor (orjson.dumps of the message's dict) and each library's seconds per encode, per message."""
    values = [orjson.loads(MESSAGES[n]) for n in names]
    floor = [seconds_per_call(functools.partial(orjson.dumps, value)) for value in values]
    rows: list[Row] = []
    libraries: list[tuple[str, Callable[[str], Callable[[str], object]], Callable[[str], Any], bool]] = [
        ("ccproto", ccproto_decoder, ccproto_encoder, False),
        ("ccproto, no orjson", ccproto_decoder, ccproto_encoder, True),
        *((rival.name, rival.decoder, rival.encoder, False) for rival in rivals.RIVALS),
    ]
    for label, decoder, encoder, hide in libraries:
        times = []
        for name in names:
            message = decoder(PROTOCOL[name])(MESSAGES[name])
            encode = encoder(PROTOCOL[name])
            times.append(timed(functools.partial(encode, message), hide))
        rows.append((label, times))
    return floor, rows


def mixed_rates() -> tuple[float, list[tuple[str, float]]]:
    """Seconds per message of the mixed stream (one of each of K1-K4, each through its protocol's decoder)."""
    stream = mixed_stream()
    assert [MESSAGES[n] for n in MIXED] == stream

    def run(decoders: list[Callable[[str], object]]) -> Callable[[], None]:
        pairs = list(zip(decoders, stream, strict=True))

        def go() -> None:
            for decode, text in pairs:
                decode(text)

        return go

    floor = seconds_per_call(run([orjson.loads] * len(stream))) / len(stream)
    results = []
    for label, factory, hide in (("ccproto", ccproto_decoder, False), ("ccproto, no orjson", ccproto_decoder, True),
                                 *((r.name, r.decoder, False) for r in rivals.RIVALS)):
        results.append((label, timed(run([factory(PROTOCOL[n]) for n in MIXED]), hide) / len(stream)))
    return floor, results


# -- imports, memory ------------------------------------------------------------------------------------------


def wall_ms(command: list[str], runs: int = 7) -> float:
    """Median wall time of a fresh process, in milliseconds."""
    times = []
    for _ in range(runs):
        start = timeit.default_timer()
        subprocess.run(command, check=True, capture_output=True)
        times.append((timeit.default_timer() - start) * 1000)
    return statistics.median(times)


def import_times() -> list[tuple[str, float]]:
    """Milliseconds over a bare interpreter's start-up, for each import (and ``ccproto --version``)."""
    python = sys.executable
    bare = wall_ms([python, "-c", "pass"])
    script = Path(python).parent / "ccproto"
    rows = [
        ("import ccproto", wall_ms([python, "-c", "import ccproto"]) - bare),
        ("import ccproto.bridge", wall_ms([python, "-c", "import ccproto.bridge"]) - bare),
        ("import ccproto.processor", wall_ms([python, "-c", "import ccproto.processor"]) - bare),
        ("import ccproto.cceb", wall_ms([python, "-c", "import ccproto.cceb"]) - bare),
        ("import all three protocols", wall_ms([python, "-c", "import ccproto.bridge, ccproto.processor, "
                                                 "ccproto.cceb"]) - bare),
        ("import pydantic (for scale)", wall_ms([python, "-c", "import pydantic; pydantic.BaseModel"]) - bare),
    ]
    if script.exists():
        rows.append(("ccproto --version (wall, incl. start-up)", wall_ms([str(script), "--version"])))
    rows.append(("python -c pass (wall, the start-up itself)", bare))
    return rows


def retained_bytes(decode: Callable[[str], object], text: str, count: int = 2000) -> float:
    """Bytes still allocated per decoded message while ``count`` of them are kept."""
    texts = [text.replace("}", "} ", 1) if i % 2 else text for i in range(count)]  # distinct text objects
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    kept = [decode(t) for t in texts]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    del kept
    return size / count


def memory_rows(names: Sequence[str]) -> list[Row]:
    """Retained bytes per decoded message, per library."""
    rows: list[Row] = [("dict (orjson.loads)", [retained_bytes(orjson.loads, MESSAGES[n]) for n in names])]
    rows.append(("ccproto", [retained_bytes(ccproto_decoder(PROTOCOL[n]), MESSAGES[n]) for n in names]))
    for rival in rivals.RIVALS:
        if rival.name.startswith("json"):
            continue  # the same dicts as json.loads
        rows.append((rival.name, [retained_bytes(rival.decoder(PROTOCOL[n]), MESSAGES[n]) for n in names]))
    return rows


# -- output ---------------------------------------------------------------------------------------------------


def table(title: str, names: Sequence[str], floor: list[float], rows: list[Row], floor_label: str) -> None:
    """A markdown table: each cell is microseconds and the ratio to the floor."""
    sizes = [f"{len(MESSAGES[n].encode()):,} B" for n in names]
    head = [f"{n} ({s})" for n, s in zip(names, sizes, strict=True)]
    print(f"{title}: microseconds per message (x the floor)")
    print()
    print("| " + " | ".join([f"{'':<22}", *(f"{h:>18}" for h in head)]) + " |")
    print("|" + "|".join(["-" * 24, *("-" * 20 for _ in head)]) + "|")
    print("| " + " | ".join([f"{floor_label:<22}", *(f"{t * 1e6:>9.2f}  (1.0x)" for t in floor)]) + " |")
    for label, times in rows:
        cells = [f"{t * 1e6:>9.2f} ({t / f:>4.1f}x)" for t, f in zip(times, floor, strict=True)]
        print("| " + " | ".join([f"{label:<22}", *(f"{c:>18}" for c in cells)]) + " |")
    print()


def main(argv: list[str] | None = None) -> int:
    """Run every measurement once and print the report (paste it into docs/performance.md)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter measurements (rough figures, for a check)")
    args = parser.parse_args(argv)
    global TARGET_SECONDS
    if args.quick:
        TARGET_SECONDS = 0.02
    problems = rivals.check_agreement()
    if problems:
        print("the libraries do not accept and reject the same inputs:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    names = list(MESSAGES)
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}"
                         for name in ("orjson", "pydantic", "msgspec", "jsonschema"))
    print(f"ccproto {ccproto.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {versions}; "
          "every library accepts each message, writes it back as the same JSON value and rejects its invalid "
          "variants (bench/messages.py)")
    print()
    floor, rows = decode_rows(names)
    table("Decode + full validation", names, floor, rows, "orjson.loads (floor)")
    mixed_floor, mixed = mixed_rates()
    print("Mixed stream (agentinfo, failure, action, team10 in turn, each through its protocol's decoder):")
    print()
    print(f"| {'':<22} | {'messages/s':>10} | {'x orjson.loads':>14} |")
    print(f"|{'-' * 24}|{'-' * 12}|{'-' * 16}|")
    print(f"| {'orjson.loads (floor)':<22} | {1 / mixed_floor:>10,.0f} | {1.0:>13.1f}x |")
    for label, seconds in mixed:
        print(f"| {label:<22} | {1 / seconds:>10,.0f} | {seconds / mixed_floor:>13.1f}x |")
    print()
    ours = dict(mixed)
    pydantic_mixed = next(s for label, s in mixed if label.startswith("pydantic"))
    print(f"target: mixed decode faster than pydantic v2: {pydantic_mixed / ours['ccproto']:.2f}x as fast "
          f"({'met' if ours['ccproto'] < pydantic_mixed else 'MISSED'})")
    print(f"target: mixed decode within 3x orjson.loads: {ours['ccproto'] / mixed_floor:.1f}x "
          f"({'met' if ours['ccproto'] <= 3 * mixed_floor else 'MISSED'})")
    print()
    efloor, erows = encode_rows(names)
    table("Encode (with full output validation for ccproto, jsonschema)", names, efloor, erows,
          "orjson.dumps (floor)")
    worst = max(t / f for t, f in zip(erows[0][1], efloor, strict=True))
    best = min(t / f for t, f in zip(erows[0][1], efloor, strict=True))
    print(f"target: encode within 3x orjson.dumps: {best:.1f}x-{worst:.1f}x ({'met' if worst <= 3 else 'MISSED'})")
    print()
    print("State machines: messages/s through a connection pair (bench/machines.py)")
    print()
    rates = machines.step_rates(seconds=0.3 if args.quick else 1.5)
    print(f"| {'protocol':<10} | {'full (codec + machine)':>22} | {'machine only':>12} |")
    print(f"|{'-' * 12}|{'-' * 24}|{'-' * 14}|")
    for protocol, rate in rates.items():
        print(f"| {protocol:<10} | {rate['full']:>22,.0f} | {rate['machine']:>12,.0f} |")
    print()
    print("Start-up: milliseconds (median of 7 fresh processes)")
    print()
    print(f"| {'':<44} | {'ms':>6} |")
    print(f"|{'-' * 46}|{'-' * 8}|")
    for label, ms in import_times():
        print(f"| {label:<44} | {ms:>6.1f} |")
    print()
    print("Retained memory: bytes per decoded message, while 2,000 are kept")
    print()
    mem_names = ["agentinfo", "team10"]
    print("| " + " | ".join([f"{'':<22}", *(f"{n:>10}" for n in mem_names)]) + " |")
    print("|" + "|".join(["-" * 24, *("-" * 12 for _ in mem_names)]) + "|")
    for label, sizes in memory_rows(mem_names):
        print("| " + " | ".join([f"{label:<22}", *(f"{s:>10,.0f}" for s in sizes)]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
