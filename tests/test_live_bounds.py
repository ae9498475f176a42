"""Bounded memory for refused traffic (issue 22): peers and the live check keep a bounded number of errors and
findings, and count every one past the bound."""

from __future__ import annotations

import gc
import json
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccproto.capture.live import MAX_FINDINGS, SENDERS_KEPT, LiveCapture
from ccproto.capture.output import render_json, render_text
from ccproto.core.findings import Finding, Kind, Severity
from ccproto.core.roles import Role
from ccproto.testing.slices import REFERENCE_PEERS, reference_peer

HELLO = json.dumps({"type": "hello", "uuid": "5f5f0966-65a2-4e95-9973-dff9ea242e19",
                    "data": {"token": "tok-Very-Secret-123", "tenant": "acme", "long_lived": True}})
REPLY = json.dumps({"type": "hello_reply", "uuid": "5f5f0966-65a2-4e95-9973-dff9ea242e19",
                    "data": {"session_key": "key-Very-Secret-456", "resumed": False}})
REFUSED = "{}"  # no protocol's message: every peer refuses it, the validator finds one error in it


def refused_flood(live: LiveCapture, count: int, *, conn: str = "c") -> None:
    """``count`` refused messages from the client on one connection (opened first: no joined-capture finding)."""
    live.opened(conn=conn, sender=Role.CLIENT, protocol="cceb", now=1.0)
    for number in range(count):
        live.message(conn=conn, sender=Role.CLIENT, protocol="cceb", now=2.0 + number, text=REFUSED)


# -- 1. the reference peers' errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(("protocol", "role"), list(REFERENCE_PEERS), ids=str)
def test_a_peer_keeps_the_newest_errors_and_counts_them_all(protocol: str, role: Role) -> None:
    peer = reference_peer(protocol, role)  # type: ignore[arg-type]
    bound = peer.MAX_ERRORS_KEPT
    assert bound == 100
    peer.connect(now=1.0)
    newest: list[Exception] = []
    for number in range(5 * bound):
        assert peer.receive(REFUSED, now=2.0 + number) == []
        assert peer.error_count == number + 1  # each refused text is one error
        newest.append(peer.errors[-1])
    assert len(peer.errors) == bound
    assert peer.errors == newest[-bound:]  # the newest, in order, newest last (exceptions compare by identity)
    assert peer.error_count == 5 * bound
    if "errors=" in repr(peer):
        assert f"errors={5 * bound}" in repr(peer)  # the total, not what is kept


# -- 2 and 3. the live check's findings ----------------------------------------------------------------------------


def test_the_live_check_keeps_the_first_findings_and_counts_prints_and_renders_them_all() -> None:
    lines: list[str] = []
    total = 25
    live = LiveCapture(write=lines.append, max_findings=10)
    refused_flood(live, total)
    report = live.report
    assert len(report.findings) == 10
    assert [finding.record for finding in report.findings] == list(range(2, 12))  # the first ones
    assert report.errors == total
    assert (report.dropped_errors, report.dropped_warnings, report.dropped) == (total - 10, 0, total - 10)
    assert report.failed
    # Every finding was printed, kept or not.
    printed = [line for line in lines if line.startswith("    record ")]
    assert [line.split(":")[0] for line in printed] == [f"    record {number}" for number in range(2, total + 2)]
    assert live.summary() == f"FAILED: {total + 1} records, {total} errors, 0 warnings"
    assert live.errors_by == {Role.CLIENT: total, Role.SERVER: 0}
    summary, failed = live.attributed_summary(Role.SERVER)
    assert summary == (f"OK: {total + 1} records, {total} errors, 0 warnings (served server: clean; its clients: "
                       f"{total} errors, refused as the protocol requires)")
    assert not failed
    value = json.loads(render_json(report))
    assert value["summary"] == {"records": total + 1, "errors": total, "warnings": 0}
    assert len(value["findings"]) == 10
    text = render_text(report)
    assert "(15 more findings (15 errors, 0 warnings) counted but not kept: the report keeps the first 10)" in text
    assert text.endswith(f"FAILED: {total + 1} records, {total} errors, 0 warnings\n")
    assert "(showing the first 3 of 10 kept findings: --max-findings)" in render_text(report, max_findings=3)


def test_a_report_that_kept_every_finding_says_nothing_more() -> None:
    live = LiveCapture(write=lambda line: None, max_findings=10)
    refused_flood(live, 10)
    assert live.report.dropped == 0
    text = render_text(live.report)
    assert "not kept" not in text
    assert "kept findings" not in render_text(live.report, max_findings=3)


def test_merging_reports_adds_the_findings_they_did_not_keep() -> None:
    first, second = LiveCapture(write=lambda line: None, max_findings=2), LiveCapture(write=lambda line: None)
    refused_flood(first, 5)
    refused_flood(second, 3)
    first.report.merge(second.report)
    assert (len(first.report.findings), first.report.dropped_errors, first.report.errors) == (5, 3, 8)


def test_listed_connections_stay_bounded_and_a_clean_closed_one_leaves_nothing() -> None:
    lines: list[str] = []
    live = LiveCapture(write=lines.append, max_findings=10, name="serve")
    live.opened(conn="clean", sender=Role.CLIENT, protocol="cceb", now=1.0)
    live.message(conn="clean", sender=Role.CLIENT, protocol="cceb", now=1.0, text=HELLO)
    live.message(conn="clean", sender=Role.SERVER, protocol="cceb", now=1.0, text=REPLY)
    for sender in Role:
        live.close(conn="clean", sender=sender, protocol="cceb", now=2.0, code=1000)
    assert live.report.connections.get("serve", {}) == {}
    # A flood of connections with one refused message each: only those with a kept finding stay listed.
    for number in range(40):
        conn = f"flood-{number}"
        live.opened(conn=conn, sender=Role.CLIENT, protocol="cceb", now=3.0)
        live.message(conn=conn, sender=Role.CLIENT, protocol="cceb", now=3.0, text=REFUSED)
        for sender in Role:
            live.close(conn=conn, sender=sender, protocol="cceb", now=3.0, code=1000)
    assert live.report.errors == 40
    kept = {finding.conn for finding in live.report.findings}
    assert kept == {f"flood-{number}" for number in range(10)}
    assert live.report.connections["serve"] == {f"flood-{number}": "cceb" for number in range(10)}
    assert sum("error [schema/" in line for line in lines) == 40  # every finding printed, kept or not
    text = render_text(live.report)
    assert "  connection 'flood-9' (cceb)" in text
    assert "flood-10" not in text


# -- 3. the ring of senders ----------------------------------------------------------------------------------------


def test_the_senders_are_a_ring_of_the_newest_records() -> None:
    assert SENDERS_KEPT == 1 << 22
    assert MAX_FINDINGS == 1000
    live = LiveCapture(write=lambda line: None, senders_kept=2)
    live.opened(conn="c", sender=Role.CLIENT, protocol="cceb", now=1.0)  # record 1
    live.message(conn="c", sender=Role.CLIENT, protocol="cceb", now=1.0, text=HELLO)  # record 2: never answered
    for number in range(3):  # records 3-5: the ring of 2 now holds records 4 and 5 only
        live.opened(conn=f"other-{number}", sender=Role.CLIENT, protocol="cceb", now=2.0)
    live.close(conn="c", sender=Role.CLIENT, protocol="cceb", now=1000.0, code=1000)  # record 6
    [finding] = live.report.findings
    assert (finding.code, finding.record) == ("answer-timeout", 2)
    assert live.fault_of(finding) is None  # its sender fell out of the ring: unknown
    assert live.errors_by == {Role.CLIENT: 0, Role.SERVER: 0}
    summary, failed = live.attributed_summary(Role.CLIENT)
    assert failed  # unknown counts against the served peer: the ring never hides an error
    assert "(served client: 1 error; its servers: 0 errors)" in summary


def finding_on(record: int) -> Finding:
    return Finding(file="live", record=record, conn="c", severity=Severity.ERROR, kind=Kind.SCHEMA,
                   code="schema-violation", path="", message="")


@given(kept=st.integers(1, 8), senders=st.lists(st.sampled_from([Role.CLIENT, Role.SERVER]), max_size=30))
def test_a_record_is_put_down_to_its_sender_exactly_while_in_the_ring(kept: int, senders: list[Role]) -> None:
    live = LiveCapture(write=lambda line: None, senders_kept=kept)
    for number, sender in enumerate(senders):
        live.opened(conn=f"c{number}", sender=sender, protocol="cceb", now=1.0)
    for record in range(0, len(senders) + 2):
        in_ring = max(len(senders) - kept, 0) < record <= len(senders)
        assert live.fault_of(finding_on(record)) == (senders[record - 1] if in_ring else None)


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="senders_kept"):
        LiveCapture(write=lambda line: None, senders_kept=0)
    with pytest.raises(ValueError, match="max_findings"):
        LiveCapture(write=lambda line: None, max_findings=-1)


# -- 4. memory ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_flood_of_refused_messages_leaves_memory_bounded() -> None:
    # Before issue 22 this grew by about 50 MB (every peer error with its traceback, every finding kept).
    peer = reference_peer("cceb", Role.SERVER)
    live = LiveCapture(write=lambda line: None, name="serve")
    peer.connect(now=0.0)
    live.opened(conn="c", sender=Role.CLIENT, protocol="cceb", now=0.0)

    def flood(count: int, start: int) -> None:
        for number in range(start, start + count):
            peer.receive(REFUSED, now=float(number))
            live.message(conn="c", sender=Role.CLIENT, protocol="cceb", now=float(number), text=REFUSED)

    flood(MAX_FINDINGS + 100, 1)  # fill what is kept, and warm every cache, before measuring
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        flood(20_000, MAX_FINDINGS + 101)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peer.error_count == live.report.errors == MAX_FINDINGS + 100 + 20_000
    assert after - before < 5_000_000, f"grew by {(after - before) / 1e6:.1f} MB"
