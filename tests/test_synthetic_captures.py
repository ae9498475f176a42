"""The synthetic capture generator (tests/synthetic_captures.py): clean, exact, deterministic, realistic."""

from __future__ import annotations

import collections
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

import ccproto
import synthetic_captures
from ccproto.capture import validate_files

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _generate(**params: Any) -> list[dict[str, Any]]:
    return list(synthetic_captures.records(**params))


def _findings(records: list[dict[str, Any]]) -> list[str]:
    report = ccproto.validate_capture(records, strict=True)  # strict: a warning would be an error too
    return [f"record {f.record} ({f.conn}): {f.code}: {f.message}" for f in report.findings]


def _messages(records: list[dict[str, Any]], protocol: str) -> list[tuple[str, dict[str, Any]]]:
    return [(r["from"], r["message"]) for r in records if r["protocol"] == protocol and "message" in r]


# -- clean captures of every shape --------------------------------------------------------------------------

SHAPES = [
    # (protocols, close_fraction, concurrency, style)
    (["bridge"], 0.0, None, "compact"),
    (["bridge"], 1.0, 1, "spaced"),
    (["processor"], 0.5, 50, "iso"),
    (["processor"], 0.0, 1, "compact"),
    (["cceb"], 1.0, None, "compact"),
    (["cceb"], 0.5, 50, "spaced"),
    (["cceb"], 0.0, 1, "iso"),
    (None, 0.0, None, "compact"),
    (None, 0.5, None, "iso"),
    (None, 1.0, 50, "compact"),
    (None, 0.5, 1, "spaced"),
    ({"bridge": 1, "processor": 3, "cceb": 6}, 0.5, 50, "compact"),
]


@pytest.mark.parametrize(("protocols", "close_fraction", "concurrency", "style"), SHAPES)
def test_every_shape_validates_with_no_finding_at_all(
    protocols: Any, close_fraction: float, concurrency: int | None, style: str
) -> None:
    records = _generate(records=1199, connections=37, protocols=protocols, close_fraction=close_fraction,
                        concurrency=concurrency, style=style, seed=11)
    assert len(records) == 1199
    assert len({r["conn"] for r in records}) == 37
    assert _findings(records) == []


@pytest.mark.parametrize("style", synthetic_captures.STYLES)
def test_written_files_validate_with_no_finding_at_all(tmp_path: Path, style: str) -> None:
    path = tmp_path / "capture.jsonl"
    stats = synthetic_captures.write(path, records=1500, connections=80, concurrency=30, style=style, seed=4)
    report = validate_files([path], strict=True)
    assert report.findings == []
    assert report.records == stats["records"] == 1500
    assert stats["connections"] == 80
    assert sum(stats["records_by_protocol"].values()) == 1500
    assert sum(stats["connections_by_protocol"].values()) == 80
    assert stats["bytes"] == stats["file_bytes"] == path.stat().st_size
    assert len(path.read_bytes().splitlines()) == 1500


def test_gzip_output_validates_and_is_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    stats = synthetic_captures.write(first, records=1500, connections=40, seed=9)
    synthetic_captures.write(second, records=1500, connections=40, seed=9)
    assert first.read_bytes() == second.read_bytes()
    assert len(gzip.decompress(first.read_bytes())) == stats["bytes"] > stats["file_bytes"]
    assert validate_files([first], strict=True).findings == []


def test_answers_stay_in_time_with_the_largest_step_and_every_connection_open() -> None:
    records = _generate(records=3000, connections=100, concurrency=None, step=synthetic_captures.MAX_STEP, seed=2)
    assert _findings(records) == []


# -- exact numbers, determinism, the format -----------------------------------------------------------------


@pytest.mark.parametrize(("count", "connections", "protocols", "close_fraction"), [
    (1, 1, ["cceb"], 1.0),          # too few records for a conversation: refused below
    (5, 1, ["cceb"], 0.0),          # odd, no other protocol to take the odd record: one close logged
    (3, 1, ["bridge"], 0.0),
    (7, 1, ["bridge"], 1.0),
    (2, 1, ["processor"], 0.0),
    (3, 1, ["processor"], 0.0),
    (4, 1, ["processor"], 1.0),
    (7, 1, ["processor"], 1.0),
    (8, 1, ["processor"], 1.0),
    (1001, 200, ["cceb"], 0.5),
    (2777, 333, None, 0.3),
    (3000, 1000, None, 0.0),        # a crowd: three records a connection on average
])
def test_record_and_connection_counts_are_exact(
    count: int, connections: int, protocols: Any, close_fraction: float
) -> None:
    if count == 1:
        with pytest.raises(ValueError, match="need at least"):
            synthetic_captures.records(records=count, connections=connections, protocols=protocols,
                                       close_fraction=close_fraction)
        return
    records = _generate(records=count, connections=connections, protocols=protocols, close_fraction=close_fraction)
    assert len(records) == count
    assert len({r["conn"] for r in records}) == connections
    assert _findings(records) == []


def test_same_seed_same_capture_other_seed_other_capture(tmp_path: Path) -> None:
    params = {"records": 1000, "connections": 50, "concurrency": 20}
    assert _generate(seed=5, **params) == _generate(seed=5, **params)
    assert _generate(seed=5, **params) != _generate(seed=6, **params)
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    assert synthetic_captures.write(a, seed=5, **params)["bytes"] == synthetic_captures.write(b, seed=5, **params)[
        "bytes"]
    synthetic_captures.write(c, seed=6, **params)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("style", synthetic_captures.STYLES)
def test_lines_are_json_dumps_of_the_records(tmp_path: Path, style: str) -> None:
    path = tmp_path / "capture.jsonl"
    synthetic_captures.write(path, records=1200, connections=30, style=style, seed=3)
    records = _generate(records=1200, connections=30, style=style, seed=3)
    if style == "spaced":
        wanted = [json.dumps(r) for r in records]
    else:
        wanted = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in records]
    assert path.read_text(encoding="utf-8").splitlines() == wanted
    if style == "iso":
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["ts"]) for r in records)
    else:
        assert all(isinstance(r["ts"], float) for r in records)


def test_records_are_in_time_order_from_start_every_step() -> None:
    records = _generate(records=1000, connections=20, start=1_800_000_000.0, step=0.25)
    times = [r["ts"] for r in records]
    assert times == sorted(times)
    assert 1_800_000_000.0 <= times[0] < 1_800_000_000.25
    assert 1_800_000_000.0 + 999 * 0.25 <= times[-1] < 1_800_000_000.0 + 1000 * 0.25


@pytest.mark.parametrize("concurrency", [1, 7, 50])
def test_at_most_concurrency_connections_are_open_at_once(concurrency: int) -> None:
    records = _generate(records=3000, connections=120, concurrency=concurrency, seed=1)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for number, record in enumerate(records):
        first.setdefault(record["conn"], number)
        last[record["conn"]] = number
    changes = sorted([(n, 1) for n in first.values()] + [(n + 0.5, -1) for n in last.values()])
    open_now = most = 0
    for _, delta in changes:
        open_now += delta
        most = max(most, open_now)
    assert most <= concurrency
    if concurrency == 1:  # one after the other
        assert [r["conn"] for r in records] == sorted((r["conn"] for r in records), key=first.__getitem__)


def test_without_concurrency_every_connection_spans_the_capture() -> None:
    records = _generate(records=10_000, connections=100, concurrency=None, close_fraction=0.0, seed=4)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for number, record in enumerate(records):
        first.setdefault(record["conn"], number)
        last[record["conn"]] = number
    assert max(first.values()) < 0.2 * len(records)
    assert sum(n > 0.8 * len(records) for n in last.values()) > 0.75 * len(last)


@pytest.mark.parametrize("bad", [
    {"records": 0}, {"connections": 0}, {"records": 10, "connections": 11}, {"concurrency": 0},
    {"close_fraction": 1.5}, {"protocols": ["sip"]}, {"protocols": {"cceb": 0}}, {"protocols": {"cceb": -1}},
    {"step": 0}, {"step": synthetic_captures.MAX_STEP * 2}, {"style": "pretty"}, {"start": float("nan")},
])
def test_bad_parameters_are_refused_at_once(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        synthetic_captures.records(**bad)  # before the first record is asked for


# -- what the conversations hold ----------------------------------------------------------------------------


def test_closes_follow_close_fraction() -> None:
    closed = _generate(records=3000, connections=60, close_fraction=1.0, seed=2)
    by_conn: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for record in closed:
        by_conn[record["conn"]].append(record)
    for conn, records in by_conn.items():
        assert [(r["close"]["code"] in (1000, 1001)) for r in records[-2:] if "close" in r] == [True, True], conn
        assert {r["from"] for r in records[-2:]} == {"client", "server"}
        assert not any("close" in r for r in records[:-2])
        if records[0]["protocol"] == "bridge":  # dispose answered before the closes
            headers = [r["message"]["header"] for r in records[-5:] if "message" in r]
            assert (headers[-1]["type"], headers[-1]["name"]) == ("cti.response", "cti.request.dispose")
            assert {"type": "cti.request", "name": "cti.request.dispose"}.items() <= headers[-3].items() \
                or {"type": "cti.request", "name": "cti.request.dispose"}.items() <= headers[-2].items()
    never = _generate(records=3000, connections=60, close_fraction=0.0, seed=2)
    assert not any("close" in r for r in never)
    half = _generate(records=3000, connections=60, close_fraction=0.5, seed=2)
    assert len({r["conn"] for r in half if "close" in r}) == 30


def test_ids_are_fresh_and_well_formed() -> None:
    records = _generate(records=6000, connections=90, seed=7)
    request_ids = [m["header"]["requestId"] for sender, m in _messages(records, "bridge") if sender == "server"]
    assert len(request_ids) == len(set(request_ids)) > 100
    assert all(GUID.match(i) for i in request_ids)
    uuids = [m["uuid"] for _, m in _messages(records, "cceb") if m["type"] not in ("ack", "hello_reply")]
    assert len(uuids) == len(set(uuids)) > 100
    assert all(GUID.match(u) for u in uuids)


def test_cceb_agents_resume_their_sessions() -> None:
    records = _generate(records=6000, connections=90, protocols=["cceb"], concurrency=10, seed=3)
    issued: set[str] = set()
    resumed = 0
    for _, message in _messages(records, "cceb"):
        if message["type"] != "hello_reply":
            continue
        key = message["data"].get("session_key")
        if message["data"].get("resumed"):
            assert key in issued
            resumed += 1
        elif key is not None:
            assert key not in issued
            issued.add(key)
    assert resumed > 20
    assert len(issued) > 10


def test_messages_have_realistic_variety_and_size() -> None:
    records = _generate(records=10_000, connections=100, seed=12)
    teams = [m["data"]["team"]["members"] for _, m in _messages(records, "processor")
             if m.get("name") == "report.teamstatus.teamadded"]
    assert teams
    assert all(5 <= len(members) <= 20 for members in teams)
    info = [m["body"] for _, m in _messages(records, "bridge")
            if m["header"]["name"] == "cti.query.agentinfo" and m["header"].get("result") == "SUCCESS"]
    assert info
    assert all("cti-specific" in body and "switch-agent-id" in body for body in info)
    cceb = collections.Counter(m["type"] for _, m in _messages(records, "cceb"))
    notifications = set(cceb) - {"hello", "hello_reply", "action", "ack"}
    assert {"presence", "interaction_update", "call_leg", "off_hook", "phone_validation", "provisioning",
            "agent_phone_update", "interactions_list"} <= notifications
    actions = {m["data"]["action"] for _, m in _messages(records, "cceb") if m["type"] == "action"}
    assert len(actions) >= 20
    processor = collections.Counter(m.get("command") or m.get("name") for _, m in _messages(records, "processor"))
    assert {"getCapabilities", "prepareSession", "report.teamstatus.begin", "report.calljourney",
            "report.teamstatus.memberstatuschanged"} <= set(processor)
    sizes = [len(json.dumps(r, ensure_ascii=False)) for r in records]
    assert 150 < sum(sizes) / len(sizes) < 1000
