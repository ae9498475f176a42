"""Run the independent Node.js checkers of tools/interop/ (Ajv, the AsyncAPI parser, Modelina) from tests.

A helper module, not a test file. ``python3 tasks.py test`` installs the tools (``npm ci``) where npm
exists; a test calls :func:`require_node` first, which skips it when Node.js or the tools are absent, or
fails it when the environment sets ``CCPROTO_REQUIRE_NODE=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / "tools" / "interop"
SCHEMAS = ROOT / "schemas"
#: Set to 1 to make a missing Node.js (or missing tools) fail the tests that need it instead of skipping them.
REQUIRE_ENV = "CCPROTO_REQUIRE_NODE"


def node_missing() -> str | None:
    """Why the Node.js checkers cannot run here, or None when they can."""
    if shutil.which("node") is None:
        return "Node.js (`node`) is not on PATH: the independent schema checks need it"
    if not (INTEROP / "node_modules").is_dir():
        return (
            f"{INTEROP / 'node_modules'} is missing: run `npm ci` in tools/interop "
            "(python3 tasks.py test does it where npm is installed)"
        )
    return None


def require_node() -> None:
    """Skip the calling test when the checkers cannot run; fail it instead under CCPROTO_REQUIRE_NODE=1."""
    reason = node_missing()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
    pytest.skip(reason)


@dataclass(frozen=True)
class AjvResult:
    """Ajv's answer: strict-mode complaints per schema, a verdict per case, a match per pattern.

    ``compile[name]`` is empty when the schema compiled cleanly; ``valid[i]`` is None when the schema of
    case i did not compile; ``matches[i]`` is None when pattern i is not a valid ``u``-flag JS regex.
    """

    compile: dict[str, list[str]]
    valid: list[bool | None]
    matches: list[bool | None]


def _node(
    *args: str | os.PathLike[str], stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js (`node`) is not on PATH")
    return subprocess.run(
        [node, *(str(a) for a in args)], input=stdin, capture_output=True, text=True, encoding="utf-8",
        cwd=INTEROP, timeout=timeout, check=False,
    )


def ajv(
    schemas: dict[str, Any], cases: Sequence[tuple[str, Any]] = (), patterns: Sequence[tuple[str, str]] = ()
) -> AjvResult:
    """Compile ``schemas`` with Ajv (draft 2020-12, strict, allErrors, ajv-formats) and judge the cases.

    Each case is ``(schema name, instance)``; each pattern ``(pattern, string)`` is tested as
    ``new RegExp(pattern, "u").test(string)``. Strings keep every code point (lone surrogates, NUL,
    U+2028 travel as ``\\u`` escapes), except that a high surrogate followed by a low one arrives as the
    one astral character they spell (JSON cannot tell them apart). Non-finite floats have no JSON form:
    ValueError. Integers beyond 2**53 reach Ajv as the nearest double, as in any JavaScript consumer.
    """
    document = {
        "schemas": schemas,
        "cases": [[name, instance] for name, instance in cases],
        "patterns": [[pattern, string] for pattern, string in patterns],
    }
    try:
        text = json.dumps(document, ensure_ascii=True, allow_nan=False)
    except ValueError as error:
        raise ValueError(f"cannot send to Ajv (JSON has no NaN or infinities): {error}") from error
    done = _node("ajv_check.mjs", stdin=text)
    if done.returncode != 0:
        raise RuntimeError(f"tools/interop/ajv_check.mjs exited with status {done.returncode}:\n{done.stderr}")
    answer = json.loads(done.stdout)
    result = AjvResult(compile=answer["compile"], valid=answer["valid"], matches=answer["matches"])
    if len(result.valid) != len(cases) or len(result.matches) != len(patterns):
        raise RuntimeError(f"ajv_check.mjs answered {len(result.valid)} verdicts and {len(result.matches)} matches "
                           f"for {len(cases)} cases and {len(patterns)} patterns")
    return result


def asyncapi_check(path: Path) -> subprocess.CompletedProcess[str]:
    """Parse the AsyncAPI document at ``path`` and generate models from it (tools/interop/asyncapi_check.mjs).

    Exit status 0 only when there is no error or warning diagnostic and both Modelina generators
    (TypeScript, Python) produced models; the last line of stdout is a JSON summary.
    """
    return _node("asyncapi_check.mjs", Path(path).resolve())


def asyncapi_summary(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON summary (last stdout line) of an :func:`asyncapi_check` run."""
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"asyncapi_check.mjs printed nothing (status {done.returncode}):\n{done.stderr}")
    summary: dict[str, Any] = json.loads(lines[-1])
    return summary


def published_schemas() -> dict[str, dict[str, Any]]:
    """Every published JSON Schema (schemas/*/*.schema.json), keyed "bridge/Name", "cceb/Name", ..."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(SCHEMAS.glob("*/*.schema.json")):
        found[f"{path.parent.name}/{path.name.removesuffix('.schema.json')}"] = json.loads(
            path.read_text(encoding="utf-8")
        )
    return found


def har_check(documents: dict[str, Any]) -> dict[str, list[str]]:
    """Validate HAR ``documents`` (name -> parsed HAR) against har-schema with Ajv (tools/interop/har_check.mjs):
    name -> the errors found (empty: a valid HAR 1.2 document)."""
    done = _node("har_check.mjs", stdin=json.dumps({"documents": documents}, ensure_ascii=True))
    if done.returncode != 0:
        raise RuntimeError(f"tools/interop/har_check.mjs exited with status {done.returncode}:\n{done.stderr}")
    errors: dict[str, list[str]] = json.loads(done.stdout)["errors"]
    return errors
