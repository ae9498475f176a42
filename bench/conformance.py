#!/usr/bin/env python3
"""How well the conformance harness finds the planted bugs: caught, shrunk length and time, over several seeds.

Run: python3 tasks.py bench conformance [--seeds N] [--max-examples N] [BUG ...]

Every planted-bug peer of the mutation check (``tests/planted_*.py``, made as
``tests/test_conformance_mutations.py`` makes them) is run through ``run_conformance``
under hypothesis's default settings with the example database off, once
derandomized (what the mutation test runs first) and then N-1 times with random
seeds.  For each bug the table gives how many runs caught it, the records of the
shrunk capture (smallest, median, largest over the runs that caught it) and the
median time of a run, shrinking included.  ``--max-examples`` lowers the budget
to see how close a bug comes to surviving.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ccproto.testing.conformance import run_conformance
from ccproto.testing.harness import PeerAdapter
from test_conformance_mutations import PLANTED, first_failure, make_peer


def measure(protocol: str, bug: str, seeds: int, max_examples: int | None) -> str:
    """One table row for one planted bug."""
    cls = PLANTED[protocol][bug]
    base = settings(settings.get_profile("default"), database=None)
    if max_examples is not None:
        base = settings(base, max_examples=max_examples)
    lengths: list[int] = []
    seconds: list[float] = []
    for attempt in range(seeds):
        chosen = settings(base, derandomize=attempt == 0)
        start = time.perf_counter()
        failure = first_failure(
            lambda: run_conformance(protocol, cls.role, lambda: PeerAdapter(make_peer(cls)), settings=chosen)  # noqa: B023
        )
        seconds.append(time.perf_counter() - start)
        if failure is not None:
            lengths.append(len(failure.capture.splitlines()))
    shrunk = f"{min(lengths)} / {statistics.median(lengths):g} / {max(lengths)}" if lengths else "-"
    return f"| {protocol} | `{bug}` | {len(lengths)}/{seeds} | {shrunk} | {statistics.median(seconds):.1f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bugs", nargs="*", help="planted-bug ids (default: all)")
    parser.add_argument("--seeds", type=int, default=5, help="runs per bug: derandomized, then random (5)")
    parser.add_argument("--max-examples", type=int, default=None, help="lower hypothesis's default budget")
    args = parser.parse_args()
    known = {bug for bugs in PLANTED.values() for bug in bugs}
    if unknown := set(args.bugs) - known:
        parser.error(f"unknown bug(s) {sorted(unknown)}; known: {sorted(known)}")
    print("| protocol | planted bug | caught | shrunk records (min / median / max) | median s |")
    print("|---|---|---|---|---|")
    for protocol, bugs in PLANTED.items():
        for bug in bugs:
            if not args.bugs or bug in args.bugs:
                print(measure(protocol, bug, args.seeds, args.max_examples), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
