#!/usr/bin/env python3
"""What refusing repeated JSON keys costs (issue 9).

Run: python3 tasks.py bench duplicates      (or .venv/bin/python bench/duplicates.py [--quick])

For each benchmark message (bench/messages.py), microseconds per decode by ccproto with repeated keys refused
(the default) and allowed (``Limits(allow_duplicate_keys=True)``, last wins), in three cases:

* compact text, orjson installed: the fast path; refusing costs one ``orjson.dumps`` and a comparison
  (only orjson's own writing of a value is trusted: quirk J4);
* pretty-printed text (``indent=2``), orjson installed: not orjson's writing, so refusing sends the text to the
  exact (standard-library) path, while allowing keeps the fast path;
* compact text, orjson hidden: the exact path; refusing costs the parser's ``object_pairs_hook``.

Also the bare parsers: ``json`` without and with the hook, ``orjson.loads`` without and with the check.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import codec as report
from messages import MESSAGES, PROTOCOL, VALUES

from ccproto.core import jsonio
from ccproto.core.limits import Limits

ALLOW = Limits(allow_duplicate_keys=True)


def decoder(protocol: str, limits: Limits) -> Callable[[str], object]:
    """``ccproto.<protocol>.decode`` with ``limits``."""
    decode: Callable[..., object] = report.CODECS[protocol].decode
    return lambda text: decode(text, limits=limits)


def micros(function: Callable[[], object], hide: bool = False) -> float:
    """Microseconds per call (best of the benchmark's repeats)."""
    return report.timed(function, hide) * 1e6


def parser_rows(name: str) -> list[tuple[str, float, float]]:
    """The bare parsers, each as (what, allowing, refusing) microseconds."""
    text = MESSAGES[name]
    plain = json.JSONDecoder()
    hooked: Any = getattr(jsonio, "_STRICT_DECODER")  # noqa: B009 - the benchmark measures the private parser

    def checked() -> object:
        value = orjson.loads(text)
        return orjson.dumps(value) == text.encode()

    return [
        ("json parser (object_pairs_hook)", micros(lambda: plain.decode(text)), micros(lambda: hooked.decode(text))),
        ("orjson.loads (+ dumps check)", micros(lambda: orjson.loads(text)), micros(checked)),
    ]


def decode_rows(name: str) -> list[tuple[str, float, float]]:
    """ccproto's decode of one message, each case as (what, allowing, refusing) microseconds."""
    compact = MESSAGES[name]
    pretty = json.dumps(VALUES[name], indent=2)
    allow, refuse = decoder(PROTOCOL[name], ALLOW), decoder(PROTOCOL[name], Limits())
    return [
        ("decode, compact, orjson", micros(lambda: allow(compact)), micros(lambda: refuse(compact))),
        ("decode, pretty, orjson", micros(lambda: allow(pretty)), micros(lambda: refuse(pretty))),
        ("decode, compact, no orjson", micros(lambda: allow(compact), True), micros(lambda: refuse(compact), True)),
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter measurements (rough figures)")
    args = parser.parse_args(argv)
    if args.quick:
        report.TARGET_SECONDS, report.REPEAT = 0.05, 3
    print("| message | what | repeated keys allowed (µs) | refused, the default (µs) | cost |")
    print("|---|---|---|---|---|")
    for name in MESSAGES:
        for what, allowing, refusing in parser_rows(name) + decode_rows(name):
            cost = f"{(refusing / allowing - 1) * 100:+.0f} %"
            print(f"| {name} | {what} | {allowing:.2f} | {refusing:.2f} | {cost} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
