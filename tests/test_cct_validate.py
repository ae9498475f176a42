"""`ccproto validate` on a CCT SOAP client's traffic: the checker rule by rule, HAR and JSON Lines, the samples."""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto.capture import render
from ccproto.capture.har import endpoint_name, read_har
from ccproto.capture.validator import CHECKERS, validate_records
from ccproto.cct.catalogue import FAULTS_NS, TYPES_NS, Operation, QName, service
from ccproto.cct.checker import DEFAULT_SESSION_TIMEOUT, RAW_REQUIRED, CctClientChecker
from ccproto.cct.config import SupervisorConfig
from ccproto.cct.duties import Duty
from ccproto.cct.soap import SOAP11_NS
from ccproto.cli import main
from ccproto.core.findings import Kind, Report, Severity
from ccproto.core.limits import Limits
from ccproto.core.record import BadRecord, HttpExchange, Record
from ccproto.core.roles import Role
from sample_expectations import CCT_FAULTY_ERRORS, CCT_FAULTY_WARNINGS

ROOT = Path(__file__).resolve().parent.parent
CLEAN = ROOT / "examples" / "captures" / "cct-clean.har"
FAULTY = ROOT / "examples" / "captures" / "cct-faulty.har"
T0 = 1_900_000_000.0
TIMEOUT = DEFAULT_SESSION_TIMEOUT
PROTOCOL = "cct"

SSO_TOKEN = "sso-token-SECRET-51ac"
URL_TOKEN = "url-token-SECRET-0d9e"
COOKIE = "cookie-SECRET-77b1"
BEARER = "bearer-SECRET-3c2f"
SECRETS = (SSO_TOKEN, URL_TOKEN, COOKIE, BEARER)


LOGIN = service("SessionService").operation("LogInToCCTServer")
LOGOFF = service("SessionService").operation("LogOffFromCCTServer")
PROBE = service("MetricsService").operation("GetLicenseConsumedCount")
VERSION = service("MetricsService").operation("GetVersion")
SUBSCRIBE = service("NotificationProducer").operation("Subscribe")
UNSUBSCRIBE = service("NotificationProducer").operation("Unsubscribe")
RENEW = service("NotificationProducer").operation("Renew")
NOTIFY = service("NotificationConsumer").operation("Notify")


# -- SOAP texts ---------------------------------------------------------------------------------------------


def envelope(body: str) -> str:
    return f'<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body>{body}</s:Body></s:Envelope>'


def element(name: QName, token: str | None = None) -> str:
    inner = "" if token is None else f'<m:ssoToken><t:token xmlns:t="{TYPES_NS}">{token}</t:token></m:ssoToken>'
    return f'<m:{name.local} xmlns:m="{name.namespace}">{inner}</m:{name.local}>'


def request_text(op: Operation) -> str:
    return envelope(element(op.request, None if op in (LOGIN, VERSION) else SSO_TOKEN))


def response_text(op: Operation) -> str:
    if op.response is None:
        return envelope("")
    return envelope(element(op.response, SSO_TOKEN if op == LOGIN else None))


def fault_text(local: str = "SessionNotCreatedException", namespace: str = FAULTS_NS) -> str:
    return envelope(f"<s:Fault><faultcode>s:Server</faultcode><faultstring>no</faultstring>"
                    f'<detail><f:{local} xmlns:f="{namespace}"/></detail></s:Fault>')


# -- stories as records -------------------------------------------------------------------------------------


class Story:
    """A client's calls as capture records (FIFO pairing unless ``http``), each answered at once."""

    def __init__(self, *, http: bool = False) -> None:
        self.records: list[Record] = []
        self.http = http
        self.calls = 0

    def _record(self, sender: Role, at: float, raw: str, http: HttpExchange | None) -> Record:
        record = Record(file="c.jsonl", number=len(self.records) + 1, ts=T0 + at, conn="cct-conn", sender=sender,
                        protocol=PROTOCOL, message=None, raw=raw, http=http)
        self.records.append(record)
        return record

    def send(self, at: float, op: Operation) -> str:
        """A request alone (its exchange id, for :meth:`answer`)."""
        exchange = str(self.calls)
        self.calls += 1
        http = HttpExchange(exchange=exchange, soap_action=f'"{op.soap_action}"') if self.http else None
        self._record(Role.CLIENT, at, request_text(op), http)
        return exchange

    def answer(self, at: float, op: Operation, exchange: str, outcome: str = "ok", *, status: int | None = None) -> int:
        text = {"ok": response_text(op), "gone": fault_text(), "fault": fault_text("ResourceUnknownFault",
                                                                                    "urn:other"),
                "empty": ""}[outcome]
        if status is None:
            status = 200 if outcome == "ok" else 500
        http = HttpExchange(exchange=exchange, soap_action=f'"{op.soap_action}"', status=status) if self.http else None
        return self._record(Role.SERVER, at, text, http).number

    def call(self, at: float, op: Operation, outcome: str = "ok", **options: Any) -> int:
        """One call answered at once; the request's record number."""
        exchange = self.send(at, op)
        number = len(self.records)
        self.answer(at + 0.05, op, exchange, outcome, **options)
        return number

    def login(self, at: float, *, subscriptions: int = 0) -> int:
        """A login and its subscriptions; the login response's record number."""
        self.call(at, LOGIN)
        number = len(self.records)
        for i in range(subscriptions):
            self.call(at + 0.1 * (i + 1), SUBSCRIBE)
        return number


def check(records: list[Record | BadRecord], **options: Any) -> Report:
    checkers = {**CHECKERS, PROTOCOL: functools.partial(CctClientChecker, **options)} if options else None
    return validate_records(records, checkers=checkers)


def found(report: Report) -> list[tuple[int, str]]:
    return [(f.record, f.code) for f in report.findings]


def codes(report: Report) -> list[str]:
    return [f.code for f in report.findings]


# -- the checker's construction ------------------------------------------------------------------------------


def test_the_checker_is_the_registered_one_with_the_supervisors_default_timeout() -> None:
    assert CHECKERS[PROTOCOL] is CctClientChecker
    assert SupervisorConfig().session_timeout == DEFAULT_SESSION_TIMEOUT
    checker = CctClientChecker(limits=Limits(), strict=False, capture={})
    assert checker.session_timeout == DEFAULT_SESSION_TIMEOUT
    assert CctClientChecker.protocol == PROTOCOL
    assert CctClientChecker.idle_timeout is None


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), True])
def test_a_session_timeout_must_be_positive_seconds(bad: Any) -> None:
    with pytest.raises(ValueError, match="session_timeout"):
        CctClientChecker(limits=Limits(), session_timeout=bad)


# -- rule 1: call-without-session -----------------------------------------------------------------------------


def test_a_call_after_session_not_created_before_a_new_login_is_reported() -> None:
    story = Story()
    story.login(0)
    story.call(10, PROBE, "gone")
    late = story.call(12, PROBE, "gone")
    story.login(15)
    story.call(20, LOGOFF)
    report = check(story.records)
    assert found(report) == [(late, Duty.CALL_WITHOUT_SESSION.value)]
    finding = report.findings[0]
    assert finding.severity is Severity.ERROR
    assert finding.kind is Kind.SEQUENCE
    assert "MetricsService.GetLicenseConsumedCount" in finding.message
    assert Duty.CALL_WITHOUT_SESSION.summary.lower() in finding.message.lower()


def test_a_login_straight_after_session_not_created_is_no_finding() -> None:
    story = Story()
    story.login(0)
    story.call(10, PROBE, "gone")
    story.login(11)
    story.call(20, PROBE)
    story.call(21, LOGOFF)
    assert found(check(story.records)) == []


def test_a_call_after_a_logoff_is_reported_and_a_failed_login_does_not_end_it() -> None:
    story = Story()
    story.login(0)
    story.call(5, LOGOFF)
    first = story.call(6, PROBE)
    story.call(7, LOGIN, "fault")
    second = story.call(8, VERSION)
    assert found(check(story.records)) == [
        (first, Duty.CALL_WITHOUT_SESSION.value), (second, Duty.CALL_WITHOUT_SESSION.value)]


def test_a_call_sent_before_the_login_is_answered_is_without_session() -> None:
    story = Story(http=True)
    story.login(0)
    story.call(10, PROBE, "gone")
    login = story.send(11, LOGIN)
    early = story.call(11.01, PROBE)
    story.answer(11.5, LOGIN, login)
    story.call(12, LOGOFF)
    assert found(check(story.records)) == [(early, Duty.CALL_WITHOUT_SESSION.value)]


def test_calls_before_any_login_are_no_finding_the_capture_may_have_joined_a_session() -> None:
    story = Story()
    story.call(0, PROBE)
    story.call(1, VERSION)
    story.call(2, LOGOFF)
    assert found(check(story.records)) == []


# -- rule 2: not-resubscribed ---------------------------------------------------------------------------------


def test_a_relogin_that_subscribes_fewer_listeners_is_reported_on_its_login_response() -> None:
    story = Story()
    story.login(0, subscriptions=2)
    story.call(10, PROBE, "gone")
    relogin = story.login(11, subscriptions=1)
    story.call(20, PROBE)
    ended = story.call(30, LOGOFF)
    report = check(story.records)
    assert found(report) == [(relogin, Duty.NOT_RESUBSCRIBED.value)]
    assert report.findings[0].related == (ended,)


def test_a_relogin_that_subscribes_every_listener_again_is_no_finding() -> None:
    story = Story()
    story.login(0, subscriptions=2)
    story.call(10, PROBE, "gone")
    story.login(11, subscriptions=2)
    story.call(30, LOGOFF)
    assert found(check(story.records)) == []


def test_a_refused_subscribe_does_not_count_and_a_login_after_a_logoff_owes_nothing() -> None:
    story = Story()
    story.login(0, subscriptions=1)
    story.call(5, LOGOFF)
    story.login(6)
    story.call(7, LOGOFF)
    assert found(check(story.records)) == []
    story = Story()
    story.login(0, subscriptions=1)
    story.call(5, PROBE, "gone")
    relogin = story.login(6)
    story.call(7, SUBSCRIBE, "fault")
    story.call(8, LOGOFF)
    assert found(check(story.records)) == [(relogin, Duty.NOT_RESUBSCRIBED.value)]


def test_a_relogin_cut_by_the_capture_is_reported_at_the_end() -> None:
    story = Story()
    story.login(0, subscriptions=2)
    story.call(10, PROBE, "gone")
    relogin = story.login(11)
    report = check(story.records)
    assert sorted(found(report)) == sorted([
        (relogin, Duty.NOT_RESUBSCRIBED.value), (len(story.records), Duty.SESSION_NOT_LOGGED_OFF.value)])


# -- rules 3 and 4: silences past the timeout -----------------------------------------------------------------


def test_a_subscribed_session_silent_past_its_timeout_is_reported() -> None:
    story = Story()
    story.login(0, subscriptions=1)
    last = story.call(10, PROBE)
    late = story.call(10 + TIMEOUT + 1, PROBE)
    story.call(TIMEOUT + 20, LOGOFF)
    report = check(story.records)
    assert found(report) == [(late, Duty.SESSION_SILENT_PAST_TIMEOUT.value)]
    assert report.findings[0].related == (last,)
    assert f"{TIMEOUT + 1:g} s" in report.findings[0].message


def test_a_gap_of_exactly_the_timeout_is_no_finding() -> None:
    story = Story()
    story.login(0, subscriptions=1)
    story.call(10, PROBE)
    story.call(10 + TIMEOUT, PROBE)
    story.call(10 + TIMEOUT + 1, LOGOFF)
    assert found(check(story.records)) == []


def test_a_silent_session_without_a_subscription_is_no_finding() -> None:
    story = Story()
    story.login(0)
    story.call(10 + 3 * TIMEOUT, PROBE)
    story.call(11 + 3 * TIMEOUT, LOGOFF)
    assert found(check(story.records)) == []


@pytest.mark.parametrize(("after", "expected"), [
    (TIMEOUT, []), (TIMEOUT + 0.5, [Duty.GETVERSION_ONLY_KEEP_ALIVE.value])])
def test_the_gap_starts_at_the_login_request(after: float, expected: list[str]) -> None:
    story = Story()
    story.login(0)
    story.call(100, VERSION)
    story.call(after, PROBE)
    story.call(after + 1, LOGOFF)
    assert codes(check(story.records)) == expected


@pytest.mark.parametrize("subscriptions", [0, 2])
def test_getversion_alone_across_the_timeout_is_reported_whether_or_not_subscribed(subscriptions: int) -> None:
    story = Story()
    story.login(0, subscriptions=subscriptions)
    story.call(10, PROBE)
    story.call(200, VERSION)
    story.call(400, VERSION)
    late = story.call(10 + TIMEOUT + 5, PROBE)
    story.call(TIMEOUT + 20, LOGOFF)
    report = check(story.records)
    assert found(report) == [(late, Duty.GETVERSION_ONLY_KEEP_ALIVE.value)]  # one of the two rules, never both
    assert "2 call(s)" in report.findings[0].message


def test_getversion_within_the_timeout_is_no_finding() -> None:
    story = Story()
    story.login(0, subscriptions=1)
    story.call(10, PROBE)
    story.call(200, VERSION)
    story.call(400, PROBE)
    story.call(401, LOGOFF)
    assert found(check(story.records)) == []


def test_a_session_timeout_given_to_the_checker_changes_the_verdict() -> None:
    story = Story()
    story.login(0, subscriptions=1)
    story.call(10, PROBE)
    story.call(710, PROBE)
    story.call(711, LOGOFF)
    assert codes(check(story.records)) == [Duty.SESSION_SILENT_PAST_TIMEOUT.value]
    assert codes(check(story.records, session_timeout=700)) == []
    assert codes(check(story.records, session_timeout=800)) == []
    assert codes(check(story.records, session_timeout=699)) == [Duty.SESSION_SILENT_PAST_TIMEOUT.value]


# -- rule 5: session-not-logged-off ---------------------------------------------------------------------------


def test_a_session_held_at_the_end_is_a_warning() -> None:
    story = Story()
    login = story.login(0, subscriptions=1)
    story.call(10, PROBE)
    report = check(story.records)
    assert found(report) == [(len(story.records), Duty.SESSION_NOT_LOGGED_OFF.value)]
    assert report.findings[0].severity is Severity.WARNING
    assert report.findings[0].related == (login,)
    assert not report.failed


def test_a_session_ended_by_session_not_created_or_a_logoff_is_no_warning() -> None:
    for last in ("gone", "logoff"):
        story = Story()
        story.login(0)
        if last == "gone":
            story.call(10, PROBE, "gone")
        else:
            story.call(10, LOGOFF, "fault")  # a failed logoff ends the session all the same
        assert found(check(story.records)) == []


# -- rule 6: old-subscription-dropped-first -------------------------------------------------------------------


def test_an_unsubscribe_before_its_replacement_is_reported() -> None:
    story = Story()
    story.login(0, subscriptions=2)
    story.call(10, PROBE)
    dropped = story.call(20, UNSUBSCRIBE)
    replacement = story.call(21, SUBSCRIBE)
    story.call(30, LOGOFF)
    report = check(story.records)
    assert found(report) == [(dropped, Duty.OLD_SUBSCRIPTION_DROPPED_FIRST.value)]
    assert report.findings[0].related == (replacement,)


def test_a_renewal_new_first_then_old_is_no_finding() -> None:
    story = Story()
    story.login(0, subscriptions=2)
    story.call(10, PROBE)
    story.call(20, SUBSCRIBE)
    story.call(21, SUBSCRIBE)
    story.call(22, UNSUBSCRIBE)
    story.call(23, UNSUBSCRIBE)
    story.call(30, SUBSCRIBE)
    story.call(31, UNSUBSCRIBE)
    story.call(32, RENEW)
    story.call(40, UNSUBSCRIBE)  # unsubscribing before the logoff: no Subscribe follows
    story.call(41, UNSUBSCRIBE)
    story.call(42, LOGOFF)
    assert found(check(story.records)) == []


def test_a_drop_is_judged_in_its_session_only() -> None:
    story = Story()
    story.login(0, subscriptions=1)
    story.call(10, UNSUBSCRIBE)
    story.call(11, PROBE, "gone")
    story.login(12, subscriptions=0)
    story.call(13, SUBSCRIBE)
    story.call(14, LOGOFF)
    assert found(check(story.records)) == []


def test_after_a_relogin_the_subscriptions_owed_are_the_base() -> None:
    story = Story()
    story.login(0, subscriptions=1)
    story.call(10, PROBE, "gone")
    story.login(11, subscriptions=2)  # one owed, and a renewal's new one before any other call
    story.call(12, UNSUBSCRIBE)
    story.call(13, SUBSCRIBE)
    story.call(14, UNSUBSCRIBE)
    story.call(15, LOGOFF)
    assert found(check(story.records)) == []


def test_a_replacement_subscribe_refused_leaves_no_spare() -> None:
    story = Story()
    story.login(0, subscriptions=1)
    story.call(10, PROBE)
    story.call(20, SUBSCRIBE, "fault")
    dropped = story.call(21, UNSUBSCRIBE)
    story.call(22, SUBSCRIBE)
    story.call(30, LOGOFF)
    assert found(check(story.records)) == [(dropped, Duty.OLD_SUBSCRIPTION_DROPPED_FIRST.value)]


# -- how calls are read -----------------------------------------------------------------------------------------


def test_an_error_status_without_a_fault_is_a_failed_call_not_a_decode_error() -> None:
    story = Story(http=True)
    story.login(0, subscriptions=1)
    exchange = story.send(10, SUBSCRIBE)
    story.answer(10.1, SUBSCRIBE, exchange, "empty", status=503)  # a proxy's page during a failover
    exchange = story.send(11, SUBSCRIBE)
    story.answer(11.1, SUBSCRIBE, exchange, "ok", status=502)  # a response body with an error status: failed
    dropped = story.call(12, UNSUBSCRIBE)
    story.call(13, SUBSCRIBE)
    story.call(14, LOGOFF)
    # Neither failed Subscribe gave a spare subscription.
    assert found(check(story.records)) == [(dropped, Duty.OLD_SUBSCRIPTION_DROPPED_FIRST.value)]


def test_responses_pair_by_exchange_not_by_order() -> None:
    def story(http: bool) -> list[Record]:
        s = Story(http=http)
        s.login(0)
        slow = s.send(10, SUBSCRIBE)
        fast = s.send(10.5, PROBE)
        s.answer(10.6, PROBE, fast, "fault")  # answers the probe (a fault other than SessionNotCreatedException)
        s.answer(12, SUBSCRIBE, slow, "ok")
        s.call(20 + TIMEOUT, PROBE)
        s.call(21 + TIMEOUT, LOGOFF)
        return s.records

    # By exchange the Subscribe is confirmed: a subscribed session went silent.
    assert codes(check(story(True))) == [Duty.SESSION_SILENT_PAST_TIMEOUT.value]
    # First in, first out pairs the fault with the Subscribe: no subscription, no finding.
    assert codes(check(story(False))) == []


def test_a_notify_and_a_request_from_the_server_are_not_the_clients_calls() -> None:
    story = Story()
    story.login(0)
    story.call(5, LOGOFF)
    story.call(6, NOTIFY)
    story._record(Role.SERVER, 7, request_text(PROBE), None)
    assert found(check(story.records)) == []


def test_a_text_read_soap_refuses_is_a_decode_error_that_quotes_nothing() -> None:
    story = Story()
    story.login(0)
    doctype = f'<!DOCTYPE x [<!ENTITY e "{SSO_TOKEN}">]>' + request_text(PROBE)
    story._record(Role.CLIENT, 5, doctype, None)
    story._record(Role.SERVER, 5.1, "not xml " + SSO_TOKEN, None)
    story.call(6, LOGOFF)
    report = check(story.records)
    assert [(f.record, f.kind, f.code) for f in report.findings] == [
        (3, Kind.DECODE, "xml-entity-refused"), (4, Kind.DECODE, "xml-malformed")]
    for finding in report.findings:
        assert finding.excerpt == ""
        assert SSO_TOKEN not in repr(finding)


def test_a_record_with_a_json_message_is_a_decode_error() -> None:
    record = Record(file="c.jsonl", number=1, ts=T0, conn="c", sender=Role.CLIENT, protocol=PROTOCOL,
                    message={"operation": "GetVersion"}, raw=None)
    report = check([record])
    assert [(f.kind, f.code, f.message) for f in report.findings] == [(Kind.DECODE, "decode-error", RAW_REQUIRED)]


def test_json_lines_records_with_raw_soap_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    story = Story()
    story.login(0, subscriptions=1)
    story.call(10, PROBE, "gone")
    late = story.call(11, PROBE)
    story.login(12, subscriptions=1)
    story.call(20, LOGOFF)
    lines = [json.dumps({"ts": r.ts, "conn": "desk-1", "from": r.sender.value, "protocol": PROTOCOL, "raw": r.raw})
             for r in story.records]
    lines.append(json.dumps({"ts": T0 + 21, "conn": "desk-2", "from": "client", "protocol": PROTOCOL,
                             "message": {"x": 1}}))
    path = tmp_path / "cct.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["validate", "--format", "json", str(path)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [(f["record"], f["conn"], f["code"]) for f in out["findings"]] == [
        (late, "desk-1", Duty.CALL_WITHOUT_SESSION.value), (len(lines), "desk-2", "decode-error")]
    assert SSO_TOKEN not in json.dumps(out)


# -- HAR: SOAP entries ----------------------------------------------------------------------------------------


def soap_entry(started: float, op: Operation, sent: str | None, answer: str | None, *, status: int = 200,
               url: str | None = None, time: Any = 40.0, base64_body: bool = False, action: bool = True,
               mime: str = "text/xml; charset=utf-8") -> dict[str, Any]:
    headers = [{"name": "Cookie", "value": f"JSESSIONID={COOKIE}"},
               {"name": "Authorization", "value": f"Bearer {BEARER}"}]
    if action:
        headers.append({"name": "soapaction", "value": f'"{op.soap_action}"'})
    request: dict[str, Any] = {
        "method": "POST", "url": url or f"https://user:{COOKIE}@cct.example.com:8443/{op.service}?t={URL_TOKEN}#f",
        "headers": headers, "cookies": [{"name": "JSESSIONID", "value": COOKIE}],
        "queryString": [{"name": "t", "value": URL_TOKEN}],
    }
    if sent is not None:
        request["postData"] = {"mimeType": mime, "text": sent}
    content: dict[str, Any] = {"size": 0, "mimeType": "text/xml"}
    if answer is not None:
        content["text"] = base64.b64encode(answer.encode()).decode() if base64_body else answer
        if base64_body:
            content["encoding"] = "base64"
    iso = f"2030-03-17T17:46:{int(started):02d}.{round((started % 1) * 1000):03d}Z"
    return {"startedDateTime": iso, "time": time, "request": request,
            "response": {"status": status, "headers": [{"name": "Set-Cookie", "value": COOKIE}],
                         "content": content}}


def har(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": entries}}, indent=2).encode()


def read(entries: list[dict[str, Any]]) -> list[Record | BadRecord]:
    return list(read_har(har(entries), file="c.har"))


def ok(started: float, op: Operation, **options: Any) -> dict[str, Any]:
    return soap_entry(started, op, request_text(op), response_text(op), **options)


def test_a_soap_entry_gives_a_request_and_a_response_record() -> None:
    items = read([ok(1.5, PROBE)])
    assert len(items) == 2
    request, response = items
    assert isinstance(request, Record)
    assert isinstance(response, Record)
    assert (request.sender, response.sender) == (Role.CLIENT, Role.SERVER)
    assert request.protocol == response.protocol == PROTOCOL
    assert request.raw == request_text(PROBE)
    assert response.raw == response_text(PROBE)
    assert request.ts is not None
    assert response.ts == pytest.approx(request.ts + 0.040)
    assert request.location == "/log/entries/0/request/postData/text"
    assert response.location == "/log/entries/0/response/content/text"
    assert request.http == HttpExchange(exchange="0", soap_action=f'"{PROBE.soap_action}"', status=None)
    assert response.http == HttpExchange(exchange="0", soap_action=f'"{PROBE.soap_action}"', status=200)
    assert request.conn == response.conn == "https://cct.example.com:8443"
    assert request.starts_connection
    assert not response.starts_connection


def test_a_base64_response_is_decoded() -> None:
    items = read([soap_entry(1, PROBE, request_text(PROBE), response_text(PROBE), base64_body=True)])
    assert [item.raw for item in items if isinstance(item, Record)] == [request_text(PROBE), response_text(PROBE)]


def test_soap_entries_of_one_endpoint_are_one_connection_merged_in_time_order() -> None:
    entries = [
        ok(3, LOGOFF, url="https://cct.example.com:8443/SessionService"),
        ok(1, PROBE, url="https://cct.example.com:8443/MetricsService?x=1", time=3000.0),
        ok(2, VERSION, url="http://other.example.com/MetricsService"),
    ]
    items = read(entries)
    assert all(isinstance(item, Record) for item in items)
    order = [(item.conn, item.location) for item in items]
    assert order == [
        ("https://cct.example.com:8443", "/log/entries/1/request/postData/text"),
        ("http://other.example.com", "/log/entries/2/request/postData/text"),
        ("http://other.example.com", "/log/entries/2/response/content/text"),
        ("https://cct.example.com:8443", "/log/entries/0/request/postData/text"),
        ("https://cct.example.com:8443", "/log/entries/0/response/content/text"),
        ("https://cct.example.com:8443", "/log/entries/1/response/content/text"),
    ]
    assert [item.number for item in items] == [1, 2, 3, 4, 5, 6]
    assert [item.starts_connection for item in items if isinstance(item, Record)] == [
        True, True, False, False, False, False]


def test_endpoint_names_keep_scheme_host_and_port_only() -> None:
    assert endpoint_name(f"https://u:{COOKIE}@[2001:db8::1]:9443/p?t={URL_TOKEN}#x") == "https://[2001:db8::1]:9443"
    assert endpoint_name("http://h.example/p") == "http://h.example"
    assert endpoint_name(None) == "(no url)"
    assert endpoint_name("http://[::1") == "(unreadable url)"


def test_which_http_entries_are_soap_calls() -> None:
    text = request_text(PROBE)
    by_mime = soap_entry(1, PROBE, "\ufeff \n" + text, response_text(PROBE), action=False)
    soap12 = soap_entry(2, PROBE, text, response_text(PROBE), action=False, mime="application/soap+xml")
    not_xml = soap_entry(3, PROBE, '{"a": 1}', "{}", action=False, mime="text/xml")
    json_post = soap_entry(4, PROBE, text, "{}", action=False, mime="application/json")
    get = soap_entry(5, PROBE, text, "{}")
    get["request"]["method"] = "GET"
    items = read([by_mime, soap12, not_xml, json_post, get])
    assert [item.location for item in items] == [
        "/log/entries/0/request/postData/text", "/log/entries/0/response/content/text",
        "/log/entries/1/request/postData/text", "/log/entries/1/response/content/text"]
    assert all(isinstance(item, Record) and item.http and item.http.soap_action is None for item in items)


def test_malformed_soap_entries_are_bad_records_that_quote_nothing() -> None:
    no_text = soap_entry(1, PROBE, None, response_text(PROBE))
    bad_start = ok(2, PROBE)
    bad_start["startedDateTime"] = f"yesterday {URL_TOKEN}"
    bad_time = ok(3, PROBE, time="slow")
    no_answer = soap_entry(4, PROBE, request_text(PROBE), None)
    bad_base64 = soap_entry(5, PROBE, request_text(PROBE), None)
    bad_base64["response"]["content"].update(text=f"!{SSO_TOKEN}!", encoding="base64")
    items = read([no_text, bad_start, bad_time, no_answer, bad_base64])
    bad = {item.location: item.detail for item in items if isinstance(item, BadRecord)}
    assert set(bad) == {
        "/log/entries/0/request/postData/text", "/log/entries/1/startedDateTime", "/log/entries/2/time",
        "/log/entries/3/response/content/text", "/log/entries/4/response/content/text"}
    assert [item.location for item in items if isinstance(item, Record)] == [
        "/log/entries/2/request/postData/text", "/log/entries/3/request/postData/text",
        "/log/entries/4/request/postData/text"]
    for item in items:
        for secret in SECRETS:
            assert secret not in repr(item)
    report = validate_records(items)
    assert sorted(f.code for f in report.findings) == ["bad-record"] * 5


def test_no_answer_with_an_error_status_is_a_failed_call() -> None:
    items = read([soap_entry(1, PROBE, request_text(PROBE), None, status=0)])
    assert [item.raw for item in items if isinstance(item, Record)] == [request_text(PROBE), ""]
    assert validate_records(items).findings == []


def test_cookies_headers_and_query_tokens_never_reach_a_record_or_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    entries = [ok(0, LOGIN), ok(1, SUBSCRIBE), soap_entry(2, PROBE, request_text(PROBE), fault_text(), status=500),
               ok(3, PROBE), soap_entry(4, PROBE, f"<x>{SSO_TOKEN}", response_text(PROBE))]
    items = read(entries)
    report = validate_records(items)
    assert {f.code for f in report.findings} == {Duty.CALL_WITHOUT_SESSION.value, "soap-not-1.1"}
    texts = [repr(item) for item in items] + [repr(f) for f in report.findings]
    texts += [render(report, fmt) for fmt in ("text", "json", "junit")]
    path = tmp_path / "calls.har"
    path.write_bytes(har(entries))
    for fmt in ("text", "json"):
        assert main(["validate", "--format", fmt, str(path)]) == 1
        texts.append(capsys.readouterr().out)
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    # The records hold what was on the wire (the token is in the XML), never in a repr.
    assert any(SSO_TOKEN in (item.raw or "") for item in items if isinstance(item, Record))


# -- the samples ------------------------------------------------------------------------------------------------


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("cct_samples", ROOT / "tools" / "cct_samples.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_samples_are_what_the_tool_writes() -> None:
    assert _tool().main(["--check"]) == 0


def test_the_tool_check_notices_a_stale_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _tool()
    stale = tmp_path / "cct-clean.har"
    stale.write_bytes(CLEAN.read_bytes().replace(b"9443", b"9444"))
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    monkeypatch.setattr(tool, "SAMPLES", {stale: tool.clean})
    assert tool.main(["--check"]) == 1
    assert tool.main([]) == 0
    assert tool.main(["--check"]) == 0


def test_the_clean_sample_gives_no_finding(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", str(CLEAN)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["findings"] == []
    assert out["summary"]["errors"] == out["summary"]["warnings"] == 0
    assert out["summary"]["records"] > 20


def test_the_faulty_sample_names_each_duty_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", str(FAULTY)]) == 1
    out = json.loads(capsys.readouterr().out)
    capture_duties = [
        Duty.CALL_WITHOUT_SESSION, Duty.NOT_RESUBSCRIBED, Duty.SESSION_SILENT_PAST_TIMEOUT,
        Duty.GETVERSION_ONLY_KEEP_ALIVE, Duty.SESSION_NOT_LOGGED_OFF, Duty.OLD_SUBSCRIPTION_DROPPED_FIRST,
    ]
    assert sorted(f["code"] for f in out["findings"]) == sorted(duty.value for duty in capture_duties)
    found = {(f["record"], f["kind"], f["code"], f["severity"]) for f in out["findings"]}
    assert found == {(*t, "error") for t in CCT_FAULTY_ERRORS} | {(*t, "warning") for t in CCT_FAULTY_WARNINGS}
    severities = {f["code"]: f["severity"] for f in out["findings"]}
    assert severities.pop(Duty.SESSION_NOT_LOGGED_OFF.value) == "warning"
    assert set(severities.values()) == {"error"}
    text = json.dumps(out)
    tool = _tool()
    for secret in (*tool.SSO_TOKENS, tool.URL_TOKEN, tool.COOKIE, tool.AUTHORIZATION):
        assert secret not in text


def test_the_cli_session_timeout_option_reaches_the_checker(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", "--format", "json", "--cct-session-timeout", "700", str(FAULTY)])
    out = json.loads(capsys.readouterr().out)
    gaps = {Duty.SESSION_SILENT_PAST_TIMEOUT.value, Duty.GETVERSION_ONLY_KEEP_ALIVE.value}
    assert not gaps & {f["code"] for f in out["findings"]}
    assert len(out["findings"]) == 4


# -- a well-behaved client ----------------------------------------------------------------------------------------


@st.composite
def well_behaved(draw: st.DrawFn) -> list[Record]:
    """A client that keeps every duty: it probes within the timeout, re-logs in and re-subscribes every listener
    after a failover, renews new-first, uses GetVersion only beside its probes, and logs off."""
    story = Story(http=draw(st.booleans()))
    listeners = draw(st.integers(0, 3))
    now = 0.0
    logged_off = False
    for _session in range(draw(st.integers(1, 3))):
        story.login(now, subscriptions=listeners)
        now += 0.1 * (listeners + 1)
        held = listeners
        # A call after the opening subscriptions: a renewal before it would read as one more listener.
        story.call(now, PROBE)
        for _step in range(draw(st.integers(0, 6))):
            now += draw(st.floats(0.5, TIMEOUT - 20))
            action = draw(st.sampled_from(["probe", "version", "renew", "renew-two"]))
            if action == "version":
                story.call(now, VERSION)
                now += draw(st.floats(0.1, 10))
                story.call(now, PROBE)
            elif action.startswith("renew") and held:
                count = min(held, 2 if action == "renew-two" else 1)
                for _ in range(count):
                    now += 0.1
                    story.call(now, SUBSCRIBE)
                for _ in range(count):
                    now += 0.1
                    story.call(now, UNSUBSCRIBE)
            else:
                story.call(now, PROBE)
        now += draw(st.floats(0.5, TIMEOUT - 20))
        if draw(st.booleans()):
            story.call(now, PROBE, "gone")  # a failover: the next session re-subscribes every listener
            now += draw(st.floats(0.1, 30))
            logged_off = False
            continue
        if draw(st.booleans()):
            for _ in range(held):
                now += 0.1
                story.call(now, UNSUBSCRIBE)
        story.call(now + 0.1, LOGOFF)
        now += draw(st.floats(1, 2 * TIMEOUT))
        logged_off = True
    if not logged_off:
        story.login(now, subscriptions=listeners)
        story.call(now + 1, LOGOFF)
    return story.records


@settings(max_examples=100, deadline=None)
@given(well_behaved())
def test_a_well_behaved_client_gives_no_finding(records: list[Record]) -> None:
    assert found(check(records)) == []
