#!/usr/bin/env python3
"""Run ccproto's fuzz targets (``fuzz/targets.py``) under atheris, for a bounded time.

    python fuzz/run.py [--seconds N] [--jobs J] [TARGET ...]   fuzz each TARGET (default: all), N seconds each
    python fuzz/run.py --reproduce TARGET FILE                 re-run one input without atheris, show the traceback
    python fuzz/run.py --make-seeds                            rebuild fuzz/seeds/ from examples/captures/
    python fuzz/run.py --list                                  the targets

Each target runs in its own process (``--jobs`` of them at once) with libFuzzer's ``-max_total_time=N
-rss_limit_mb=2048 -timeout=10``; its corpus is ``fuzz/corpus/TARGET/`` (seeded from ``fuzz/seeds/TARGET/`` when
empty), what it finds goes to ``fuzz/findings/TARGET/`` (``crash-*``, ``timeout-*``, ``oom-*``) and its output to
``fuzz/logs/TARGET.log``.  One line per target says how many inputs ran, how much new coverage they found and
whether there was a finding; the exit status is 1 if any target found one.  See fuzz/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib
import json
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEEDS = HERE / "seeds"
CAPTURES = ROOT / "examples" / "captures"
#: libFuzzer's artifacts that are findings (``slow-unit-*`` is only a report).
FINDING_PREFIXES = ("crash-", "timeout-", "oom-", "leak-")
#: The seed corpus must stay small enough to commit.
#: A capture larger than this (bytes) seeds only its reader's target.
BIG_CAPTURE = 32_000
MAX_SEED_BYTES = 500 * 1024

_WORKER = "--worker"


def _targets() -> dict[str, Callable[[bytes], None]]:
    """The target table, imported on demand (the worker imports it under atheris's instrumentation instead)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    module = importlib.import_module("targets")
    found: dict[str, Callable[[bytes], None]] = module.TARGETS
    return found


# -- the worker: one target under atheris, in its own process -------------------------------------------------


def _worker(name: str, libfuzzer_args: Sequence[str]) -> None:
    """Fuzz one target; libFuzzer parses ``libfuzzer_args`` (flags, then the corpus directory) and exits."""
    atheris: Any = importlib.import_module("atheris")
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    with atheris.instrument_imports(include=["ccproto", "targets"]):
        # Everything a target may reach, imported now so that it is instrumented (the CLI imports lazily).
        for module in ("ccproto", "ccproto.cli", "ccproto.capture", "ccproto.capture.output", "targets"):
            importlib.import_module(module)
    target = sys.modules["targets"].TARGETS[name]
    atheris.Setup([sys.argv[0], *libfuzzer_args], target)
    atheris.Fuzz()


# -- the runner ------------------------------------------------------------------------------------------------


class _Run:
    """One target's fuzzing process and where its files go."""

    def __init__(self, name: str, work: Path, seconds: int) -> None:
        self.name = name
        self.corpus = work / "corpus" / name
        self.findings = work / "findings" / name
        self.log = work / "logs" / f"{name}.log"
        for folder in (self.corpus, self.findings, self.log.parent):
            folder.mkdir(parents=True, exist_ok=True)
        seeds = SEEDS / name
        if seeds.is_dir() and not any(self.corpus.iterdir()):
            for seed in sorted(seeds.iterdir()):
                shutil.copyfile(seed, self.corpus / seed.name)
        self.before = {p.name for p in self.findings.iterdir()}
        args = [
            f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-timeout=10", "-print_final_stats=1",
            f"-artifact_prefix={self.findings}/", str(self.corpus),
        ]
        self._log_handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), _WORKER, name, "--", *args],
            stdout=self._log_handle, stderr=subprocess.STDOUT, cwd=ROOT,
        )

    def summary(self) -> tuple[bool, str]:
        """Whether the run found something, and its one line."""
        self._log_handle.close()
        text = self.log.read_text(encoding="utf-8", errors="replace")
        runs = _last_int(r"stat::number_of_executed_units:\s*(\d+)", text) or _last_int(r"Done (\d+) runs", text)
        cov = _last_int(r"\bcov: (\d+)", text)
        new = len(re.findall(r"^#\d+\s+NEW\b", text, flags=re.MULTILINE))
        corpus = sum(1 for _ in self.corpus.iterdir())
        artifacts = sorted(p.name for p in self.findings.iterdir()
                           if p.name not in self.before and p.name.startswith(FINDING_PREFIXES))
        found = bool(artifacts) or self.process.returncode != 0
        if artifacts:
            verdict = "FINDING " + ", ".join(str(self.findings / a) for a in artifacts)
        elif found:
            verdict = f"FINDING (exit status {self.process.returncode}, no artifact: see {self.log})"
        else:
            verdict = "no finding"
        line = (f"{self.name:<18} runs={runs if runs is not None else '?'} cov={cov if cov is not None else '?'} "
                f"new={new} corpus={corpus}  {verdict}")
        return found, line


def _last_int(pattern: str, text: str) -> int | None:
    found = re.findall(pattern, text)
    return int(found[-1]) if found else None


def fuzz(names: Sequence[str], *, seconds: int, jobs: int, work: Path) -> int:
    """Fuzz each target for ``seconds``, ``jobs`` at a time; print a line each; 1 if any found something."""
    try:
        importlib.import_module("atheris")
    except ImportError:
        print("atheris is not installed: pip install atheris (Python 3.11 or older wheels)", file=sys.stderr)
        return 2
    waiting, failed = list(names), False
    running: list[_Run] = []
    # A wall-clock guard in case libFuzzer's own limit does not end a process (half-second polls).
    polls_allowed = 2 * (seconds + 300)
    polls: dict[str, int] = {}
    while waiting or running:
        while waiting and len(running) < jobs:
            running.append(_Run(waiting.pop(0), work, seconds))
        time.sleep(0.5)
        for run in list(running):
            polls[run.name] = polls.get(run.name, 0) + 1
            if run.process.poll() is None and polls[run.name] > polls_allowed:
                run.process.kill()
            if run.process.poll() is None:
                continue
            running.remove(run)
            found, line = run.summary()
            failed = failed or found
            print(line, flush=True)
    return 1 if failed else 0


def reproduce(name: str, path: Path) -> int:
    """Run one input through one target without atheris; print the traceback of what escapes."""
    target = _targets()[name]
    data = path.read_bytes()
    try:
        target(data)
    except BaseException:
        traceback.print_exc()
        print(f"{name}: FINDING on {path} ({len(data)} bytes): {data[:200]!r}{'...' if len(data) > 200 else ''}")
        return 1
    print(f"{name}: no finding on {path} ({len(data)} bytes)")
    return 0


# -- the seed corpus -------------------------------------------------------------------------------------------


def _capture_records(path: Path, data: bytes) -> list[dict[str, Any]]:
    """A capture's records as JSON Lines dicts (a HAR's frames as ``raw`` records)."""
    from ccproto.capture import Record, read_har
    from ccproto.capture.har import looks_like_har

    if looks_like_har(data[:4096]):
        return [{"from": r.sender.value, "conn": r.conn, "raw": r.raw}
                for r in read_har(data, file=path.name) if isinstance(r, Record)]
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def make_seeds(out: Path = SEEDS) -> int:
    """Rebuild the seed corpus from ``examples/captures/*``: every message text, capture file and bridge stream."""
    _targets()
    targets: Any = sys.modules["targets"]
    seeds: dict[str, dict[str, bytes]] = {name: {} for name in targets.TARGETS}

    def add(name: str, label: str, data: bytes) -> None:
        digest = hashlib.sha1(data).hexdigest()[:10]
        if digest not in {hashlib.sha1(d).hexdigest()[:10] for d in seeds[name].values()}:
            seeds[name][f"{label}-{digest}"] = data

    for path in sorted(CAPTURES.iterdir()):
        if path.suffix == ".bin":
            continue
        data = path.read_bytes()
        records = _capture_records(path, data)
        for name in targets.TARGETS:
            if len(data) > BIG_CAPTURE and name not in ("har_reader", "jsonl_reader"):
                continue  # a big capture (the CCT HARs: XML bodies) seeds its reader only: the corpus stays small
            for data_in in targets.seed_inputs(name, records, data):
                add(name, path.stem, data_in)
    client = (CAPTURES / "bridge-stream.client.bin").read_bytes()
    server = (CAPTURES / "bridge-stream.server.bin").read_bytes()
    for name, data_in in targets.stream_seeds(client, server):
        add(name, "bridge-stream", data_in)
    # One compressed capture, so the gzip reader starts from something it can read.
    jsonl = (CAPTURES / "processor-clean.jsonl").read_bytes()
    add("validate", "processor-clean-gz", bytes([1]) + gzip.compress(jsonl, mtime=0))
    total = sum(len(d) for found in seeds.values() for d in found.values())
    if total > MAX_SEED_BYTES:
        print(f"the seed corpus would be {total} bytes, over {MAX_SEED_BYTES}", file=sys.stderr)
        return 1
    for name, found in seeds.items():
        folder = out / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for label, data_in in found.items():
            (folder / label).write_bytes(data_in)
    count = sum(len(found) for found in seeds.values())
    print(f"{count} seeds, {total} bytes, in {out}")
    return 0


# -- the command line ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module's docstring)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == [_WORKER]:
        _worker(args_in[1], args_in[3:] if args_in[2:3] == ["--"] else args_in[2:])
        return 0  # not reached: libFuzzer exits the process
    parser = argparse.ArgumentParser(prog="fuzz/run.py", description="Fuzz ccproto's entry points with atheris.")
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="targets to fuzz (default: all)")
    parser.add_argument("--seconds", type=int, default=600, help="seconds per target (default 600)")
    parser.add_argument("--jobs", type=int, default=1, help="targets fuzzed at once (default 1)")
    parser.add_argument("--work", type=Path, default=HERE, metavar="DIR",
                        help="where corpus/, findings/ and logs/ go (default: fuzz/)")
    parser.add_argument("--reproduce", nargs=2, metavar=("TARGET", "FILE"),
                        help="run one input through TARGET without atheris and show the traceback")
    parser.add_argument("--make-seeds", action="store_true", help="rebuild fuzz/seeds/ from examples/captures/")
    parser.add_argument("--list", action="store_true", help="list the targets")
    args = parser.parse_args(args_in)
    if args.make_seeds:
        return make_seeds()
    known = _targets()
    if args.list:
        for name, target in known.items():
            print(f"{name:<18} {(target.__doc__ or '').strip().splitlines()[0]}")
        return 0
    if args.reproduce:
        name, file = args.reproduce
        if name not in known:
            parser.error(f"unknown target {name!r} (--list shows them)")
        return reproduce(name, Path(file))
    unknown = [name for name in args.targets if name not in known]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)} (--list shows them)")
    if args.seconds < 1 or args.jobs < 1:
        parser.error("--seconds and --jobs must be positive")
    return fuzz(args.targets or list(known), seconds=args.seconds, jobs=args.jobs, work=args.work)


if __name__ == "__main__":
    sys.exit(main())
