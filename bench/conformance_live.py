#!/usr/bin/env python3
"""A live conformance run, end to end: `ccproto conformance` against `ccproto serve`, for each protocol (issue 19).

Run: python3 tasks.py bench conformance-live [--max-examples N] [--rounds N]

For each protocol, `ccproto serve PROTOCOL --listen 127.0.0.1:0` (the reference server, which answers within
milliseconds; with `--test-clock` for the CCEB, so the 72-hour rules run live) is started in its own process,
then `ccproto conformance URL --protocol PROTOCOL --role server --max-examples 30 --seed 0` runs against it in
another, timed by the wall clock from start to exit (imports, every conversation, the verdict).  The target is a
clean 30-example run in under 60 s on this project's machine.  The figure is the median of ``--rounds`` runs.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The issue's target for a clean 30-example live run (seconds).
TARGET_SECONDS = 60.0
PROTOCOLS = ("bridge", "processor", "cceb")


def _wait_for(path: Path, pattern: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    """The first match of ``pattern`` in the file ``path`` (what a serve process prints), waiting for it."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        found = re.search(pattern, path.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise SystemExit(f"ccproto serve exited: {path.read_text(encoding='utf-8', errors='replace')}")
        time.sleep(0.05)
    raise SystemExit(f"ccproto serve did not say {pattern!r} within {timeout} s")


def run_once(protocol: str, max_examples: int, folder: Path) -> tuple[float, int, str]:
    """Seconds, exit status and last output line of one live run against a fresh `ccproto serve`."""
    log = folder / f"serve-{protocol}.log"
    serve_args = [sys.executable, "-m", "ccproto", "serve", protocol, "--listen", "127.0.0.1:0"]
    if protocol == "cceb":
        serve_args += ["--test-clock", "127.0.0.1:0"]
    with log.open("wb") as out:
        serve = subprocess.Popen(serve_args, stdout=out, stderr=subprocess.STDOUT)
    try:
        target = _wait_for(log, r"listening on (\S+)", serve)
        command = [sys.executable, "-m", "ccproto", "conformance", target, "--protocol", protocol, "--role", "server",
                   "--max-examples", str(max_examples), "--seed", "0"]
        if protocol == "cceb":
            command += ["--clock", _wait_for(log, r"test clock on (\S+)", serve)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    finally:
        serve.terminate()
        serve.wait(timeout=10)
    lines = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return seconds, done.returncode, lines[0] if lines else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=30, help="conversations per run (default 30)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per protocol (default 3; the median is shown)")
    parser.add_argument("protocols", nargs="*", metavar="PROTOCOL", help="bridge, processor, cceb (default: all)")
    args = parser.parse_args()
    unknown = sorted(set(args.protocols) - set(PROTOCOLS))
    if unknown:
        parser.error(f"unknown protocol(s) {', '.join(unknown)}: choose from {', '.join(PROTOCOLS)}")
    args.protocols = args.protocols or list(PROTOCOLS)
    print(f"ccproto conformance against ccproto serve, {args.max_examples} examples, seed 0, median of "
          f"{args.rounds} runs; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print("| protocol (server under test) | seconds (median) | runs (s)            | verdict | target < 60 s |")
    print("|------------------------------|------------------|---------------------|---------|---------------|")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for protocol in args.protocols:
            runs = [run_once(protocol, args.max_examples, Path(tmp)) for _ in range(args.rounds)]
            seconds = [run[0] for run in runs]
            passed = all(run[1] == 0 for run in runs)
            failed = failed or not passed
            median = statistics.median(seconds)
            label = f"{protocol}{' (with --clock)' if protocol == 'cceb' else ''}"
            shown = ", ".join(f"{s:.1f}" for s in seconds)
            verdict = "PASSED" if passed else "FAILED"
            met = "met" if median < TARGET_SECONDS else "MISSED"
            print(f"| {label:<28} | {median:16.1f} | {shown:<19} | {verdict:<7} | {met:<13} |")
            if not passed:
                print(f"  {protocol}: {next(run[2] for run in runs if run[1] != 0)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
