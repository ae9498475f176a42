"""``ccproto serve``'s logging (issue 22): secret-free at every level, rate limited; bounded secret placeholders."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import websockets

from ccproto.capture import recording as recording_module
from ccproto.capture.recording import MAX_PLACEHOLDERS, Recording
from ccproto.core.redact import is_secret_header, redact_headers, redact_log_text, redact_urls
from ccproto.core.roles import Role
from ccproto.testing import logs
from ccproto.testing.logs import RateLimitFilter, SecretFilter, configure_logging
from ccproto.transports.ws import _NoSecrets, serve_websocket

CANARY = "hunter2-canary-7d41"


class FakeClock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def root_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo what configure_logging does to the root logger (the level, the handler it installed)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    monkeypatch.setattr(logs, "_installed", None)
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def make_record(msg: object, *args: object, level: int = logging.INFO, name: str = "ccproto.test",
                exc_info: logging._SysExcInfoType | None = None) -> logging.LogRecord:
    """A record as ``logger.log`` would make it."""
    return logging.LogRecord(name, level, __file__, 1, msg, args or None, exc_info)


def written(record: logging.LogRecord) -> str:
    """What a handler would write for ``record`` once SecretFilter passed it."""
    assert SecretFilter().filter(record)
    return logging.Formatter("%(message)s").format(record)


def exc_info_of(exc: BaseException) -> logging._SysExcInfoType:
    """``exc`` raised (it has a traceback), as ``exc_info``."""
    try:
        raise exc
    except BaseException:
        return sys.exc_info()


# -- the secret filter -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("msg", "args"), [
    ('hello {"token": "' + CANARY + '", "tenant": "acme"}', ()),
    ("hello %s", ('{"data": {"password": "' + CANARY + '"}}',)),
    ("hello %r", ({"session_key": CANARY},)),
    ("%s", (json.dumps(json.dumps({"token": CANARY})),)),  # JSON text in a string (item 7)
    ("< GET %s HTTP/1.1", ("/ws/v1?token=" + CANARY,)),
    ("connecting to %s", ("wss://agent:" + CANARY + "@example.com/ws",)),
    ("< %s: %s", ("Authorization", "Bearer " + CANARY)),
    ("< Cookie: s=%s", (CANARY,)),
    ("headers %s", ([("Host", "h"), ("X-Api-Key", CANARY)],)),
], ids=["msg", "args", "dict-arg", "nested-json", "url-query", "userinfo", "header", "cookie", "header-repr"])
def test_the_secret_filter_redacts_the_message(msg: str, args: tuple[object, ...]) -> None:
    record = make_record(msg, *args)
    text = written(record)
    assert CANARY not in text
    assert "***" in text
    assert record.args is None
    assert record.msg == text


def test_the_secret_filter_redacts_exception_and_stack_text() -> None:
    record = make_record("failed", exc_info=exc_info_of(ValueError(f"invalid HTTP header value: Bearer {CANARY}")))
    record.stack_info = f'Stack (most recent call last):\n  send(\'{{"token": "{CANARY}"}}\')'
    text = written(record)
    assert CANARY not in text
    assert "ValueError: invalid HTTP header value: ***" in text
    assert record.exc_info is None  # a later formatter cannot write the exception afresh
    assert record.exc_text is not None
    assert "Traceback" in record.exc_text


def test_the_secret_filter_survives_a_broken_format_and_still_redacts_its_arguments() -> None:
    record = make_record("%d requests from %s", "many", f"ws://h/?token={CANARY}")
    text = written(record)  # getMessage() would raise TypeError
    assert text.startswith("%d requests from %s")
    assert "'many'" in text
    assert "?***" in text
    assert CANARY not in text


def test_the_secret_filter_survives_an_unprintable_message() -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError(CANARY)

    text = written(make_record(Unprintable(), "x"))
    assert "Unprintable" in text
    assert CANARY not in text


def test_redact_urls_and_headers_leave_ordinary_text_alone() -> None:
    for text in ("listening on ws://127.0.0.1:8080 (ReferenceCceb)", "what? nothing", "exception: OSError(24)",
                 "< Host: 127.0.0.1:1234", "socket: <TransportSocket fd=6, laddr=('127.0.0.1', 80)>"):
        assert redact_log_text(text) == text
    assert redact_urls("ws://u:p@h/x?a=b&c=d ok") == "ws://***@h/x?*** ok"
    assert redact_headers("< Proxy-Authorization: Basic abc\r\n< Host: h") == "< Proxy-Authorization: ***\r\n< Host: h"
    assert is_secret_header("X-Vendor-Token")
    assert is_secret_header("COOKIE")
    assert not is_secret_header("Host")


# -- the rate limit ----------------------------------------------------------------------------------------------


def test_the_rate_limit_lets_the_first_n_through_and_summarises_the_rest_after_the_window() -> None:
    clock, emitted = FakeClock(), list[logging.LogRecord]()
    limiter = RateLimitFilter(3, 1.0, clock=clock, emit=emitted.append)
    kept = [limiter.filter(make_record("accept failed: %d", n, level=logging.ERROR)) for n in range(10)]
    assert kept == [True] * 3 + [False] * 7
    clock.now = 0.5
    assert limiter.filter(make_record("something else"))  # another kind has its own window
    assert limiter.filter(make_record("accept failed: %d", 10, level=logging.WARNING))  # another level too
    assert emitted == []  # the window is not over
    clock.now = 1.0
    assert limiter.filter(make_record("accept failed: %d", 11, level=logging.ERROR))  # a new window
    assert [(r.levelno, r.getMessage()) for r in emitted] == [
        (logging.ERROR, "accept failed: 9 (repeated 7 more times)")]


def test_the_rate_limit_reads_the_records_own_time_by_default() -> None:
    emitted: list[logging.LogRecord] = []
    limiter = RateLimitFilter(2, 1.0, emit=emitted.append)
    records = [make_record("tick") for _ in range(4)]
    for record, created in zip(records, (100.0, 100.2, 100.4, 100.9), strict=True):
        record.created = created
    assert [limiter.filter(record) for record in records] == [True, True, False, False]
    later = make_record("tick")
    later.created = 101.5
    assert limiter.filter(later)
    assert [r.getMessage() for r in emitted] == ["tick (repeated 2 more times)"]


def test_the_rate_limit_keys_on_the_first_line_of_the_template() -> None:
    # asyncio's exception handler logs the context (the socket, the exception) below its first line.
    limiter = RateLimitFilter(2, 1.0, clock=FakeClock())
    kept = [limiter.filter(make_record(f"socket.accept() out of system resource\nsocket: <fd={n}>"))
            for n in range(5)]
    assert kept == [True, True, False, False, False]


def test_the_rate_limit_writes_pending_summaries_when_flushed_and_bounds_its_table() -> None:
    emitted: list[logging.LogRecord] = []
    limiter = RateLimitFilter(1, 60.0, clock=FakeClock(), emit=emitted.append, max_kinds=5)
    for n in range(20):
        limiter.filter(make_record(f"unique {n}"))
        limiter.filter(make_record(f"unique {n}"))
        assert len(limiter._windows) <= 5
    limiter.flush()
    assert sorted(r.getMessage() for r in emitted) == sorted(f"unique {n} (repeated 1 more times)" for n in range(20))


def test_configured_logging_rate_limits_and_redacts_the_summary(root_logging: None) -> None:
    clock, stream = FakeClock(), io.StringIO()
    configure_logging("info", stream, limit=2, window=1.0, clock=clock)
    logger = logging.getLogger("ccproto.test.storm")
    for _ in range(50):
        logger.error("failed for %s", f"ws://h/ws?token={CANARY}")
    clock.now = 2.0
    logger.info("after the storm")
    lines = stream.getvalue().splitlines()
    assert lines == ["ERROR ccproto.test.storm: failed for ws://h/ws?***"] * 2 + [
        "ERROR ccproto.test.storm: failed for ws://h/ws?*** (repeated 48 more times)",
        "INFO ccproto.test.storm: after the storm"]


# -- configure_logging -------------------------------------------------------------------------------------------


def test_configure_logging_is_idempotent(root_logging: None) -> None:
    first, second = io.StringIO(), io.StringIO()
    clock = FakeClock()
    configure_logging("warning", first, limit=1, clock=clock)
    logging.getLogger("ccproto.test").warning("twice")
    logging.getLogger("ccproto.test").warning("twice")  # dropped: its summary is written when the handler goes
    handler = configure_logging("error", second, clock=clock)
    assert [h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)] == [handler]
    logging.getLogger("ccproto.test").error("once")
    assert first.getvalue().splitlines() == ["WARNING ccproto.test: twice",
                                             "WARNING ccproto.test: twice (repeated 1 more times)"]
    assert second.getvalue() == "ERROR ccproto.test: once\n"


def test_debug_reaches_websockets_and_a_lower_logger_does_not_go_below_the_level(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("debug", stream)
    assert logging.getLogger("websockets.server.ccproto").isEnabledFor(logging.DEBUG)
    configure_logging("warning", stream)
    chatty = logging.getLogger("ccproto.test.chatty")
    chatty.setLevel(logging.DEBUG)
    try:
        chatty.debug("too low")
    finally:
        chatty.setLevel(logging.NOTSET)
    assert "too low" not in stream.getvalue()


# -- websockets' records (transports/ws.py) ------------------------------------------------------------------------


def ws_filtered(record: logging.LogRecord) -> str | None:
    """The record's message after ``_NoSecrets`` (``None``: dropped)."""
    if not _NoSecrets().filter(record):
        return None
    return logging.Formatter("%(message)s").format(record)


def test_the_websockets_filter_redacts_the_request_line_and_refused_headers() -> None:
    name = "websockets.server.ccproto"
    assert ws_filtered(make_record("< %s %s %s", "GET", f"/ws/v1?token={CANARY}", "HTTP/1.1", name=name)) == (
        "< GET /ws/v1?*** HTTP/1.1")
    assert ws_filtered(make_record("> GET %s HTTP/1.1", f"/ws?token={CANARY}", name=name)) == "> GET /ws?*** HTTP/1.1"
    assert ws_filtered(make_record("< %s: %s", "Referer", f"http://h/p?token={CANARY}", name=name)) == (
        "< Referer: http://h/p?***")
    for header in ("Authorization", "cookie", "X-Auth-Token"):
        assert ws_filtered(make_record("< %s: %s", header, CANARY, name=name)) is None
    assert ws_filtered(make_record("< %s", f'TEXT \'{{"token": "{CANARY}"}}\'', name=name)) is None  # frames
    assert ws_filtered(make_record("= connection is %s", "OPEN", name=name)) == "= connection is OPEN"
    refused = make_record("! no valid HTTP request", level=logging.DEBUG, name=name,
                          exc_info=exc_info_of(ValueError(f"invalid HTTP header value: Bearer {CANARY}")))
    text = ws_filtered(refused)
    assert text is not None
    assert CANARY not in text
    assert "invalid HTTP header value: ***" in text


def test_websockets_handshake_logs_at_debug_hold_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def conversation() -> None:
        async def handler(link: object) -> None:
            await asyncio.sleep(0)

        server = await serve_websocket(handler, "127.0.0.1", 0)
        port = next(iter(server.sockets)).getsockname()[1]
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/v1?token={CANARY}", additional_headers=[
                ("Authorization", f"Bearer {CANARY}"), ("Cookie", f"s={CANARY}")]) as websocket:
            await websocket.wait_closed()
        # A request websockets refuses: it quotes the refused header value in its exception.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /ws?token={CANARY} HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {CANARY}\x01\r\n\r\n"
                     .encode("latin-1"))
        await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(conversation())
    ours = [r for r in caplog.records if r.name == "websockets.server.ccproto"]
    messages = [r.getMessage() for r in ours]
    assert "< GET /ws/v1?*** HTTP/1.1" in messages
    refused = [r for r in ours if r.getMessage() == "! no valid HTTP request"]
    assert refused
    assert refused[0].exc_text
    assert "invalid HTTP header value: ***" in refused[0].exc_text
    # Our own client here is websockets' plain one (its records are not ccproto's): only the server's count.
    formatter = logging.Formatter("%(message)s")
    assert not any(CANARY in formatter.format(record) for record in ours)


# -- recording placeholders --------------------------------------------------------------------------------------


def hello(token: object) -> str:
    """A CCEB hello carrying ``token``."""
    return json.dumps({"type": "hello", "uuid": "u", "data": {"token": token, "tenant": "acme"}})


def placeholder_of(recording: Recording, token: object) -> object:
    """What ``recording`` writes in place of a hello's ``token``."""
    record = recording.message(conn="c", sender=Role.CLIENT, protocol="cceb", now=0.0, text=hello(token))
    return record["message"]["data"]["token"]


def test_recording_placeholders_are_bounded_and_keep_no_secret_in_clear() -> None:
    recording = Recording(keep=False)
    first = placeholder_of(recording, f"{CANARY}-0")
    assert placeholder_of(recording, f"{CANARY}-0") == first  # equal secrets, equal placeholders
    for n in range(1, MAX_PLACEHOLDERS + 50):
        placeholder_of(recording, f"{CANARY}-{n}")
    table = recording._placeholders
    assert len(table) <= MAX_PLACEHOLDERS
    assert not any(CANARY.encode() in key or CANARY in repr(key) for key in table)
    assert CANARY not in repr(vars(recording))
    # The first secret was the least recently seen: dropped, it comes back with a new number.
    assert placeholder_of(recording, f"{CANARY}-0") == f"secret-{MAX_PLACEHOLDERS + 50 + 1}"
    last = f"{CANARY}-{MAX_PLACEHOLDERS + 49}"
    assert placeholder_of(recording, last) == f"secret-{MAX_PLACEHOLDERS + 50}"  # still known


def test_recording_placeholders_recently_seen_stay_and_numbers_keep_their_type(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recording_module, "MAX_PLACEHOLDERS", 3)
    recording = Recording(keep=False)
    assert [placeholder_of(recording, t) for t in ("a", "b", "c", "a", "d")] == [
        "secret-1", "secret-2", "secret-3", "secret-1", "secret-4"]  # "a" seen again: "b" is the one dropped
    assert placeholder_of(recording, "a") == "secret-1"
    assert placeholder_of(recording, "b") == "secret-5"
    assert placeholder_of(recording, 7) == 6
    assert placeholder_of(recording, 7.0) == 7.0
    assert placeholder_of(recording, "7") == "secret-8"


def test_a_recording_redacts_json_text_in_a_string() -> None:
    record = Recording(keep=False).message(conn="c", sender=Role.CLIENT, protocol="cceb", now=0.0, text=json.dumps(
        {"type": "hello", "uuid": "u", "data": json.dumps({"token": CANARY})}))
    assert CANARY not in json.dumps(record)
    assert json.loads(record["message"]["data"]) == {"token": "***"}
