"""ccproto.testing.mutations: every mutation is really invalid, for every protocol and rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ccproto.bridge import codec as bridge_codec
from ccproto.bridge.channel import ControlChannel
from ccproto.capture.validator import validate_capture, validate_message
from ccproto.cceb import codec as cceb_codec
from ccproto.cceb.connection import CcebConnection
from ccproto.core.errors import ProtocolError, UnknownCorrelationIdError
from ccproto.core.findings import Severity
from ccproto.core.model import split_pointer
from ccproto.core.roles import Role
from ccproto.processor import codec as processor_codec
from ccproto.processor.session import ProcessorSession
from ccproto.testing.mutations import PROTOCOLS, RULES_BY_PROTOCOL, Mutation, Rule, mutations
from ccproto.testing.slices.bridge.mutations import bridge_mutations
from ccproto.testing.slices.cceb.mutations import cceb_mutations
from ccproto.testing.slices.processor.mutations import processor_mutations

FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DECODERS: dict[str, Any] = {
    "bridge": bridge_codec.decode_value,
    "processor": processor_codec.decode_value,
    "cceb": cceb_codec.decode_value,
}

CONTEXT_FREE = [(p, r) for p in PROTOCOLS for r in RULES_BY_PROTOCOL[p] if not r.needs_context]


def _resolve(value: Any, ptr: str) -> bool:
    node = value
    for part in split_pointer(ptr):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _no_tuples(value: Any) -> bool:
    if isinstance(value, tuple):
        return False
    if isinstance(value, dict):
        return all(type(k) is str and _no_tuples(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_no_tuples(v) for v in value)
    return True


def _connection(protocol: str) -> Any:
    if protocol == "bridge":
        return ControlChannel(Role.SERVER, sticky_errors=False)
    if protocol == "processor":
        return ProcessorSession(Role.SERVER, sticky_errors=False)
    return CcebConnection(Role.SERVER, sticky_errors=False)


def _observe(conn: Any, protocol: str, sender: Role, value: dict[str, Any]) -> None:
    message = DECODERS[protocol](value).message
    if protocol == "processor":
        conn.observe(message, sender, value=value)
    else:
        conn.observe(message, sender)


def _records(m: Mutation, last: dict[str, Any]) -> list[dict[str, Any]]:
    messages = [*m.context, (m.sender, last)]
    return [{"conn": "c1", "from": role.value, "protocol": m.protocol, "message": value} for role, value in messages]


def test_rules_by_protocol() -> None:
    common = {Rule.WRONG_TYPE, Rule.MISSING_REQUIRED, Rule.BAD_ENUM, Rule.BAD_CONSTANT, Rule.OUT_OF_RANGE,
              Rule.NULL_MEMBER, Rule.NOT_AN_OBJECT, Rule.WRONG_CORRELATION_ID}
    assert set(RULES_BY_PROTOCOL["bridge"]) == common | {Rule.BAD_PATTERN}
    assert set(RULES_BY_PROTOCOL["processor"]) == common | {Rule.FORBIDDEN_MEMBER}
    assert set(RULES_BY_PROTOCOL["cceb"]) == set(Rule)
    assert all(r.value == r.value.lower() and " " not in r.value for r in Rule)


@pytest.mark.parametrize(("protocol", "rule"), CONTEXT_FREE, ids=[f"{p}-{r.value}" for p, r in CONTEXT_FREE])
def test_context_free_mutations_are_refused(protocol: str, rule: Rule) -> None:
    decode = DECODERS[protocol]

    @FAST
    @given(mutations(protocol, rules=[rule]))
    def check(m: Mutation) -> None:
        assert (m.rule, m.protocol, m.context) == (rule, protocol, ())
        assert _no_tuples(m.value)
        assert _no_tuples(m.valid)
        assert json.loads(m.text()) == m.value
        decode(m.valid)  # what it was made from is valid
        with pytest.raises(ProtocolError):
            decode(m.value)
        findings = validate_message(m.value, protocol=protocol, direction=m.sender)
        assert any(f.severity is Severity.ERROR for f in findings), findings
        text_findings = validate_message(m.text(), protocol=protocol, direction=m.sender.value)
        assert any(f.severity is Severity.ERROR for f in text_findings)
        if rule is Rule.MISSING_REQUIRED:
            assert _resolve(m.valid, m.pointer)
            assert not _resolve(m.value, m.pointer)
        else:
            assert _resolve(m.value, m.pointer)

    check()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wrong_correlation_id_answers_nothing_outstanding(protocol: str) -> None:
    @FAST
    @given(mutations(protocol, rules=[Rule.WRONG_CORRELATION_ID]))
    def check(m: Mutation) -> None:
        assert m.rule is Rule.WRONG_CORRELATION_ID
        assert m.context
        DECODERS[protocol](m.value)  # valid on its own
        conn = _connection(protocol)
        for sender, value in m.context:
            _observe(conn, protocol, sender, value)
        with pytest.raises(UnknownCorrelationIdError):
            _observe(conn, protocol, m.sender, m.value)
        report = validate_capture(_records(m, m.value))
        assert report.failed
        last = len(m.context) + 1
        assert any(f.record == last and f.severity is Severity.ERROR for f in report.findings), report.findings
        if protocol != "processor":
            # The answer it was made from, with the right id, is accepted after the same context.
            conn = _connection(protocol)
            for sender, value in m.context:
                _observe(conn, protocol, sender, value)
            _observe(conn, protocol, m.sender, m.valid)
            clean = validate_capture(_records(m, m.valid))
            assert not any(f.record == last and f.severity is Severity.ERROR for f in clean.findings)

    check()


class _AllSeen(Exception):
    """Raised as soon as every rule was seen: stops the search early."""


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_rule_is_produced(protocol: str) -> None:
    expected = set(RULES_BY_PROTOCOL[protocol])
    seen: set[Rule] = set()

    @settings(max_examples=500, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(mutations(protocol))
    def collect(m: Mutation) -> None:
        assert m.protocol == protocol
        seen.add(m.rule)
        if seen == expected:
            raise _AllSeen

    # Not raising means some rule never came up in 500 examples (the message says which).
    with pytest.raises(_AllSeen):
        collect()
    assert seen == expected


@FAST
@given(cceb_mutations(rules=[Rule.RESERVED_FIELD, "unsupported-action"]))
def test_rules_narrow(m: Mutation) -> None:
    assert m.rule in (Rule.RESERVED_FIELD, Rule.UNSUPPORTED_ACTION)
    assert m.pointer.startswith("/data/action")


@FAST
@given(
    bridge_mutations(rules=["bad-pattern"]),
    processor_mutations(rules={Rule.FORBIDDEN_MEMBER}),
    cceb_mutations(rules="null-member"),
)
def test_conveniences(bridge: Mutation, processor: Mutation, cceb: Mutation) -> None:
    assert (bridge.protocol, bridge.rule) == ("bridge", Rule.BAD_PATTERN)
    assert (processor.protocol, processor.rule) == ("processor", Rule.FORBIDDEN_MEMBER)
    assert (cceb.protocol, cceb.rule) == ("cceb", Rule.NULL_MEMBER)


@pytest.mark.parametrize(
    ("protocol", "rules"),
    [("smtp", None), ("bridge", [Rule.RESERVED_FIELD]), ("cceb", ["no-such-rule"]), ("processor", [])],
)
def test_bad_arguments_fail_when_drawn_not_when_built(protocol: str, rules: Any) -> None:
    strategy = mutations(protocol, rules=rules)  # building never raises

    @given(strategy)
    def draw(m: Mutation) -> None:
        raise AssertionError("unreachable")

    with pytest.raises(InvalidArgument):
        draw()


def test_repr_hides_planted_secrets() -> None:
    hello: dict[str, Any] = {"type": "hello", "uuid": "00000000-0000-0000-0000-000000000000",
             "data": {"token": "tok-PLANTED-7", "tenant": "t", "session_key": "key-PLANTED-9"}}
    m = Mutation(
        rule=Rule.NULL_MEMBER, protocol="cceb", value={**hello, "data": {**hello["data"], "long_lived": None}},
        pointer="/data/long_lived", valid=hello, sender=Role.CLIENT,
        context=((Role.CLIENT, {"body": {"agentPassword": "pw-PLANTED-3"}}),),
    )
    shown = repr(m)
    assert "PLANTED" not in shown
    assert "null-member" in shown
    assert "/data/long_lived" in shown


@FAST
@given(st.sampled_from(PROTOCOLS).flatmap(mutations))
def test_repr_shows_no_member_values(m: Mutation) -> None:
    assert repr(m) == (f"Mutation(rule={m.rule!r}, protocol={m.protocol!r}, pointer={m.pointer!r}, "
                       f"sender={m.sender!r})")
