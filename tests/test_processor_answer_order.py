"""Answers that overtake earlier requests are named for what they are (issue 19): ``answer-out-of-order``.

The protocol has no correlation id: an answer answers the oldest outstanding request of its command.  A processor
that answers a later request first used to be told that its answer did not fit the oldest request ("confirm
answers only a prepareSession whose override is false", "/original does not repeat the request"), which points
away from the real fault.
"""

from __future__ import annotations

from typing import Any

from ccproto.processor.session import ANSWER_OUT_OF_ORDER
from test_capture_processor import check, client, errors, failure, prepare, req, server


def confirm(original: dict[str, Any]) -> dict[str, Any]:
    return {"command": "prepareSession", "result": "confirm", "message": "Replace?", "original": original}


def test_a_confirm_of_the_later_request_is_out_of_order() -> None:
    first, second = prepare(override=True), prepare(override=False)
    report = check([client(first), client(second), server(confirm(second))])
    assert errors(report) == {(3, "sequence", ANSWER_OUT_OF_ORDER)}
    [finding] = [f for f in report.findings if f.code == ANSWER_OUT_OF_ORDER]  # (and warnings: unanswered ones)
    assert "later prepareSession request" in finding.message
    assert "oldest" in finding.message


def test_a_failure_repeating_the_later_request_is_out_of_order() -> None:
    first, second = req("report.calljourney", {"CallId": "1"}), req("report.calljourney", {"CallId": "2"})
    report = check([client(first), client(second), server(failure(second)), server(failure(first))])
    assert (3, "sequence", ANSWER_OUT_OF_ORDER) in errors(report)
    assert (3, "sequence", "original-mismatch") not in errors(report)


def test_answers_in_order_pass() -> None:
    first, second = req("report.calljourney", {"CallId": "1"}), req("report.calljourney", {"CallId": "2"})
    assert not errors(check([client(first), client(second), server(failure(first)), server(failure(second))]))


def test_an_original_that_repeats_no_request_is_still_a_mismatch() -> None:
    first, second = req("report.calljourney", {"CallId": "1"}), req("report.calljourney", {"CallId": "2"})
    stranger = req("report.calljourney", {"CallId": "3"})
    report = check([client(first), client(second), server(failure(stranger))])
    assert errors(report) == {(3, "sequence", "original-mismatch")}


def test_a_confirm_no_request_allows_is_still_not_allowed() -> None:
    first, second = prepare(override=True), prepare(override=True)
    report = check([client(first), client(second), server(confirm(second))])
    assert errors(report) == {(3, "sequence", "answer-not-allowed")}
