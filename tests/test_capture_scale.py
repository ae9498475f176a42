"""Production-size captures: many connections, connections that never close, rotated files, several processes
(issue 18).  The captures come from ``synthetic_captures`` (generated, clean, nobody hand-wrote them)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import synthetic_captures
from ccproto.capture import Report, Severity, validate_capture, validate_files
from ccproto.capture.validator import CaptureValidator, merge_shards, validate_shard
from ccproto.cli import main
from ccproto.core.limits import Limits

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"


def _records(**params: Any) -> list[dict[str, Any]]:
    return list(synthetic_captures.records(**params))


def _jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)


def codes(report: Report) -> list[tuple[str, str]]:
    return sorted((f.severity.value, f.code) for f in report.findings)


# -- many connections ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crowd() -> list[dict[str, Any]]:
    """50,000 connections that never close, all open at once, over 150,000 records."""
    return _records(records=150_000, connections=50_000, concurrency=None, close_fraction=0.0, seed=18)


@pytest.mark.slow
def test_fifty_thousand_connections_under_the_default_bounds(crowd: list[dict[str, Any]]) -> None:
    assert len({r["conn"] for r in crowd}) == 50_000
    report = validate_capture(crowd)
    assert codes(report) == []


@pytest.mark.slow
def test_fifty_thousand_connections_tracking_a_thousand(crowd: list[dict[str, Any]]) -> None:
    """Over our own bound: warnings only (no cascade), and never more than the bound held."""
    limits = Limits(max_connections=1000)
    validator = CaptureValidator(limits=limits, all_connections=False)
    most = 0
    for number, record in enumerate(crowd, start=1):
        from ccproto.capture.records import record_from

        item = record_from("crowd", number, record)
        assert item is not None
        validator.feed(item)
        most = max(most, len(validator._open))
    report = validator.finish()
    assert most == 1000
    assert not report.failed
    found = {f.code for f in report.findings}
    assert found == {"too-many-connections"}
    assert all(f.severity is Severity.WARNING for f in report.findings)


def test_idle_connections_are_finished_and_resume_quietly() -> None:
    """A connection silent longer than its idle bound is finished; its later records are read as joined."""
    records = _records(records=20_000, connections=400, concurrency=None, close_fraction=0.0, seed=7, step=0.5)
    report = validate_capture(records, idle_timeouts={"bridge": 60.0, "processor": 60.0, "cceb": 60.0})
    assert not report.failed, report.findings[:5]
    assert {f.code for f in report.findings} <= {"unanswered-request"}


# -- one capture in several files ------------------------------------------------------------------------------


def _global(report: Report, offsets: dict[str, int]) -> list[tuple[Any, ...]]:
    """Findings with their records numbered through the whole capture (file offset + line)."""
    return sorted(
        (offsets[f.file] + f.record, f.conn, f.severity.value, f.kind.value, f.code, f.path)
        for f in report.findings
    )


@settings(max_examples=8, deadline=None)
@given(st.data())
def test_rotated_files_read_as_one_capture(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    records = SERIES_RECORDS
    pieces = data.draw(st.integers(min_value=2, max_value=5))
    cuts = sorted(data.draw(st.lists(st.integers(1, len(records) - 1), min_size=pieces - 1, max_size=pieces - 1,
                                     unique=True)))
    folder = tmp_path_factory.mktemp("rotated")
    whole = folder / "whole.jsonl"
    whole.write_text(_jsonl(records), encoding="utf-8")
    paths, offsets = [], {str(whole): 0}
    for index, (start, end) in enumerate(zip([0, *cuts], [*cuts, len(records)], strict=True)):
        path = folder / f"part-{index}.jsonl"
        path.write_text(_jsonl(records[start:end]), encoding="utf-8")
        paths.append(path)
        offsets[str(path)] = start
    one = validate_files([whole])
    series = validate_files(paths, series=True)
    assert _global(series, offsets) == _global(one, offsets)
    assert series.records == one.records
    apart = validate_files(paths)  # each file on its own: the cuts show (joined connections)
    assert any(f.code == "joined-mid-conversation" for f in apart.findings)


def _planted(records: list[dict[str, Any]], faults: int, seed: int) -> list[dict[str, Any]]:
    """``records`` with ``faults`` messages, picked at random, replaced by one no protocol has."""
    planted = list(records)
    for index in random.Random(seed).sample([i for i, r in enumerate(records) if "message" in r], faults):
        planted[index] = {**records[index], "message": {"planted": True}}
    return planted


#: A clean mixed capture with a few faults planted, for the series and --jobs tests.
SERIES_RECORDS = _planted(
    _records(records=3_000, connections=120, concurrency=40, close_fraction=0.5, seed=3), faults=6, seed=1
)


def test_a_related_record_in_another_file_is_named() -> None:
    """A finding whose related record is in an earlier file names that file."""
    hello = {"type": "hello", "uuid": "00000000-0000-4000-8000-000000000001", "data": {"token": "t"}}
    action = {"type": "action", "uuid": "00000000-0000-4000-8000-000000000002",
              "data": {"action": "ChangeAgentStateEvent", "action_details": {"state": "Available"}}}
    first = [{"ts": 1.0, "conn": "a", "from": "client", "protocol": "cceb", "message": hello},
             {"ts": 1.1, "conn": "a", "from": "server", "protocol": "cceb",
              "message": {"type": "hello_reply", "uuid": hello["uuid"], "data": {}}},
             {"ts": 2.0, "conn": "a", "from": "client", "protocol": "cceb", "message": action}]
    second = [{"ts": 40.0, "conn": "a", "from": "server", "protocol": "cceb",
               "message": {"type": "ack", "uuid": action["uuid"]}}]
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        one, two = Path(folder) / "one.jsonl", Path(folder) / "two.jsonl"
        one.write_text(_jsonl(first), encoding="utf-8")
        two.write_text(_jsonl(second), encoding="utf-8")
        report = validate_files([one, two], series=True)
    timeout = next(f for f in report.findings if f.code == "answer-timeout")
    assert (timeout.file, timeout.record, timeout.related) == (str(one), 3, ())
    assert f"record 1 of {two}" in timeout.message


# -- several processes -----------------------------------------------------------------------------------------


def _shards(paths: list[Path], n: int, **options: Any) -> Report:
    return merge_shards([validate_shard(paths, shard=(k, n), **options) for k in range(n)])


def _same(a: Report, b: Report) -> None:
    assert a.to_json() == b.to_json()
    assert a.records == b.records
    assert {f: dict(c) for f, c in a.connections.items()} == {f: dict(c) for f, c in b.connections.items()}
    assert [list(c) for c in a.connections.values()] == [list(c) for c in b.connections.values()]


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("sample", [*sorted(p.name for p in EXAMPLES.glob("*") if p.suffix != ".bin"), "generated"])
def test_shards_merge_into_one_process_report(tmp_path: Path, sample: str, n: int) -> None:
    if sample == "generated":
        path = tmp_path / "generated.jsonl"
        path.write_text(_jsonl(SERIES_RECORDS), encoding="utf-8")
    else:
        path = EXAMPLES / sample
    for options in ({}, {"coverage": True, "all_connections": False}, {"partial": True},
                    {"limits": Limits(max_connections=3)}):
        _same(_shards([path], n, **options), validate_files([path], **options))


def test_shards_of_a_series_merge_into_one_process_report(tmp_path: Path) -> None:
    paths = []
    for index, (start, end) in enumerate([(0, 700), (700, 1900), (1900, len(SERIES_RECORDS))]):
        path = tmp_path / f"part-{index}.jsonl"
        path.write_text(_jsonl(SERIES_RECORDS[start:end]), encoding="utf-8")
        paths.append(path)
    for series in (True, False):
        _same(_shards(paths, 2, series=series), validate_files(paths, series=series))


def test_jobs_two_on_one_file_is_byte_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generated = tmp_path / "generated.jsonl"
    generated.write_text(_jsonl(SERIES_RECORDS), encoding="utf-8")
    for path in [generated, *sorted(EXAMPLES.glob("*.jsonl")), EXAMPLES / "cceb-desktop.har"]:
        outputs = []
        for jobs in ("1", "2"):
            status = main(["validate", "--format", "json", "--coverage", "--jobs", jobs, str(path)])
            outputs.append((status, capsys.readouterr().out))
        assert outputs[0] == outputs[1], path
