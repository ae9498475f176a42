"""The secrets canary (issue 9): secrets planted in messages and captures never come out.

Unique canary strings (one per kind of secret, a non-ASCII one, one that looks like JSON, and a number) are
planted in every secret field of every message that has one, in extension members named like secrets, in
truncated and broken texts, and in captures; then nothing ccproto produces may contain any of them, in any
spelling (as is, JSON-escaped, Python-escaped, URL-quoted):

1. ``repr``/``str`` of models, ``Decoded``, the connection objects and what they hold, ``SessionStore`` and
   ``LongLivedSession``, events, capture records and findings;
2. every exception (``str``, ``repr``, every attribute, the traceback, chained exceptions) raised when such
   messages are invalid in every way we could think of, broken sessions included;
3. log records (every test runs at DEBUG for the root and ``ccproto`` loggers; ``_clean_logs`` checks them);
4. validation reports in every format for JSON Lines and HAR captures (and raw bridge streams), through the
   API and through ``ccproto validate``, and the live capture ``ccproto serve`` prints and records;
5. hypothesis's failure output (notes, reporter, traceback) for failing properties drawing ccproto's
   strategies, and for failing conformance machines against planted-bug peers (and the pytest plugin);
6. ``ccproto conformance``'s output and capture file against a live planted-bug server.

For the hypothesis parts the canaries are whatever secrets were generated: they are observed as they are
drawn or sent, and those of the reported example are sought (in any spelling) when they can be told apart
(four distinct characters, not only hexadecimal digits, not otherwise visible).

The leaks this canary found are fixed (none is left as an xfail); the last
section tests the fixes it brought (redaction of escaped, single-quoted and nested member names; drawn secrets
that print as ``'***'``; mutations that print as their repr).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, Phase, find, given, reporting, settings
from hypothesis import strategies as st
from hypothesis.vendor.pretty import pretty

import planted_bridge
import planted_cceb
import planted_processor
from ccproto import bridge, cceb, processor
from ccproto.bridge import ServerStatus
from ccproto.capture.live import LiveCapture
from ccproto.capture.output import FORMATS, render
from ccproto.capture.recording import Recording
from ccproto.capture.records import read_jsonl
from ccproto.capture.validator import validate_capture, validate_files, validate_message
from ccproto.cli import main
from ccproto.core.checker import excerpt
from ccproto.core.convert import encode_model
from ccproto.core.errors import ConnectionLostError, ProtocolError
from ccproto.core.findings import Report
from ccproto.core.framing import encode_frame
from ccproto.core.limits import Limits
from ccproto.core.model import Model, model_spec
from ccproto.core.redact import is_secret_key, redact, redact_text
from ccproto.core.roles import Role
from ccproto.testing.conformance import run_conformance
from ccproto.testing.harness import ConformanceFailure, PeerAdapter
from ccproto.testing.mutations import Mutation, Rule, mutations
from ccproto.testing.pytest_plugin import conformance_test
from ccproto.testing.sequences import Conversation, Step, conversations
from ccproto.testing.slices.bridge.peers import DEFAULT_AGENTS as BRIDGE_AGENTS
from ccproto.testing.slices.bridge.peers import ReferenceBridgeClient
from ccproto.testing.slices.cceb.peers import ReferenceCceb, ReferenceCcebClient
from ccproto.testing.slices.processor.peers import ReferenceProcessor, ReferenceProcessorClient
from ccproto.testing.strategies import SecretText, from_model
from ccproto.testing.strategies import secret as secret_strategy
from ccproto.transports.base import Expired

TESTS = Path(__file__).resolve().parent

# -- the canaries ---------------------------------------------------------------------------------------------

PASSWORD = "CANARY-pw-7f3a9"
TOKEN = "CANARY-tok-2b8c1"
SESSION_KEY = "CANARY-sk-9e4d0"
#: Two-byte, CJK and non-BMP characters: their escaped spellings must not come out either.
UNICODE = "CANARY-üñï-密码-🔑-5a1"
#: Looks like JSON: a redactor that ends the value at its first (escaped) quote would show the tail.
JSONISH = 'CANARY-js-1"}, "tail": "TAIL-6a0e'
#: A secret of the wrong type is still a secret.
NUMBER = 73319994217
CANARIES = (PASSWORD, TOKEN, SESSION_KEY, UNICODE, JSONISH)

#: What may never appear: every canary contains one of these (a piece of a canary is a leak too).
NEEDLES = ("CANARY", "TAIL-6a0e", str(NUMBER), "üñï", "密码", "🔑")
_NON_ASCII = ("üñï", "密码", "🔑")


def _spellings(piece: str) -> set[str]:
    """How ``piece`` looks once escaped: JSON (``\\u00fc``), Python (``\\xfc``), UTF-8 bytes, URL-quoted."""
    return {
        json.dumps(piece)[1:-1],
        ascii(piece)[1:-1],
        repr(piece.encode("utf-8"))[2:-1],
        urllib.parse.quote(piece),
    }


#: The escaped spellings, sought case-insensitively (``\u00FC`` is ``\u00fc``).
ESCAPED = tuple(sorted({spelling.lower() for piece in _NON_ASCII for spelling in _spellings(piece)}))


def secret_spellings(secret: str) -> set[str]:
    """How a generated secret may be shown: as is, as ``repr``, ``ascii`` and JSON (both ways) write it."""
    return {secret, repr(secret)[1:-1], ascii(secret)[1:-1], json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1]}


def leaks(text: str, secrets: Iterable[str] = ()) -> list[str]:
    """The needles (and ``secrets``, in any of their spellings) found in ``text``."""
    folded = text.lower()
    found = [needle for needle in NEEDLES if needle in text]
    found += [spelling for spelling in ESCAPED if spelling in folded]
    found += [secret for secret in secrets if any(spelling in text for spelling in secret_spellings(secret))]
    return found


def assert_clean(text: str, where: str, secrets: Iterable[str] = ()) -> None:
    """Fail, saying where, if ``text`` holds a canary."""
    found = leaks(text, secrets)
    assert not found, f"secret {found!r} leaked through {where}:\n{text[:4000]}"


def shown(value: Any) -> str:
    """``repr`` of a value, and its JSON text when it has one (both are ways it would be shown)."""
    text = repr(value)
    with contextlib.suppress(TypeError, ValueError):
        text += "\n" + json.dumps(value, ensure_ascii=False, default=repr)
    return text


def exception_texts(exc: BaseException) -> Iterator[tuple[str, str]]:
    """Every way an exception shows itself: str, repr, args, notes, its attributes (ccproto's own errors), the
    traceback, and the same for the exceptions chained to it as a traceback shows them (``__cause__``, and
    ``__context__`` unless suppressed; see ``test_suppressed_contexts_hold_no_secrets`` for the others)."""
    seen: set[int] = set()
    stack: list[tuple[str, BaseException]] = [("exception", exc)]
    while stack:
        where, current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield f"{where} str()", str(current)
        yield f"{where} repr()", repr(current)
        yield f"{where} .args", shown(current.args)
        yield f"{where} __notes__", shown(getattr(current, "__notes__", None))
        if isinstance(current, (ProtocolError, ConformanceFailure)):
            for name, value in vars(current).items():
                yield f"{where} .{name}", shown(value)
                if isinstance(value, BaseException):
                    stack.append((f"{where}.{name}", value))
        if isinstance(current, BaseExceptionGroup):
            stack.extend((f"{where}.exceptions[{i}]", sub) for i, sub in enumerate(current.exceptions))
        if current.__cause__ is not None:
            stack.append((f"{where}.__cause__", current.__cause__))
        if current.__context__ is not None and not current.__suppress_context__:
            stack.append((f"{where}.__context__", current.__context__))
    yield "traceback.format_exception()", "".join(traceback.format_exception(exc))


def assert_exception_clean(exc: BaseException, where: str, secrets: Iterable[str] = ()) -> None:
    """Fail if any way ``exc`` shows itself holds a canary."""
    secrets = tuple(secrets)
    for part, text in exception_texts(exc):
        assert_clean(text, f"{where}: {part}", secrets)


def attempt(call: Callable[[], Any], where: str, *, wire: bool = False) -> BaseException | None:
    """Run ``call``; check what it raised, or what it returned unless that is what crosses the wire (``wire``:
    the secrets are meant to be there); return the exception, if any."""
    try:
        result = call()
    except Exception as exc:
        assert_exception_clean(exc, where)
        return exc
    if not wire:
        assert_clean(shown(result), f"{where}: the result")
    return None


@pytest.fixture(autouse=True)
def _clean_logs(caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test runs with the root and ``ccproto`` loggers at DEBUG; no record may hold a canary."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="ccproto")
    yield
    if request.node.get_closest_marker("xfail") is None:  # an expected leak must not turn into a teardown error
        check_logs(caplog)


def check_logs(caplog: pytest.LogCaptureFixture, secrets: Iterable[str] = ()) -> None:
    """No log record (its message, its arguments, its formatted exception) holds a canary or ``secrets``."""
    secrets = tuple(secrets)
    for record in caplog.records:
        where = f"log record {record.name}:{record.levelname}"
        assert_clean(record.getMessage(), where, secrets)
        assert_clean(shown(record.args), f"{where} args", secrets)
        if record.exc_info and record.exc_info[1] is not None:
            assert_exception_clean(record.exc_info[1], f"{where} exc_info", secrets)
    assert_clean(caplog.text, "caplog.text", secrets)


# -- the messages that carry secrets ----------------------------------------------------------------------------

UUID = "3f2b6c1e-9d4a-4e7b-8c5d-0a1b2c3d4e5f"
REQUEST_ID = "6f1c2b9e-0a47-4d4b-9b8e-2f1d3c4b5a69"
TARGET = "acme.CONTROL"
PROTOCOLS = ("bridge", "processor", "cceb")
CODECS: dict[str, Any] = {"bridge": bridge, "processor": processor, "cceb": cceb}
CONNECTIONS: dict[str, Any] = {
    "bridge": bridge.ControlChannel, "processor": processor.ProcessorSession, "cceb": cceb.CcebConnection,
}


@attrs.frozen
class Planted:
    """A message with every secret field holding the canary; ``sender`` sends it."""

    name: str
    protocol: str
    sender: Role
    message: Model

    def text(self) -> str:
        return str(CODECS[self.protocol].encode(self.message))

    def value(self) -> dict[str, Any]:
        return dict(CODECS[self.protocol].encode_value(self.message))


def session_parameters(secret: str) -> processor.SessionParameters:
    return processor.SessionParameters(
        model="uccx", override=False, agent=processor.AgentCredentials(id="1001", password=secret)
    )


def planted(secret: str) -> list[Planted]:
    """Every message with a secret field (each secret field holds ``secret``)."""
    request = processor.PrepareSessionRequest(data=session_parameters(secret))
    return [
        Planted("agentinfo", "bridge", Role.SERVER, bridge.AgentInfoQuery(
            target=TARGET, request_id=REQUEST_ID, agent_id="a1", requesting_agent_login="login",
            requesting_agent_password=secret)),
        Planted("validatecredentials", "bridge", Role.SERVER, bridge.ValidateAgentCredentialsRequest(
            target=TARGET, request_id=REQUEST_ID, agent_id="a1", agent_login="login", agent_password=secret)),
        Planted("createsession", "bridge", Role.SERVER, bridge.CreateSessionRequest(
            target=TARGET, request_id=REQUEST_ID, agent_id="a1", agent_password=secret, session_id="s1",
            destination="d1")),
        Planted("prepareSession", "processor", Role.CLIENT, request),
        Planted("prepareSession-success", "processor", Role.SERVER, processor.PrepareSessionSuccess(
            resource=processor.SessionResource(id="r1", data=session_parameters(secret)))),
        Planted("prepareSession-confirm", "processor", Role.SERVER, processor.PrepareSessionConfirm(
            message="Replace the agent's session?", original=request)),
        Planted("prepareSession-failure", "processor", Role.SERVER,
                processor.failure_response(request, "denied", "wrong password")),
        Planted("hello", "cceb", Role.CLIENT, cceb.Hello(
            uuid=UUID, token=secret, tenant="acme", long_lived=True, session_key=secret)),
        Planted("hello_reply", "cceb", Role.SERVER, cceb.HelloReply(uuid=UUID, session_key=secret, resumed=True)),
    ]


PLANTED = [(secret, item) for secret in CANARIES for item in planted(secret)]
PLANTED_IDS = [f"{item.name}-{CANARIES.index(secret)}" for secret, item in PLANTED]
#: The canaries the costly tests (every broken text, every report format) plant: they are the hardest to redact.
HARD = (UNICODE, JSONISH)
BROKEN = [(secret, item) for secret in HARD for item in planted(secret)]
BROKEN_IDS = [f"{item.name}-{'unicode' if secret == UNICODE else 'jsonish'}" for secret, item in BROKEN]
ONE_EACH = planted(PASSWORD)
SECRET_NAMES = ("password", "token", "session_key", "sessionKey", "agentPassword", "requestingAgentPassword")


def test_every_secret_field_is_planted() -> None:
    """The catalogue covers every field declared secret (a new one must be added above)."""
    declared: set[tuple[str, str]] = set()
    stack: list[type[Model]] = [
        *bridge.ALL_MESSAGE_CLASSES, *processor.REGISTRY.message_classes(), *cceb.REGISTRY.message_classes()
    ]
    done: set[type[Model]] = set()
    while stack:
        cls = stack.pop()
        if cls in done:
            continue
        done.add(cls)
        for field in model_spec(cls).fields:
            if field.wire.secret:
                declared.add((cls.__name__, field.attr))
            if field.type.python_type is not None and isinstance(field.type.python_type, type) and issubclass(
                    field.type.python_type, Model):
                stack.append(field.type.python_type)
    covered = {
        ("AgentInfoQuery", "requesting_agent_password"), ("ValidateAgentCredentialsRequest", "agent_password"),
        ("CreateSessionRequest", "agent_password"), ("AgentCredentials", "password"), ("Hello", "token"),
        ("Hello", "session_key"), ("HelloReply", "session_key"),
    }
    assert declared == covered
    for item in ONE_EACH:
        assert PASSWORD in item.text()  # the canary really is in what crosses the wire


def paths_to_secrets(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The paths of the members of ``value`` whose key is secret."""
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_key(key):
                yield (*path, key)
            else:
                yield from paths_to_secrets(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_to_secrets(item, (*path, index))


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The paths of every member not under a secret key (objects and leaves)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not is_secret_key(key):
                yield (*path, key)
                yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from leaf_paths(item, (*path, index))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A deep copy of ``value`` with the member at ``path`` replaced by ``new``."""
    copy = json.loads(json.dumps(value))
    if not path:
        return new
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return copy


def get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def wrong_type(value: Any) -> Any:
    """A value of another JSON type."""
    if isinstance(value, bool):
        return "true"
    if isinstance(value, (int, float)):
        return "1"
    if isinstance(value, str):
        return 12345
    return 5


def with_secret_extras(message: Model, secret: str) -> Model:
    """``message`` with extension members named like secrets in each of its objects (nested, in lists too)."""
    spec = model_spec(type(message))
    extra: dict[str, Any] = dict(message.extra)
    for path in spec.objects:
        free = [name for name in SECRET_NAMES if name not in spec.known[path]]
        prefix = "".join("/" + part for part in path)
        for name in free[:2]:
            extra[f"{prefix}/{name}"] = secret
        extra[f"{prefix}/x-vendor"] = {"sessionKey": secret, "list": [{"token": secret}, {"password": [secret]}]}
    return attrs.evolve(message, extra=extra)


# -- 1. repr and str ----------------------------------------------------------------------------------------------


def show_everything(obj: Any) -> str:
    return f"{obj!r}\n{obj!s}\n{obj}\n{[obj]}\n{ {'k': obj} }"


@pytest.mark.parametrize(("secret", "item"), PLANTED, ids=PLANTED_IDS)
def test_models_and_decoded_never_show_secrets(secret: str, item: Planted) -> None:
    codec = CODECS[item.protocol]
    assert_clean(show_everything(item.message), f"repr/str of {item.name}")
    decoded = codec.decode_text(item.text())
    assert decoded.message == item.message
    assert_clean(show_everything(decoded), f"repr of Decoded {item.name}")
    assert_clean(show_everything(decoded.warnings), f"warnings of {item.name}")
    extended = with_secret_extras(item.message, secret)
    assert_clean(show_everything(extended), f"repr of {item.name} with secret extension members")
    again = codec.decode_text(codec.encode(extended))
    assert again.message == extended
    assert_clean(show_everything(again), f"repr of decoded {item.name} with secret extension members")


def wrong(value: Any) -> Any:
    """A value of a type the model does not allow (typed ``Any``, as a type checker would refuse it)."""
    return value


def test_models_holding_secrets_of_the_wrong_type_never_show_them() -> None:
    for value in (NUMBER, {"nested": PASSWORD, PASSWORD: 1}, [TOKEN, NUMBER], True):
        for message in (
            cceb.Hello(uuid=UUID, token=wrong(value), tenant="t", session_key=wrong(value)),
            cceb.HelloReply(uuid=UUID, session_key=wrong(value)),
            processor.AgentCredentials(id="1", password=wrong(value)),
            bridge.CreateSessionRequest(target=TARGET, request_id=REQUEST_ID, agent_id="a",
                                        agent_password=wrong(value), session_id="s", destination="d"),
        ):
            assert_clean(show_everything(message), f"repr of {type(message).__name__} holding {type(value)}")


OPENING = bridge.ServerStatusRequest(target=TARGET, request_id="00000000-0000-4000-8000-000000000001")


def hello_of(secret: str, **members: Any) -> cceb.Hello:
    return cceb.Hello(uuid=UUID, token=secret, tenant="acme", long_lived=True, session_key=secret, **members)


def primed(protocol: str, receiver: Role, secret: str = PASSWORD, **options: Any) -> Any:
    """A connection of ``receiver`` in a state where the planted messages of the peer are expected."""
    conn = CONNECTIONS[protocol](receiver, **options)
    if protocol == "bridge" and receiver is Role.CLIENT:
        conn.receive_message(bridge.encode(OPENING), now=1.0)
        conn.send(bridge.success_response(OPENING), now=1.0)
        conn.send(bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE), now=1.0)
    elif protocol == "processor" and receiver is Role.CLIENT:
        conn.send(processor.PrepareSessionRequest(data=session_parameters(secret)), now=1.0)
    elif protocol == "cceb" and receiver is Role.CLIENT:
        conn.send(hello_of(secret), now=1.0)
    return conn


def ready_to_send(protocol: str, sender: Role, secret: str = PASSWORD, **options: Any) -> Any:
    """A connection of ``sender`` in a state where it may send its planted messages."""
    conn = CONNECTIONS[protocol](sender, **options)
    if sender is Role.CLIENT:
        return conn
    if protocol == "bridge":
        conn.send(OPENING, now=1.0)
        conn.receive_message(bridge.encode(bridge.success_response(OPENING)), now=1.0)
        conn.receive_message(bridge.encode(bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE)), now=1.0)
    elif protocol == "processor":
        conn.receive_message(processor.encode(processor.PrepareSessionRequest(data=session_parameters(secret))))
    else:
        conn.receive_message(cceb.encode(hello_of(secret)), now=1.0)
    return conn


def connection_views(conn: Any) -> str:
    """What a connection object shows of itself and of what it holds."""
    parts: list[Any] = [conn, conn.__dict__, conn.outstanding(), conn.get_timer(), conn.error]
    # Not ``session_key``: the CCEB connection's accessor of the key is meant to give it.
    parts += [getattr(conn, name) for name in ("hello", "hello_reply", "closed", "confirmation", "server_status",
                                                "pending_hello") if hasattr(conn, name)]
    if isinstance(conn, cceb.CcebConnection):
        parts += [conn.in_flight(), conn.unacked_actions(), conn.unacked_notifications()]
    if isinstance(conn, processor.ProcessorSession):
        parts += [conn.pending_requests(), conn.active_reports]
    return "\n".join(show_everything(part) for part in parts)


@pytest.mark.parametrize("item", ONE_EACH, ids=[item.name for item in ONE_EACH])
def test_connection_objects_and_their_events_never_show_secrets(item: Planted) -> None:
    receiver = primed(item.protocol, item.sender.peer)
    received = receiver.receive_message(item.text(), now=2.0)
    assert received == item.message
    assert_clean(connection_views(receiver), f"the {item.protocol} connection that received {item.name}")
    sender = ready_to_send(item.protocol, item.sender)
    sent = sender.send(item.message, now=2.0)
    assert PASSWORD in (sent[4:].decode() if isinstance(sent, bytes) else sent)  # the wire carries it, of course
    assert_clean(connection_views(sender), f"the {item.protocol} connection that sent {item.name}")
    outstanding = sender.outstanding() + receiver.outstanding()
    lost = ConnectionLostError("the connection was lost", outstanding=outstanding, role=item.sender)
    assert_exception_clean(lost, "ConnectionLostError with what was outstanding")
    expired = sender.handle_timer(10_000.0) + receiver.handle_timer(10_000.0)
    assert_clean(show_everything(expired) + show_everything(Expired(items=expired)), "what handle_timer expired")
    for conn in (sender, receiver):
        assert attempt(partial(conn.close, 1000, "bye", now=10_001.0), "close()") is None
        attempt(partial(conn.receive_close, 1000, "bye", now=10_002.0), "receive_close()")
        assert_clean(connection_views(conn), f"the closed {item.protocol} connection")


def test_cceb_events_and_in_flight_items_never_show_secrets() -> None:
    server = cceb.CcebConnection(Role.SERVER)
    server.receive_message(planted(TOKEN)[7].text(), now=1.0)
    assert server.pending_hello is not None
    event = server.receive_close(4000, "client gone", now=2.0)  # closed before the reply: the hello in flight
    assert event.in_flight
    assert event.in_flight[0].message is not None
    assert_clean(show_everything(event), "ConnectionClosed with the hello in flight")
    assert_clean(show_everything(server.pending_hello), "InFlight of a hello")


def test_session_store_and_long_lived_sessions_never_show_keys() -> None:
    keys = iter([SESSION_KEY, UNICODE, JSONISH])
    store = cceb.SessionStore(new_key=lambda: next(keys))
    hello = cceb.Hello(uuid=UUID, token=TOKEN, tenant="acme", long_lived=True)
    reply = store.reply(hello, now=0.0, agent="agent-1")
    assert reply.session_key == SESSION_KEY
    assert_clean(show_everything(reply), "the hello_reply the store made")
    session = store.find(SESSION_KEY, 1.0)
    assert session is not None
    store.disconnected(SESSION_KEY, now=2.0)
    resumed = store.open_session(attrs.evolve(hello, session_key=SESSION_KEY, long_lived=None), now=3.0)
    assert resumed == (session, True)
    store.reply(attrs.evolve(hello, uuid=UUID, long_lived=True), now=4.0)  # a second session: UNICODE
    store.disconnected(SESSION_KEY, now=5.0)
    views = [store, list(store), session, resumed, store.get_timer(), store.has_valid_session("agent-1", now=6.0)]
    assert_clean("\n".join(show_everything(view) for view in views), "the session store")
    gone = store.handle_timer(10.0**9)
    assert gone
    assert_clean(show_everything(gone), "the sessions handle_timer dropped")


def test_peers_never_show_their_credentials() -> None:
    cceb_client = ReferenceCcebClient(token=TOKEN, tenant="acme")
    processor_client = ReferenceProcessorClient({"1001": PASSWORD})
    bridge_client = ReferenceBridgeClient(agents={"a1": PASSWORD})
    server = ReferenceCceb(store=cceb.SessionStore(new_key=lambda: SESSION_KEY))
    adapter = PeerAdapter(cceb_client)
    adapter.connect()
    hello = adapter.receive()
    server_adapter = PeerAdapter(server)
    server_adapter.connect()
    server_adapter.send(hello[0])
    adapter.send(server_adapter.receive()[0])
    assert cceb_client.session_key == SESSION_KEY
    for peer in (cceb_client, processor_client, bridge_client, server):
        assert_clean(show_everything(peer), f"repr of {type(peer).__name__}")
        assert_clean(show_everything(peer.errors), f"errors of {type(peer).__name__}")


def test_capture_records_and_findings_never_show_secrets() -> None:
    lines = [json.dumps({"from": item.sender.value, "protocol": item.protocol, "message": item.value()})
             for item in ONE_EACH]
    lines.append(json.dumps({"from": "client", "protocol": "cceb", "raw": planted(TOKEN)[7].text()}))
    lines.append('{"from": "client", "message": {"data": {"token": "' + TOKEN)  # not even a record
    for record in read_jsonl(lines, file="capture.jsonl"):
        assert_clean(show_everything(record), "a capture record")
    for item in ONE_EACH:
        findings = validate_message(item.text()[:-3], protocol=item.protocol, direction=item.sender)
        assert findings
        assert_clean(show_everything(findings) + shown([f.to_json() for f in findings]), "validate_message")


# -- 2. exceptions --------------------------------------------------------------------------------------------------


def escaped_key(key: str) -> str:
    """``key`` as JSON may spell it, every letter escaped (``\\u0074\\u006f...``)."""
    return "".join(f"\\u{ord(char):04x}" for char in key)


def cuts(text: str, secret: str, secret_paths: list[tuple[Any, ...]]) -> list[int]:
    """Where to cut ``text``: at every character of (and next to) the secret and the secret members' names, and
    at every sixth character elsewhere."""
    hot: set[int] = set(range(1, len(text), 6))
    for needle in {json.dumps(secret, ensure_ascii=False)[1:-1], *(f'"{path[-1]}"' for path in secret_paths)}:
        start = text.find(needle)
        while start != -1:
            hot.update(range(start - 2, start + len(needle) + 3))
            start = text.find(needle, start + 1)
    return sorted(cut for cut in hot if 0 < cut < len(text))


def broken_texts(item: Planted, secret: str) -> Iterator[tuple[str, str | bytes]]:
    """Texts holding ``item``'s secrets that are not valid messages, each labelled with what is wrong."""
    value = item.value()
    text = item.text()
    secret_paths = list(paths_to_secrets(value))
    assert secret_paths
    for path in leaf_paths(value):
        yield f"wrong type at {path}", json.dumps(replaced(value, path, wrong_type(get(value, path))))
    for path in secret_paths:
        for bad in (NUMBER, -NUMBER, NUMBER + 0.5, {"nested": secret, secret: NUMBER}, [secret, NUMBER], True, None):
            yield f"secret of type {type(bad).__name__} at {path}", json.dumps(replaced(value, path, bad))
            yield f"secret of type {type(bad).__name__} at {path}, compact", json.dumps(
                replaced(value, path, bad), ensure_ascii=False, separators=(",", ":"))
    # Cut short: the raw excerpt of what did not parse must be redacted.  At every character in and around the
    # secrets and their names, and here and there elsewhere.
    for cut in cuts(text, secret, secret_paths):
        yield f"cut at {cut}", text[:cut]
    escaped = text
    for key in {path[-1] for path in secret_paths}:
        escaped = escaped.replace(f'"{key}"', f'"{escaped_key(key)}"')
    assert escaped != text
    yield "escaped secret keys", escaped
    for cut in range(len(escaped) // 2, len(escaped), 3):
        yield f"escaped secret keys, cut at {cut}", escaped[:cut]
    yield "padded with whitespace, cut", text.replace(":", " :\n\t ")[:-2]
    yield "not an object", f"[{text}]"
    yield "an object in a string", json.dumps(text)
    yield "trailing garbage", text + "}"
    yield "two messages", text + text
    yield "invalid UTF-8 after it", text.encode("utf-8") + b"\xff"
    yield "bytes cut inside a character", text.encode("utf-8")[:-1] + "é".encode()[:1]
    yield "NaN after the secret", text[:-1] + ', "x-n": NaN}'
    yield "a huge number after the secret", text[:-1] + ', "x-n": 1e999}'
    extended = CODECS[item.protocol].encode_value(with_secret_extras(item.message, secret))
    for path in list(leaf_paths(extended))[:12]:
        yield f"secret extension members, wrong type at {path}", json.dumps(
            replaced(extended, path, wrong_type(get(extended, path))))
    yield "secret extension members, cut", json.dumps(extended)[:-5]


@pytest.mark.parametrize(("secret", "item"), BROKEN, ids=BROKEN_IDS)
def test_decoding_broken_messages_never_shows_secrets(secret: str, item: Planted) -> None:
    codec = CODECS[item.protocol]
    raised = 0
    for what, data in broken_texts(item, secret):
        where = f"{item.name} {what}"
        for strict in (False, True):
            raised += attempt(partial(codec.decode, data, strict=strict), where) is not None
            attempt(partial(codec.decode_text, data), where)
        if isinstance(data, str):
            with contextlib.suppress(ValueError):
                value = json.loads(data)
                if isinstance(value, dict):
                    attempt(partial(codec.decode_value, value), where)
    assert raised > len(item.text())  # every cut, at least, was refused


@pytest.mark.parametrize(("secret", "item"), BROKEN, ids=BROKEN_IDS)
def test_connections_refusing_broken_messages_never_show_secrets(secret: str, item: Planted) -> None:
    for number, (what, data) in enumerate(broken_texts(item, secret)):
        for sticky in (True, False) if number % 5 == 0 else (True,):
            conn = primed(item.protocol, item.sender.peer, secret, sticky_errors=sticky)
            where = f"{item.protocol} connection receiving {item.name} {what} (sticky={sticky})"
            if attempt(partial(conn.receive_message, data, now=3.0), where) is None:
                continue
            # A sticky connection refuses what follows, naming (and chaining) the first error.
            attempt(partial(conn.receive_message, item.text(), now=4.0), f"{where}, then again")
            assert_clean(connection_views(conn), f"{where}: the connection")


@pytest.mark.parametrize(("secret", "item"), BROKEN, ids=BROKEN_IDS)
def test_over_the_limits_errors_never_show_secrets(secret: str, item: Planted) -> None:
    text = item.text()
    small = Limits(max_message_bytes=len(text.encode("utf-8")) - 1)
    shallow = Limits(max_depth=1)
    codec = CODECS[item.protocol]
    for limits in (small, shallow):
        for data in (text, text.encode("utf-8"), text + " " * 3000):
            where = f"{item.name} over {limits}"
            assert attempt(partial(codec.decode, data, limits=limits), where) is not None
            conn = primed(item.protocol, item.sender.peer, secret)
            conn.limits = limits  # after priming: the priming messages are over these limits too
            attempt(partial(conn.receive_message, data, now=3.0), f"{where}, received")
    sender = ready_to_send(item.protocol, item.sender, secret)
    sender.limits = small
    assert attempt(lambda: sender.send(item.message, now=3.0), f"{item.name} sent over the size limit") is not None
    attempt(lambda: encode_frame(text.encode("utf-8"), limits=small), "a bridge frame over the limit")
    frames = bridge.FrameDecoder(limits=small)
    frames.feed(encode_frame(text.encode("utf-8")))
    attempt(frames.next_frame, "a bridge frame announced over the limit")


def test_bridge_byte_streams_of_broken_frames_never_show_secrets() -> None:
    for item in planted(UNICODE)[:3]:
        payload = item.text().encode("utf-8")
        for data in (encode_frame(payload[:-4]), encode_frame(payload + b"\xfe"), encode_frame(b"[" + payload)):
            channel = primed("bridge", Role.CLIENT)
            channel.receive_data(data)
            attempt(partial(channel.next_event, now=2.0), f"{item.name} in a broken frame")
            attempt(partial(list, channel), f"{item.name}: iterating after the error")


def test_sending_models_with_broken_secrets_never_shows_them() -> None:
    hello = planted(TOKEN)[7].message
    assert isinstance(hello, cceb.Hello)
    broken: list[Model] = [
        attrs.evolve(hello, token=wrong(NUMBER)),
        attrs.evolve(hello, token=wrong({"nested": TOKEN, TOKEN: 1})),
        attrs.evolve(hello, session_key=wrong([SESSION_KEY])),
        attrs.evolve(hello, tenant=wrong(5), token=TOKEN),
        attrs.evolve(hello, extra={"/data/token": TOKEN}),  # collides with the declared member
        attrs.evolve(hello, extra={"/nowhere/password": PASSWORD}),  # no containing object
        attrs.evolve(hello, extra={"/data/x": float("nan"), "/data/password": PASSWORD}),
        attrs.evolve(hello, extra={"/data/x": {1: PASSWORD}, "/data/password": PASSWORD}),
        attrs.evolve(hello, extra={"/data/x": {PASSWORD}, "/data/password": PASSWORD}),
        attrs.evolve(hello, extra={"/data/x": "\ud800", "/data/password": PASSWORD}),
        cceb.HelloReply(uuid="not-a-uuid", session_key=SESSION_KEY),
        processor.PrepareSessionRequest(data=attrs.evolve(session_parameters(PASSWORD), override=wrong("no"))),
        processor.PrepareSessionRequest(data=session_parameters(wrong(NUMBER))),
        processor.PrepareSessionRequest(data=attrs.evolve(
            session_parameters(PASSWORD), agent=processor.AgentCredentials(id=wrong(1), password=PASSWORD))),
        bridge.CreateSessionRequest(target="nope", request_id=REQUEST_ID, agent_id="a", agent_password=PASSWORD,
                                    session_id="s", destination="d"),
        bridge.ValidateAgentCredentialsRequest(target=TARGET, request_id=REQUEST_ID, agent_id="a", agent_login=wrong(5),
                                               agent_password=PASSWORD),
    ]
    for message in broken:
        protocol = next(p for p in PROTOCOLS if type(message).__module__.startswith(f"ccproto.{p}"))
        codec = CODECS[protocol]
        where = f"sending a broken {type(message).__name__}"
        assert attempt(partial(codec.encode, message), f"{where}: encode") is not None
        attempt(partial(codec.encode_value, message), f"{where}: encode_value", wire=True)
        sender = Role.CLIENT if isinstance(message, (cceb.Hello, processor.PrepareSessionRequest)) else Role.SERVER
        conn = ready_to_send(protocol, sender)
        attempt(partial(conn.send, message, now=2.0), f"{where}: send", wire=True)
        attempt(partial(conn.send, message, now=2.0), f"{where}: send again", wire=True)
        receiver = primed(protocol, sender.peer)
        attempt(partial(receiver.receive_message, message, now=2.0), f"{where}: a receiver given the model")


# -- 2b. broken conversations: the messages are valid, their place is not -----------------------------------------


def cceb_violations(secret: str) -> Iterator[tuple[str, Callable[[], Any]]]:
    hello = cceb.Hello(uuid=UUID, token=secret, tenant="acme", long_lived=True, session_key=secret)
    text = cceb.encode(hello)

    def hello_twice_received() -> None:
        server = cceb.CcebConnection(Role.SERVER)
        server.receive_message(text, now=1.0)
        server.receive_message(cceb.encode(attrs.evolve(hello, uuid=cceb.new_uuid())), now=2.0)

    def hello_twice_sent() -> None:
        client = cceb.CcebConnection(Role.CLIENT)
        client.send(hello, now=1.0)
        client.send(hello, now=2.0)

    def reply_to_another_uuid() -> None:
        client = primed("cceb", Role.CLIENT)
        client.receive_message(cceb.encode(cceb.HelloReply(uuid=cceb.new_uuid(), session_key=secret)), now=2.0)

    def resumed_with_another_key() -> None:
        client = cceb.CcebConnection(Role.CLIENT)
        client.send(hello, now=1.0)
        client.receive_message(cceb.encode(cceb.HelloReply(uuid=UUID, session_key=secret + "x", resumed=True)))

    def not_resumed_with_the_same_key() -> None:
        server = cceb.CcebConnection(Role.SERVER)
        server.receive_message(text, now=1.0)
        server.send(cceb.HelloReply(uuid=UUID, session_key=secret, resumed=False), now=2.0)

    def reply_from_the_client() -> None:
        server = cceb.CcebConnection(Role.SERVER)
        server.receive_message(cceb.encode(cceb.HelloReply(uuid=UUID, session_key=secret)), now=1.0)

    def hello_from_the_server() -> None:
        client = cceb.CcebConnection(Role.CLIENT)
        client.receive_message(text, now=1.0)

    def after_close() -> None:
        server = cceb.CcebConnection(Role.SERVER)
        server.receive_close(1000, "bye", now=1.0)
        server.receive_message(text, now=2.0)

    def reply_after_expiry() -> None:
        client = cceb.CcebConnection(Role.CLIENT)
        client.send(hello, now=1.0)
        client.handle_timer(10_000.0)
        client.receive_message(cceb.encode(cceb.HelloReply(uuid=UUID, session_key=secret, resumed=True)))

    def observed_with_a_tag() -> None:
        validator = cceb.CcebConnection(Role.SERVER, sticky_errors=False)
        validator.observe(hello, Role.CLIENT, tag=secret)
        validator.observe(hello, Role.CLIENT, tag=secret)

    def invalid_hello_observed() -> None:
        validator = cceb.CcebConnection(Role.SERVER, sticky_errors=False)
        validator.observe_invalid({"type": "hello", "uuid": UUID, "data": {"token": secret}}, Role.CLIENT)
        validator.receive_message(text, now=2.0)

    yield from (
        ("hello received twice", hello_twice_received), ("hello sent twice", hello_twice_sent),
        ("hello_reply to another uuid", reply_to_another_uuid), ("resumed with another key", resumed_with_another_key),
        ("the same key, not resumed", not_resumed_with_the_same_key), ("hello_reply from the client",
                                                                        reply_from_the_client),
        ("hello from the CCEB", hello_from_the_server), ("hello after the close", after_close),
        ("hello_reply after the hello expired", reply_after_expiry), ("observed twice", observed_with_a_tag),
        ("hello after an invalid hello", invalid_hello_observed),
    )


def processor_violations(secret: str) -> Iterator[tuple[str, Callable[[], Any]]]:
    request = processor.PrepareSessionRequest(data=session_parameters(secret))
    text = processor.encode(request)
    other = session_parameters(secret + "-other")

    def success_with_other_data() -> None:
        client = processor.ProcessorSession(Role.CLIENT)
        client.send(request, now=1.0)
        client.receive_message(processor.encode(processor.PrepareSessionSuccess(
            resource=processor.SessionResource(id="r1", data=other))), now=2.0)

    def failure_with_other_original() -> None:
        server = processor.ProcessorSession(Role.SERVER)
        server.receive_message(text, now=1.0)
        wrong = processor.failure_response(processor.PrepareSessionRequest(data=other), "denied", "no")
        server.send(wrong, now=2.0)

    def confirm_of_an_override() -> None:
        client = processor.ProcessorSession(Role.CLIENT)
        overriding = request.with_override()
        client.send(overriding, now=1.0)
        client.receive_message(processor.encode(processor.PrepareSessionConfirm(message="?", original=overriding)))

    def answer_to_nothing() -> None:
        client = processor.ProcessorSession(Role.CLIENT)
        client.receive_message(processor.encode(processor.PrepareSessionSuccess(
            resource=processor.SessionResource(id="r1", data=session_parameters(secret)))), now=1.0)

    def request_from_the_processor() -> None:
        client = processor.ProcessorSession(Role.CLIENT)
        client.receive_message(text, now=1.0)

    def too_many_pending() -> None:
        server = processor.ProcessorSession(Role.SERVER, limits=Limits(max_pending=1))
        server.receive_message(text, now=1.0)
        server.receive_message(text, now=2.0)

    def success_whose_password_object_differs() -> None:
        server = processor.ProcessorSession(Role.SERVER, sticky_errors=False)
        server.receive_message(text, now=1.0)
        success = processor.encode_value(processor.PrepareSessionSuccess(
            resource=processor.SessionResource(id="r1", data=session_parameters(secret))))
        success["resource"]["data"]["agent"]["password"] = {secret: secret}
        server.receive_message(json.dumps(success), now=2.0)

    def sticky_then_more() -> None:
        client = processor.ProcessorSession(Role.CLIENT)
        with contextlib.suppress(ProtocolError):
            client.receive_message(text, now=1.0)
        client.send(request, now=2.0)

    yield from (
        ("success with other data", success_with_other_data), ("failure with another original",
                                                                failure_with_other_original),
        ("confirm of an override", confirm_of_an_override), ("an answer to nothing", answer_to_nothing),
        ("a request from the processor", request_from_the_processor), ("too many pending", too_many_pending),
        ("a success whose password object differs", success_whose_password_object_differs),
        ("sticky, then more", sticky_then_more),
    )


def bridge_violations(secret: str) -> Iterator[tuple[str, Callable[[], Any]]]:
    create = bridge.CreateSessionRequest(target=TARGET, request_id=REQUEST_ID, agent_id="a1", agent_password=secret,
                                         session_id="s1", destination="d1")
    validate = bridge.ValidateAgentCredentialsRequest(target=TARGET, request_id=REQUEST_ID, agent_id="a1",
                                                      agent_login="l", agent_password=secret)

    def before_the_channel_opened() -> None:
        bridge.ControlChannel(Role.CLIENT).receive_message(bridge.encode(create), now=1.0)

    def duplicate_request_id() -> None:
        client = primed("bridge", Role.CLIENT)
        client.receive_message(bridge.encode(validate), now=1.0)
        client.receive_message(bridge.encode(create), now=2.0)

    def from_the_client() -> None:
        server = bridge.ControlChannel(Role.SERVER)
        server.receive_message(bridge.encode(create), now=1.0)

    def too_many_pending() -> None:
        client = primed("bridge", Role.CLIENT, limits=Limits(max_pending=1))
        client.receive_message(bridge.encode(validate), now=1.0)
        client.receive_message(bridge.encode(attrs.evolve(create, request_id=cceb.new_uuid())), now=2.0)

    def create_while_starting() -> None:
        client = bridge.ControlChannel(Role.CLIENT)
        opening = bridge.ServerStatusRequest(target=TARGET, request_id="00000000-0000-4000-8000-000000000001")
        client.receive_message(bridge.encode(opening))
        client.send(bridge.success_response(opening))
        client.send(bridge.ServerStatusChanged(status=ServerStatus.PAUSING_SERVICE))
        client.receive_message(bridge.encode(create))
        client.send(bridge.success_response(create))

    def sticky_then_more() -> None:
        client = bridge.ControlChannel(Role.CLIENT)
        with contextlib.suppress(ProtocolError):
            client.receive_message(bridge.encode(create))
        client.receive_data(encode_frame(bridge.encode(validate).encode()))
        client.next_event()

    yield from (
        ("createsession before the channel opened", before_the_channel_opened),
        ("a duplicate requestId", duplicate_request_id), ("a request from the client", from_the_client),
        ("too many pending", too_many_pending), ("createsession answered while pausing", create_while_starting),
        ("sticky, then more", sticky_then_more),
    )


@pytest.mark.parametrize("secret", CANARIES, ids=range(len(CANARIES)))
@pytest.mark.parametrize("violations", [cceb_violations, processor_violations, bridge_violations],
                         ids=["cceb", "processor", "bridge"])
def test_broken_conversations_never_show_secrets(
    violations: Callable[[str], Iterator[tuple[str, Callable[[], Any]]]], secret: str
) -> None:
    for what, run in violations(secret):
        assert attempt(run, what) is not None, f"{what}: no error"


def echo_inside_a_secret(secret: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A prepareSession whose password is an object (so the request is refused), and a failure echoing it with
    another object: the first difference lies inside the secret."""
    value = processor.encode_value(processor.PrepareSessionRequest(data=session_parameters(secret)))
    value["data"]["agent"]["password"] = {secret: 1, "inner": secret}
    echoed = replaced(value, ("data", "agent", "password"), {secret: 2, "inner": secret})
    failure = processor.encode_value(processor.FailureResponse(
        command="prepareSession", failure=processor.Failure(code="invalid", message="no"), original=echoed))
    return value, failure


def test_an_echo_differing_inside_a_secret_names_none_of_it() -> None:
    request, failure = echo_inside_a_secret(PASSWORD)
    problems: list[str] = []

    def check(run: Callable[[], None]) -> None:
        try:
            run()
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])

    def received() -> None:  # a client (or a validator) that saw the broken request
        client = processor.ProcessorSession(Role.CLIENT, sticky_errors=False)
        client.observe_invalid(request, Role.CLIENT, now=1.0)
        assert attempt(lambda: client.receive_message(json.dumps(failure), now=2.0), "a failure received") is not None

    def sent() -> None:  # a processor about to answer it
        server = processor.ProcessorSession(Role.SERVER, sticky_errors=False)
        with contextlib.suppress(ProtocolError):
            server.receive_message(json.dumps(request), now=1.0)
        answer = processor.decode_value(failure).message
        assert attempt(lambda: server.send(answer, now=2.0), "a failure sent") is not None

    def reported() -> None:
        report = validate_capture([
            {"from": "client", "protocol": "processor", "message": request},
            {"from": "server", "protocol": "processor", "message": failure},
        ])
        assert report.failed
        for fmt in FORMATS:
            assert_clean(render(report, fmt), f"the {fmt} report")

    for run in (received, sent, reported):
        check(run)
    assert not problems, "\n".join(problems)


def test_suppressed_contexts_hold_no_secrets() -> None:
    text = planted(TOKEN)[7].text()
    for data in (text.encode("utf-8") + b"\xff", text[:-3]):
        exc = attempt(partial(cceb.decode, data), "a broken hello")
        assert exc is not None
        context = exc.__context__
        if context is None:
            continue  # raised outside the except block: no parser exception (holding the text) is kept
        for name in ("object", "doc"):
            assert_clean(shown(getattr(context, name, None)), f"the suppressed __context__'s .{name}")
        assert_clean(repr(context), "repr() of the suppressed __context__")


# -- 4. validation reports ----------------------------------------------------------------------------------------


def record(item: Planted | None = None, *, sender: Role | None = None, protocol: str | None = None,
           conn: str = "c1", ts: float | None = None, **members: Any) -> str:
    """One JSON Lines record (``message`` of ``item`` unless ``raw``/``message``/``close`` is given)."""
    line: dict[str, Any] = {"conn": conn}
    if ts is not None:
        line["ts"] = ts
    line["from"] = (sender or (item.sender if item else Role.CLIENT)).value
    if protocol or item:
        line["protocol"] = protocol or (item.protocol if item else None)
    if not members and item is not None:
        members = {"message": item.value()}
    line.update(members)
    return json.dumps(line, ensure_ascii=False)


def capture_lines(secret: str) -> list[str]:
    """A capture holding ``secret``: valid conversations, broken messages, raw text, bad records."""
    items = planted(secret)
    by_name = {item.name: item for item in items}
    lines: list[str] = []
    # Valid conversations (each on its own connection).
    hello, reply = by_name["hello"], by_name["hello_reply"]
    lines += [record(hello, conn="cceb-ok", ts=1.0), record(reply, conn="cceb-ok", ts=2.0)]
    request, success = by_name["prepareSession"], by_name["prepareSession-success"]
    lines += [record(request, conn="proc-ok", ts=1.0), record(success, conn="proc-ok", ts=2.0)]
    # Every planted message with extension members, then broken in every way, on connections of their own.
    for index, item in enumerate(items):
        conn = f"{item.name}-{index}"
        extended = CODECS[item.protocol].encode_value(with_secret_extras(item.message, secret))
        lines.append(record(item, conn=conn + "-ext", message=extended))
        for number, (what, data) in enumerate(broken_texts(item, secret)):
            if number % 13 and not what.startswith(("escaped secret keys, cut", "not an", "an object in a string",
                                                     "secret of type dict", "secret of type list", "invalid UTF-8")):
                continue  # a sample keeps the capture small; the decoders saw every one above
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            lines.append(record(item, conn=f"{conn}-{number}", raw=text))
            with contextlib.suppress(ValueError):
                lines.append(record(item, conn=f"{conn}-{number}m", message=json.loads(text)))
    # Sessions resumed across connections (the validator remembers keys).
    lines += [
        record(hello, conn="s1", ts=10.0), record(reply, conn="s1", ts=11.0),
        record(sender=Role.CLIENT, protocol="cceb", conn="s1", ts=12.0, close={"code": 1000, "reason": secret}),
        record(sender=Role.SERVER, protocol="cceb", conn="s1", ts=12.0, close={"code": 1000, "reason": "bye"}),
        record(hello, conn="s2", ts=10.0**6), record(reply, conn="s2", ts=10.0**6 + 1),
    ]
    # Not records at all.
    lines += [
        '{"from": "client", "protocol": "cceb", "message": {"data": {"token": "' + secret.replace('"', '\\"'),
        "token=" + secret,
        json.dumps({"from": "client", "message": by_name["hello"].value(), "raw": "x"}),
        json.dumps({"from": "nobody", "message": by_name["hello"].value()}),
        json.dumps({"from": "client", "ts": secret, "message": by_name["hello"].value()}),
        json.dumps({"from": "client", "protocol": secret, "message": by_name["hello"].value()}),
        json.dumps({"from": "client", "raw": {"token": secret}}),
        json.dumps([by_name["hello"].value()]),
    ]
    # Raw text that is no JSON at all, with and without names that look secret.
    lines += [
        record(sender=Role.CLIENT, protocol="cceb", conn="raw-1", raw="token=" + secret),
        record(sender=Role.CLIENT, protocol="cceb", conn="raw-2", raw="{'password': '" + secret + "'}"),
        record(sender=Role.CLIENT, protocol="processor", conn="raw-3", raw='{"command": "prepareSession", "data": '
               '{"agent": {"id": "1", "pass\\u0077ord": "' + secret.replace('"', '\\"') + '"'),
        record(sender=Role.CLIENT, conn="raw-4", raw='{"data": {"token": "' + secret.replace('"', '\\"')),
    ]
    return lines


def har_document(secret: str) -> dict[str, Any]:
    """A DevTools HAR whose WebSocket frames (text and binary), URL, headers and cookies hold ``secret``."""
    items = planted(secret)
    frames: list[dict[str, Any]] = []
    moment = 1_700_000_000.0
    for item in items:
        if item.protocol != "cceb":
            continue
        text = item.text()
        direction = "send" if item.sender is Role.CLIENT else "receive"
        frames.append({"type": direction, "time": moment, "opcode": 1, "data": text})
        moment += 1
    hello = items[7].text()
    frames += [
        {"type": "send", "time": moment + 1, "opcode": 2,
         "data": base64.b64encode(hello.encode("utf-8")).decode()},
        {"type": "send", "time": moment + 2, "opcode": 1, "data": hello[:-7]},
        {"type": "send", "time": moment + 3, "opcode": 1, "data": hello.replace('"token"', '"' + escaped_key("token")
                                                                                + '"')[:-3]},
        {"type": "send", "time": moment + 4, "opcode": 2, "data": base64.b64encode(b"\xff" + hello.encode()).decode()},
        {"type": "send", "time": moment + 5, "opcode": 7, "data": hello},
        {"type": "send", "time": secret, "opcode": 1, "data": hello},
        {"type": "send", "time": moment + 6, "opcode": 1, "data": {"token": secret}},
    ]
    quoted = urllib.parse.quote(secret)
    request = {
        "method": "GET", "url": f"wss://user:{quoted}@cceb.example:8443/ws?token={quoted}#{quoted}",
        "headers": [{"name": "Authorization", "value": f"Bearer {secret}"}, {"name": "Cookie", "value": secret}],
        "cookies": [{"name": "session", "value": secret}],
    }
    return {"log": {"version": "1.2", "entries": [
        {"request": request, "response": {"status": 101, "headers": [{"name": "Set-Cookie", "value": secret}]},
         "_webSocketMessages": frames},
        {"request": {"method": "POST", "url": f"https://cceb.example/login?password={quoted}",
                     "postData": {"text": json.dumps({"password": secret})}}, "response": {"status": 200}},
        {"request": {"url": 5}, "_webSocketMessages": [{"type": "send", "time": 1.0, "opcode": 1, "data": hello}]},
    ]}}


def bridge_streams(tmp_path: Path, secret: str) -> tuple[Path, Path]:
    """Raw bridge byte streams (each side's frames) holding ``secret``, one frame cut short."""
    opening = bridge.ServerStatusRequest(target=TARGET, request_id="00000000-0000-4000-8000-000000000001")
    server_frames = [bridge.encode(opening)] + [item.text() for item in planted(secret)[:3]]
    client_frames = [bridge.encode(bridge.success_response(opening)),
                     bridge.encode(bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE))]
    server = tmp_path / "server.bin"
    client = tmp_path / "client.bin"
    server.write_bytes(b"".join(encode_frame(text.encode("utf-8")) for text in server_frames)
                       + encode_frame(planted(secret)[2].text().encode("utf-8"))[:-6])
    client.write_bytes(b"".join(encode_frame(text.encode("utf-8")) for text in client_frames)
                       + encode_frame(b'{"header": {"password": "' + secret.encode("utf-8")))
    return client, server


def capture_files(tmp_path: Path, secret: str) -> list[Path]:
    jsonl = tmp_path / "capture.jsonl"
    jsonl.write_text("\n".join(capture_lines(secret)) + "\n", encoding="utf-8")
    gz = tmp_path / "capture.jsonl.gz"
    gz.write_bytes(gzip.compress(jsonl.read_bytes()))
    cut_gz = tmp_path / "cut.jsonl.gz"
    cut_gz.write_bytes(gz.read_bytes()[: len(gz.read_bytes()) // 2])
    har = tmp_path / "session.har"
    har.write_text(json.dumps(har_document(secret), indent=2, ensure_ascii=False), encoding="utf-8")
    one_line_har = tmp_path / "one-line.har"
    one_line_har.write_text(json.dumps(har_document(secret), ensure_ascii=True), encoding="utf-8")
    broken_har = tmp_path / "broken.har"
    broken_har.write_text("{\n" + json.dumps(har_document(secret))[1:-40], encoding="utf-8")
    return [jsonl, gz, cut_gz, har, one_line_har, broken_har]


@pytest.mark.parametrize("secret", HARD, ids=["unicode", "jsonish"])
def test_validation_reports_never_show_secrets(tmp_path: Path, secret: str) -> None:
    files = capture_files(tmp_path, secret)
    reports: list[tuple[str, Report]] = []
    for number, path in enumerate(files):
        strict = number % 2 == 1
        reports.append((f"{path.name} strict={strict}", validate_capture(path, strict=strict, coverage=True)))
    text_lines = capture_lines(secret)
    reports.append(("a text stream", validate_capture(io.StringIO("\n".join(text_lines)), file="stream")))
    reports.append(("a list of records", validate_capture([json.loads(line) for line in text_lines
                                                             if line.startswith("{") and line.endswith("}")
                                                             and isinstance(json.loads(line), dict)])))
    reports.append(("two files at once", validate_files(files[:2], coverage=True)))
    assert reports[0][1].failed
    for name, report in reports:
        assert_clean(show_everything(report), f"the Report of {name}")
        assert_clean(shown(report.to_json()), f"the Report's JSON of {name}")
        for fmt in FORMATS:
            for max_findings in (None, 3):
                assert_clean(render(report, fmt, max_findings=max_findings), f"the {fmt} report of {name}")


def test_ccproto_validate_never_shows_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(path) for path in capture_files(tmp_path, UNICODE)]
    some = [files[0], files[3]]  # JSON Lines and HAR
    client, server = bridge_streams(tmp_path, JSONISH)
    streams = ["--bridge-stream", f"client={client}", "--bridge-stream", f"server={server}"]
    runs: list[list[str]] = [
        ["validate", *files],
        ["validate", "--format", "json", "--strict", "--coverage", *some],
        ["validate", "--format", "junit", "--max-findings", "5", *some],
        ["validate", "--input-format", "jsonl", files[3]],  # a HAR read as JSON Lines
        ["validate", "--input-format", "har", files[0]],  # JSON Lines read as a HAR
        ["validate", "--jobs", "2", "--format", "junit", *some],
        ["validate", *streams],
        ["validate", "--format", "junit", *streams],
        ["validate", "--output", str(tmp_path / "report.json"), "--format", "json", *files],
        ["validate", "--max-message-bytes", "120", "--max-depth", "2", "--max-pending", "1", "--max-connections", "2",
         *some],
    ]
    for argv in runs:
        status = main(argv)
        out, err = capsys.readouterr()
        assert status == 1, argv
        assert_clean(out, f"stdout of ccproto {' '.join(argv[:4])}")
        assert_clean(err, f"stderr of ccproto {' '.join(argv[:4])}")
    assert_clean((tmp_path / "report.json").read_text(encoding="utf-8"), "ccproto validate --output")


def test_recordings_and_live_capture_never_show_secrets(tmp_path: Path) -> None:
    lines: list[str] = []
    recorded = io.StringIO()
    live = LiveCapture(write=lines.append, record=recorded, name="serve")
    recording = Recording()
    for canary in CANARIES:
        for item in planted(canary):
            texts = [item.text(), item.text()[:-9], item.text().replace('"', "'"), json.dumps([item.value()])]
            for key in {path[-1] for path in paths_to_secrets(item.value())}:
                texts.append(item.text().replace(f'"{key}"', f'"{escaped_key(key)}"')[:-4])
            for text in texts:
                for writer in (live, recording):
                    writer.message(conn=item.name, sender=item.sender, protocol=item.protocol, now=1.0, text=text)
        live.close(conn="hello", sender=Role.CLIENT, protocol="cceb", now=2.0, code=1000)
    assert_clean("\n".join(lines), "the lines ccproto serve prints")
    assert_clean(live.summary(), "ccproto serve's summary")
    assert_clean(recorded.getvalue(), "ccproto serve --record")
    assert_clean(recording.jsonl(), "a Recording's JSON Lines")
    assert_clean(show_everything(live.report), "the live report")


def test_excerpts_and_redaction_helpers_never_show_secrets() -> None:
    for canary in CANARIES:
        for item in planted(canary):
            value, text = item.value(), item.text()
            assert_clean(excerpt(value), "excerpt of a value")
            assert_clean(excerpt(None, text[:-3]), "excerpt of raw text")
            assert_clean(shown(redact(value)), "redact()")
            for cut in range(1, len(text)):
                assert_clean(redact_text(text[:cut]), f"redact_text() cut at {cut}")
            for key in {path[-1] for path in paths_to_secrets(value)}:
                escaped = text.replace(f'"{key}"', f'"{escaped_key(key)}"')
                for cut in range(len(escaped) // 3, len(escaped) + 1):
                    assert_clean(redact_text(escaped[:cut]), f"redact_text() of escaped {key!r} cut at {cut}")


# -- 5. hypothesis's failure output ----------------------------------------------------------------------------------

QUICK = settings(database=None, derandomize=True, deadline=None, max_examples=300,
                 suppress_health_check=list(HealthCheck))


def secrets_in(value: Any, secret: bool = False) -> Iterator[str]:
    """The strings (and numbers) of ``value`` that sit under secret keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from secrets_in(item, secret or is_secret_key(key))
    elif isinstance(value, list):
        for item in value:
            yield from secrets_in(item, secret)
    elif secret and isinstance(value, str):
        yield value


def distinctive(secret: str, visible: str) -> bool:
    """Whether a generated secret can be sought: four distinct characters, not only hex digits (so never a piece
    of a uuid), and not visible anyway in what may be shown (the message without its secrets)."""
    return len(set(secret)) >= 4 and not set(secret) <= set("0123456789abcdefABCDEF-") and secret not in visible


def sought(secret: str) -> bool:
    """Whether a generated secret can be sought in a report (see :func:`distinctive`)."""
    return distinctive(secret, "")


def hypothesis_output(run: Callable[[], None], capsys: pytest.CaptureFixture[str]) -> tuple[BaseException, str]:
    """Run a failing hypothesis test; the exception and everything it printed, reported and noted."""
    reported: list[str] = []
    caught: BaseException | None = None
    with reporting.with_reporter(lambda value: reported.append(str(value))):
        try:
            run()
        except BaseException as exc:  # hypothesis may raise an ExceptionGroup
            caught = exc
    assert caught is not None, "the property was meant to fail"
    out, err = capsys.readouterr()
    return caught, "\n".join([*reported, out, err])


SECRET_CLASSES = [bridge.AgentInfoQuery, bridge.ValidateAgentCredentialsRequest, bridge.CreateSessionRequest,
                  processor.AgentCredentials, processor.PrepareSessionRequest, processor.PrepareSessionSuccess,
                  processor.PrepareSessionConfirm, cceb.Hello, cceb.HelloReply]
#: The explain phase (which parts of the example matter) prints the example as the calls that built it, with
#: comments; it is slow, so it runs for one message with both kinds of secret, without extension members.
EXPLAINED = (cceb.Hello,)


def check_reported(exc: BaseException, printed: str, what: str, secrets: list[str]) -> None:
    """Neither the failure (its notes, traceback, ...) nor what hypothesis printed holds a canary or ``secrets``."""
    for where, text in [*exception_texts(exc), ("what was printed and reported", printed)]:
        assert_clean(text, f"hypothesis's report of {what}: {where}", secrets)


@pytest.mark.parametrize(("cls", "explain"), [(cls, False) for cls in SECRET_CLASSES] + [
    (cls, True) for cls in EXPLAINED], ids=lambda value: getattr(value, "__name__", "explained" if value else ""))
def test_hypothesis_failures_never_show_drawn_secrets(cls: type[Model], explain: bool,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    drawn: list[list[str]] = []

    @settings(QUICK, phases=list(Phase) if explain else [p for p in Phase if p is not Phase.explain])
    @given(message=from_model(cls, with_extra=not explain))
    def property_that_fails(message: Model) -> None:
        value = encode_model(message)
        # Failing depends on the secrets alone, so the explain phase finds the other members free to vary.
        secrets = [s for s in secrets_in(value) if sought(s)]
        visible = json.dumps(redact(value), ensure_ascii=False)
        drawn.append([s for s in secrets if s not in visible])
        if secrets:  # hypothesis then reports the message (and this error, which names no secret)
            raise AssertionError("a distinctive secret was drawn")

    exc, printed = hypothesis_output(property_that_fails, capsys)
    assert drawn[-1], "the reported example (hypothesis runs it last) holds no distinctive secret"
    everything = printed + "".join(text for _, text in exception_texts(exc))
    # The example was shown: as the model's repr, or (which hypothesis prefers when the explain phase commented its
    # arguments, or the call is shorter) as the call that built it, where the secrets print as '***'.
    assert f"{cls.__name__}(" in everything
    check_reported(exc, printed, cls.__name__, drawn[-1])


def secrets_of_mutation(mutation: Any) -> list[str]:
    return [*secrets_in(mutation.value), *secrets_in(mutation.valid)]


def secrets_of_conversation(conversation: Any) -> list[str]:
    return [s for record in conversation.records() for s in secrets_in(record.get("message"))]


@pytest.mark.parametrize(("strategy", "secrets_of"), [
    (mutations("processor"), secrets_of_mutation),
    (mutations("bridge"), secrets_of_mutation),
    (conversations("cceb"), secrets_of_conversation),
    (conversations("processor"), secrets_of_conversation),
    (conversations("bridge"), secrets_of_conversation),
], ids=["mutations-processor", "mutations-bridge", "conversations-cceb",
        "conversations-processor", "conversations-bridge"])
def test_hypothesis_failures_never_show_secrets_of_mutations_and_conversations(
    strategy: st.SearchStrategy[Any], secrets_of: Callable[[Any], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[list[str]] = []

    @settings(QUICK, max_examples=500, phases=[Phase.explicit, Phase.generate])  # conversations shrink slowly
    @given(strategy)
    def property_that_fails(drawn: Any) -> None:
        secrets = [s for s in secrets_of(drawn) if distinctive(s, repr(drawn))]
        seen.append(secrets)
        if secrets:
            raise AssertionError("a distinctive secret was drawn")

    exc, printed = hypothesis_output(property_that_fails, capsys)
    assert seen[-1], "the reported example holds no distinctive secret"
    check_reported(exc, printed, repr(strategy)[:60], seen[-1])


def test_hypothesis_never_shows_secrets_of_models_it_did_not_build(capsys: pytest.CaptureFixture[str]) -> None:
    hello = planted(TOKEN)[7].message

    @settings(QUICK, max_examples=5)
    @given(st.sampled_from([hello]))
    def property_that_fails(message: Model) -> None:
        raise AssertionError("always")

    exc, printed = hypothesis_output(property_that_fails, capsys)
    for where, text in [*exception_texts(exc), ("printed and reported", printed)]:
        assert_clean(text, f"hypothesis's report of a sampled hello: {where}")


class SentSecrets:
    """An adapter around a peer that notes every secret crossing it (in either direction), per example."""

    examples: ClassVar[list[list[str]]] = []

    def __init__(self, peer: Any) -> None:
        self.inner = PeerAdapter(peer)
        self.stimuli = self.inner.stimuli
        self.seen: list[str] = []
        SentSecrets.examples.append(self.seen)

    def _note(self, text: str) -> None:
        with contextlib.suppress(ValueError):
            self.seen.extend(secrets_in(json.loads(text)))

    def connect(self) -> None:
        self.inner.connect()

    def send(self, text: str) -> None:
        self._note(text)
        self.inner.send(text)

    def receive(self) -> list[str]:
        texts = self.inner.receive()
        for text in texts:
            self._note(text)
        return texts

    def close(self) -> None:
        self.inner.close()

    def advance(self, seconds: float) -> bool:
        return self.inner.advance(seconds)

    def stimulate(self, name: str) -> None:
        self.inner.stimulate(name)


class FailsAfterResuming(ReferenceCceb):
    """A CCEB that acks actions with a wrong uuid, but only on a resumed session (so the harness drew a key)."""

    def ack_action(self, connection: cceb.CcebConnection, action: cceb.Action, *, now: float) -> list[str]:
        hello = connection.hello
        if hello is not None and hello.session_key is not None:
            return [cceb.encode(cceb.Ack(uuid=cceb.new_uuid()))]
        return super().ack_action(connection, action, now=now)


class AcksWrongForSoughtTokens(planted_cceb.AckWrongUuid):
    """Acks with a wrong uuid, but only on a connection whose hello's token can be sought: the failure the
    harness reports then holds such a token (drawn, so printed in its notes unless redacted)."""

    def ack_action(self, connection: cceb.CcebConnection, action: cceb.Action, *, now: float) -> list[str]:
        hello = connection.hello
        if hello is not None and sought(hello.token):
            return super().ack_action(connection, action, now=now)
        return ReferenceCceb.ack_action(self, connection, action, now=now)


class WrongDataForSoughtPasswords(planted_processor.WrongResourceData):
    """Repeats another ``data`` in a prepareSession success, but only for a password that can be sought."""

    def start_session(self, request: processor.PrepareSessionRequest) -> processor.PrepareSessionSuccess:
        if sought(request.data.agent.password):
            return super().start_session(request)
        return ReferenceProcessor.start_session(self, request)


class EchoesAnswers(ReferenceProcessorClient):
    """A client that sends back every answer it gets (a client never sends responses): with its password."""

    def receive(self, text: str, *, now: float) -> list[str]:
        return [*super().receive(text, now=now), text]


def canary_keys() -> Callable[[], str]:
    """Session keys that are canaries (each distinct)."""
    numbers = iter(range(10**6))
    return lambda: f"CANARY-sk-{next(numbers)}-{UNICODE}"


NO_SHRINK = settings(QUICK, max_examples=200, phases=[Phase.explicit, Phase.reuse, Phase.generate])


def conformance_output(protocol: str, role: str, make_peer: Callable[[], Any], run_settings: settings,
                       capsys: pytest.CaptureFixture[str]) -> tuple[BaseException, str, list[str]]:
    """Run the harness against a planted-bug peer; the failure, everything printed, and the reported example's
    secrets."""
    SentSecrets.examples = []
    exc, printed = hypothesis_output(
        lambda: run_conformance(protocol, role, lambda: SentSecrets(make_peer()), settings=run_settings), capsys)
    failure = exc if isinstance(exc, ConformanceFailure) else None
    if isinstance(exc, BaseExceptionGroup):
        found = exc.subgroup(ConformanceFailure)
        assert found is not None, exc
        failure = found.exceptions[0]  # type: ignore[assignment]
    assert isinstance(failure, ConformanceFailure), repr(exc)
    secrets = [s for s in SentSecrets.examples[-1] if distinctive(s, "")]
    return exc, printed + "\n" + failure.capture, secrets


@pytest.mark.parametrize(("protocol", "role", "make_peer", "run_settings", "always"), [
    ("cceb", "server", lambda: AcksWrongForSoughtTokens(store=cceb.SessionStore(new_key=canary_keys())),
     NO_SHRINK, ()),
    ("cceb", "server", lambda: FailsAfterResuming(store=cceb.SessionStore(new_key=canary_keys())), NO_SHRINK, ()),
    ("cceb", "server", lambda: planted_cceb.AckWrongUuid(store=cceb.SessionStore(new_key=canary_keys())),
     settings(QUICK, max_examples=100), ()),
    ("cceb", "client", lambda: planted_cceb.EchoesReservedField(token=TOKEN, tenant="acme"), NO_SHRINK, ()),
    ("processor", "server", WrongDataForSoughtPasswords, NO_SHRINK, ()),
    ("processor", "client", lambda: EchoesAnswers({"1001": PASSWORD, "1002": UNICODE}), NO_SHRINK, ()),
    ("bridge", "client", planted_bridge.CreateSessionWhilePausing, NO_SHRINK, tuple(BRIDGE_AGENTS.values())),
], ids=["cceb-server-token", "cceb-server-resumed", "cceb-server-shrunk", "cceb-client", "processor-server",
        "processor-client", "bridge-client"])
def test_conformance_failures_never_show_secrets(
    protocol: str, role: str, make_peer: Callable[[], Any], run_settings: settings, always: tuple[str, ...],
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest,
) -> None:
    exc, printed, secrets = conformance_output(protocol, role, make_peer, run_settings, capsys)
    if request.node.callspec.id in ("cceb-server-token", "processor-server", "cceb-client"):
        assert secrets, "the reported conversation holds no generated secret to seek"
    sought_too = [*secrets, *always]
    for where, text in [*exception_texts(exc), ("printed, reported and the capture", printed)]:
        assert_clean(text, f"the {protocol} {role} conformance failure: {where}", sought_too)
    check_logs(caplog, sought_too)


def test_the_pytest_plugin_never_shows_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    class Request:
        @staticmethod
        def getfixturevalue(name: str) -> Callable[[], Any]:
            return lambda: SentSecrets(FailsAfterResuming(store=cceb.SessionStore(new_key=canary_keys())))

    SentSecrets.examples = []
    test = conformance_test("cceb", "server", adapter="sut", settings=NO_SHRINK)
    exc, printed = hypothesis_output(lambda: test(Request()), capsys)  # type: ignore[arg-type]
    secrets = [s for s in SentSecrets.examples[-1] if distinctive(s, "")]
    for where, text in [*exception_texts(exc), ("printed and reported", printed)]:
        assert_clean(text, f"the pytest plugin's failure: {where}", secrets)


# -- 6. ccproto conformance against a live planted-bug server ----------------------------------------------------------


class LiveCanaryCceb(planted_cceb.AckWrongUuid):
    """Served by ``ccproto serve --peer``: a CCEB whose session keys are canaries (acks with a wrong uuid)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.store._new_key = canary_keys()  # the CLI makes the served store


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """``ccproto serve cceb`` with :class:`LiveCanaryCceb`, its URL."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    out = tmp_path / "serve.out"
    with out.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "ccproto", "serve", "cceb", "--listen", "127.0.0.1:0",
             "--peer", "test_secrets_canary:LiveCanaryCceb", "--record", str(tmp_path / "serve.jsonl")],
            stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"listening on (ws://\S+)", out.read_text())
            url = found.group(1) if found else None
            time.sleep(0.05)
        assert url is not None, out.read_text()
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    assert_clean(out.read_text(encoding="utf-8"), "ccproto serve's output")
    assert_clean((tmp_path / "serve.jsonl").read_text(encoding="utf-8"), "ccproto serve --record")


def test_ccproto_conformance_never_shows_secrets(
    live_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ccproto.testing.live import LiveAdapter

    sent: list[str] = []
    original = LiveAdapter.send

    def noting(self: LiveAdapter, text: str) -> None:
        with contextlib.suppress(ValueError):
            sent.extend(secrets_in(json.loads(text)))
        original(self, text)

    monkeypatch.setattr(LiveAdapter, "send", noting)
    capture = tmp_path / "failure.jsonl"
    status = main(["conformance", live_server, "--protocol", "cceb", "--role", "server", "--seed", "3",
                   "--max-examples", "60", "--no-shrink", "--wait", "0.05", "--capture", str(capture)])
    out, err = capsys.readouterr()
    assert status == 1, out + err
    secrets = [s for s in sent if len(s) >= 4]
    assert_clean(out, "ccproto conformance's output", secrets)
    assert_clean(err, "ccproto conformance's errors", secrets)
    assert_clean(capture.read_text(encoding="utf-8"), "ccproto conformance --capture", secrets)
    check_logs(caplog, secrets)


def test_websocket_transports_log_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    from ccproto.cceb.ws import connect_cceb, serve_cceb

    async def conversation() -> None:
        async def answer(stream: Any) -> None:
            hello = await stream.receive()
            await stream.send(cceb.HelloReply(uuid=hello.uuid, session_key=SESSION_KEY))
            with contextlib.suppress(Exception):
                await stream.receive()  # until the client closes

        server = await serve_cceb(answer, "127.0.0.1", 0)
        port = next(iter(server.sockets)).getsockname()[1]
        async with await connect_cceb(f"ws://127.0.0.1:{port}") as client:
            await client.send(cceb.Hello.new(token=TOKEN, tenant="acme", long_lived=True))
            reply = await client.receive()
            assert isinstance(reply, cceb.HelloReply)
        server.close()
        await server.wait_closed()

    asyncio.run(conversation())
    assert caplog.records
    check_logs(caplog)


# -- the fixes this canary brought: redaction of escaped, single-quoted and nested names; redacted draws ----------


@pytest.mark.parametrize("text", [
    '{"t\\u006fken": "' + TOKEN + '", "x": 1}',
    '{"\\u0074\\u006F\\u006B\\u0065\\u006E":"' + TOKEN,
    "{'password': '" + PASSWORD + " with spaces', 'x': 1}",
    "{'token': " + str(NUMBER) + "}",
    '{"password": \'' + PASSWORD + ' b\', "x": 1}',
    json.dumps(json.dumps({"data": {"token": JSONISH}})),
    json.dumps(json.dumps(json.dumps({"data": {"token": UNICODE}}))),
    json.dumps(json.dumps({"data": {"token": UNICODE}}), ensure_ascii=False)[:-9],
    json.dumps({"x-payload": json.dumps({"password": PASSWORD}), "password": PASSWORD}),
], ids=["escaped", "escaped-upper-cut", "single-quotes", "single-quotes-number", "single-quoted-value",
        "encoded-twice", "encoded-three-times", "encoded-twice-cut", "json-in-a-member"])
def test_redact_text_finds_secret_members_however_they_are_written(text: str) -> None:
    result = redact_text(text)
    assert_clean(result, "redact_text()")
    assert "***" in result


def test_redact_text_keeps_json_valid_and_the_rest_as_it_was() -> None:
    twice = json.dumps(json.dumps({"data": {"token": TOKEN, "tenant": "acme"}}))
    assert json.loads(json.loads(redact_text(twice))) == {"data": {"token": "***", "tenant": "acme"}}
    inside = json.dumps(["'password': 12", "keep"])
    assert json.loads(redact_text(inside)) == ["'password': '***'", "keep"]  # the string's quote is left alone
    plain = '{"a": "\\u00e9\\n", "b": "token", "c": "say \\"hi\\""}'
    assert redact_text(plain) == plain  # nothing secret: not even re-escaped


def test_redact_text_of_a_deeply_encoded_message_takes_linear_time() -> None:
    # Each level of encoding is read once: checking each level before redacting it doubled the work per level.
    text = json.dumps({"token": TOKEN, "filler": "x" * 1000})
    for _ in range(14):
        text = json.dumps({"a": text})
    started = time.perf_counter()
    result = redact_text(text)
    value = redact(json.loads(text))
    assert time.perf_counter() - started < 5.0  # about 0.1 s; the doubling took minutes
    assert_clean(result, "redact_text() of a message encoded 15 times")
    assert_clean(json.dumps(value), "redact() of a message encoded 15 times")


def test_redact_hides_secret_members_of_json_held_in_strings() -> None:
    value = {"x-payload": json.dumps({"token": TOKEN, "n": 1}), "note": "a token: not json", "list": ["password"]}
    result = redact(value)
    assert json.loads(result["x-payload"]) == {"token": "***", "n": 1}
    assert result["note"] == "a token: not json"
    assert result["list"] == ["password"]
    hello = attrs.evolve(planted(TOKEN)[7].message, extra={"/data/x-payload": json.dumps({"sessionKey": TOKEN})})
    assert_clean(repr(hello), "repr of a model whose extension member holds JSON with a secret")


def test_secret_text_prints_redacted_and_yields_the_plain_string() -> None:
    drawn = SecretText(TOKEN)
    assert repr(drawn) == "'***'"
    assert pretty(drawn) == "'***'"
    assert pretty((1, drawn)) == "(1, '***')"
    plain = str(drawn)
    assert plain == TOKEN
    assert type(plain) is str
    assert repr(find(secret_strategy(st.just("x")), lambda _: True)) == "'***'"
    assert find(secret_strategy(st.none()), lambda _: True) is None


@settings(QUICK, max_examples=30)
@given(hello=from_model(cceb.Hello), request=from_model(processor.PrepareSessionRequest),
       create=from_model(bridge.CreateSessionRequest))
def test_drawn_models_hold_plain_strings_and_encode(hello: cceb.Hello, request: processor.PrepareSessionRequest,
                                                    create: bridge.CreateSessionRequest) -> None:
    assert type(hello.token) is str
    assert hello.session_key is None or type(hello.session_key) is str
    assert type(request.data.agent.password) is str
    assert type(create.agent_password) is str
    for codec, message in ((cceb, hello), (processor, request), (bridge, create)):
        assert codec.decode(codec.encode(message)) == message


def test_mutations_conversations_and_models_print_without_secrets() -> None:
    value = planted(PASSWORD)[3].value()
    mutation = Mutation(rule=Rule.WRONG_TYPE, protocol="processor", value=value, pointer="/data/model", valid=value,
                        sender=Role.CLIENT)
    step = Step(sender=Role.CLIENT, message=planted(PASSWORD)[3].message, now=1.0)
    conversation = Conversation(protocol="processor", steps=(step,))
    assert pretty(mutation) == repr(mutation)  # attrs objects print field by field, repr=False ones too
    for drawn in (mutation, step, conversation, step.message):
        assert_clean(pretty(drawn), f"hypothesis's printing of a {type(drawn).__name__}")


@pytest.mark.parametrize("cls", [bridge.AgentInfoQuery, cceb.Hello, processor.PrepareSessionRequest, Mutation,
                                 SecretText], ids=lambda cls: cls.__name__)
def test_the_classes_themselves_print_as_classes(cls: type) -> None:
    # The conformance machines draw message classes as rule arguments, and hypothesis prints a failing example's
    # steps: a _repr_pretty_ looked up on the class was once called unbound and raised, so the replay of every
    # such failure broke and its shrunk conversation was lost.
    assert pretty(cls) == f"{cls.__module__}.{cls.__qualname__}"
    assert pretty([cls]) == f"[{cls.__module__}.{cls.__qualname__}]"
