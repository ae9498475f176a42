"""The HAR files ccproto ships are HAR files any HAR tool reads: each sample is checked against har-schema (the HAR
1.2 JSON Schemas of the har-validator ecosystem) by Ajv, neither written here (tools/interop/har_check.mjs)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from node_interop import har_check, require_node

ROOT = Path(__file__).resolve().parent.parent
HARS = sorted((ROOT / "examples" / "captures").glob("*.har"))


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_there_are_har_samples_to_check() -> None:
    assert {path.name for path in HARS} >= {"cceb-desktop.har", "cct-clean.har", "cct-faulty.har"}


def test_every_har_sample_is_a_valid_har_document() -> None:
    require_node()
    errors = har_check({path.name: _load(path) for path in HARS})
    assert errors == {path.name: [] for path in HARS}


def test_the_checker_finds_what_makes_a_document_not_a_har() -> None:
    # The check can fail: a document without what HAR 1.2 requires is refused.
    require_node()
    sample = _load(ROOT / "examples" / "captures" / "cct-clean.har")
    no_version = copy.deepcopy(sample)
    del no_version["log"]["version"]
    bad_time = copy.deepcopy(sample)
    bad_time["log"]["entries"][0]["startedDateTime"] = "yesterday"
    no_timings = copy.deepcopy(sample)
    del no_timings["log"]["entries"][0]["timings"]
    errors = har_check({"no-version": no_version, "bad-time": bad_time, "no-timings": no_timings})
    assert all(errors[name] for name in ("no-version", "bad-time", "no-timings")), errors


@pytest.mark.parametrize("path", HARS, ids=lambda path: path.name)
def test_the_har_samples_give_no_bad_record(path: Path) -> None:
    from ccproto.capture import BadRecord, read_har

    assert not [item for item in read_har(path.read_bytes(), file=path.name) if isinstance(item, BadRecord)]
