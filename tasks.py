#!/usr/bin/env python3
"""The project's commands; needs nothing but Python 3.11+ (it makes .venv itself).

    python3 tasks.py demo     set up (ccproto alone: attrs, cattrs, jsonschema), then run `ccproto validate` on
                              the bundled sample captures
    python3 tasks.py test     set up (with the dev extra), then run the whole suite: pytest (coverage-gated),
                              mypy --strict, ruff
                              (where npm exists, `npm ci` in tools/interop first: the Node.js checkers some tests run)
    python3 tasks.py schemas  regenerate schemas/ from the models
    python3 tasks.py docs     regenerate the generated parts of docs/
    python3 tasks.py bench    set up (with the bench extra), then run the codec benchmark (bench/codec.py);
                              `bench validate [options]` runs the `ccproto validate` benchmark (bench/validate.py),
                              `bench duplicates` what refusing repeated JSON keys costs (bench/duplicates.py),
                              `bench conformance` how the harness finds the planted bugs (bench/conformance.py),
                              `bench conformance-live` a live 30-example run against `ccproto serve`
                              (bench/conformance_live.py), `bench cluster` one process, --jobs 2 and a
                              2-worker Dask LocalCluster on a rotated 1 M-record capture (bench/cluster.py)
    python3 tasks.py fuzz     set up (with the fuzz extra: atheris), then fuzz every entry point for a bounded
                              time (fuzz/run.py; `fuzz --seconds 600 [TARGET ...]`, see fuzz/README.md)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".ccproto-installed"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
#: The independent Node.js checkers of the published schemas (Ajv, the AsyncAPI parser, Modelina), pinned.
INTEROP = ROOT / "tools" / "interop"
#: The bundled samples (the arguments of `ccproto validate`) and the exit status it must give on each.
SAMPLES: dict[tuple[str, ...], int] = {
    ("examples/captures/bridge-clean.jsonl",): 0,
    ("examples/captures/bridge-faulty.jsonl",): 1,
    ("examples/captures/processor-clean.jsonl",): 0,
    ("examples/captures/processor-faulty.jsonl",): 1,
    ("examples/captures/cceb-clean.jsonl",): 0,
    ("examples/captures/cceb-faulty.jsonl",): 1,
    # A browser's DevTools export of an agent desktop (two planted faults).
    ("examples/captures/cceb-desktop.har",): 1,
    # The faulty bridge connection as raw frames, one file per direction.
    ("--bridge-stream", "client=examples/captures/bridge-stream.client.bin",
     "--bridge-stream", "server=examples/captures/bridge-stream.server.bin"): 1,
    # A CCT SOAP client across a failover, as DevTools exports HTTP calls (made by tools/cct_samples.py).
    ("examples/captures/cct-clean.har",): 0,
    ("examples/captures/cct-faulty.har",): 1,
}


def run(*args: str | os.PathLike[str], check: bool = True) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], cwd=ROOT, check=check).returncode


def _wanted(extras: str) -> frozenset[str]:
    return frozenset(name for name in extras.split(",") if name)


def to_install(stamp: str | None, inputs: str, extras: str) -> frozenset[str] | None:
    """The extras to install for ``extras``, or None when the stamp says everything is there already.

    ``stamp`` is what the last install wrote (None: nothing yet), ``inputs`` the digest of what pins it. An install
    never removes packages, so while the inputs stay the same the installed extras only grow, and a request for a
    subset of them (``demo`` after ``test``: no extras after ``dev``) needs nothing. Other inputs reinstall.
    """
    wanted = _wanted(extras)
    try:
        recorded = json.loads(stamp) if stamp is not None else None
    except ValueError:
        recorded = None  # an older stamp format: install once more
    if not isinstance(recorded, dict) or recorded.get("inputs") != inputs:
        return wanted
    installed = frozenset(recorded.get("extras", ()))
    return None if wanted <= installed else wanted


def stamp_after(stamp: str | None, inputs: str, installed: frozenset[str]) -> str:
    """The stamp to write once ``installed`` went in: the extras already there for the same inputs stay there."""
    before: frozenset[str] = frozenset()
    if stamp is not None and to_install(stamp, inputs, "") is None:
        before = frozenset(json.loads(stamp)["extras"])
    return json.dumps({"inputs": inputs, "extras": sorted(before | installed)})


def setup(extras: str = "") -> None:
    """Create .venv and install the project with ``extras`` (pinned), unless the stamp says it is there already.

    ``demo`` needs ccproto alone (no extra); ``test`` the dev extra, which holds all the rest.
    """
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
        STAMP.unlink(missing_ok=True)  # a stamp without its venv says nothing
    inputs = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + CONSTRAINTS.read_bytes()).hexdigest()
    stamp = STAMP.read_text(encoding="utf-8") if STAMP.exists() else None
    missing = to_install(stamp, inputs, extras)
    if missing is None:
        return
    target = f".[{','.join(sorted(missing))}]" if missing else "."
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", CONSTRAINTS, "-e", target)
    STAMP.write_text(stamp_after(stamp, inputs, missing), encoding="utf-8")


def node_tools() -> bool:
    """Install tools/interop's pinned packages (npm ci) where npm exists, once per change of its lock file.

    False when the install failed; without npm the Node.js interop tests skip themselves.
    """
    npm = shutil.which("npm")
    if npm is None:
        print("npm is not installed: the Node.js interop tests (tools/interop) will be skipped", flush=True)
        return True
    installed = INTEROP / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= (INTEROP / "package-lock.json").stat().st_mtime:
        return True
    return run(npm, "ci", "--no-audit", "--no-fund", "--prefix", INTEROP.relative_to(ROOT), check=False) == 0


def demo() -> int:
    setup("")
    wrong = 0
    for sample, expected in SAMPLES.items():
        code = run(BIN / "ccproto", "validate", *sample, check=False)
        print(f"(exit status {code}, expected {expected})\n", flush=True)
        wrong += code != expected
    return 1 if wrong else 0


def test() -> int:
    setup("dev")
    failures = 0
    failures += not node_tools()
    # The full run (tests/conftest.py): the slow tests too, which a bare `pytest` leaves out.
    # In one process (-n 0): coverage measures it whole, and the timing and memory tests run alone.
    failures += run(PY, "-m", "coverage", "run", "-m", "pytest", "--full", "-n", "0", check=False) != 0
    failures += run(PY, "-m", "coverage", "report", check=False) != 0
    failures += run(PY, "-m", "mypy", "--strict", "src", "examples", check=False) != 0
    linted = ("src", "tests", "tools", "bench", "examples", "tasks.py")
    failures += run(PY, "-m", "ruff", "check", *linted, check=False) != 0
    print("\nall checks passed" if not failures else f"\n{failures} check(s) failed", flush=True)
    return 1 if failures else 0


def schemas() -> int:
    setup("")  # tools/generate.py needs ccproto alone
    return run(PY, "tools/generate.py", "schemas", check=False)


def docs() -> int:
    setup("")  # tools/generate.py needs ccproto alone
    return run(PY, "tools/generate.py", "docs", check=False)


def bench() -> int:
    setup("dev,bench")
    if sys.argv[2:3] == ["validate"]:
        return run(PY, "bench/validate.py", *sys.argv[3:], check=False)
    if sys.argv[2:3] == ["cluster"]:
        return run(PY, "bench/cluster.py", *sys.argv[3:], check=False)
    if sys.argv[2:3] == ["duplicates"]:
        return run(PY, "bench/duplicates.py", *sys.argv[3:], check=False)
    if sys.argv[2:3] == ["conformance"]:
        return run(PY, "bench/conformance.py", *sys.argv[3:], check=False)
    if sys.argv[2:3] == ["conformance-live"]:
        return run(PY, "bench/conformance_live.py", *sys.argv[3:], check=False)
    return run(PY, "bench/codec.py", *sys.argv[2:], check=False)


def fuzz() -> int:
    setup("dev,fuzz")
    return run(PY, "fuzz/run.py", *sys.argv[2:], check=False)


COMMANDS = {"demo": demo, "test": test, "schemas": schemas, "docs": docs, "bench": bench, "fuzz": fuzz}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS or (len(sys.argv) > 2 and sys.argv[1] not in ("bench", "fuzz")):
        print(__doc__)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]]())
