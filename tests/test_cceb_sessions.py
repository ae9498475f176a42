"""The CCEB's long-lived sessions: new and resumed sessions, the 72-hour rule to the second, auto_accept, timers,
keys (where they come from, collisions, never in a repr), constant-time comparison, and hello_reply."""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ccproto.cceb import (
    CcebConnection,
    ConnectionState,
    Hello,
    HelloReply,
    LongLivedSession,
    SessionStore,
    encode,
    is_resumable,
)
from ccproto.cceb.connection import same_key
from ccproto.cceb.quirks import SESSION_LIFETIME
from ccproto.core.errors import LimitExceededError
from ccproto.core.limits import Limits
from ccproto.core.roles import Role

HOUR = 3600.0
LIFETIME = 72 * HOUR
T0 = 1_000.0  # when the first session is created
GONE = 5_000.0  # when its WebSocket disconnects
AGENT = "agent-7"
TENANT = "acme"
TOKEN = "jwt-canary-0b7d"


def hello(**members: Any) -> Hello:
    return Hello.new(token=TOKEN, tenant=TENANT, **members)


def keys(*values: str) -> Callable[[], str]:
    """A ``new_key`` handing out ``values`` in order (then failing loudly)."""
    source: Iterator[str] = iter(values)
    return lambda: next(source)


def key(n: int) -> str:
    return f"key-{n:02d}-" + "x" * 40


def disconnected_session(store: SessionStore, **members: Any) -> LongLivedSession:
    """A session created at ``T0`` whose WebSocket closed at ``GONE``."""
    session, resumed = store.open_session(hello(long_lived=True, **members), now=T0, agent=AGENT)
    assert session is not None
    assert not resumed
    store.disconnected(session.key, now=GONE)
    assert session.disconnected_at == GONE
    return session


def test_the_lifetime_is_72_hours() -> None:
    assert SESSION_LIFETIME == LIFETIME == 259_200.0
    assert SessionStore().lifetime == LIFETIME


# -- new sessions ---------------------------------------------------------------------------------


def test_a_long_lived_hello_gets_a_new_session_with_a_new_key() -> None:
    store = SessionStore(new_key=keys(key(1)))
    session, resumed = store.open_session(hello(long_lived=True), now=T0, agent=AGENT)
    assert resumed is False
    assert session is not None
    assert (session.key, session.tenant, session.agent, session.auto_accept) == (key(1), TENANT, AGENT, False)
    assert (session.created_at, session.disconnected_at) == (T0, None)
    assert session.expires_at() is None
    assert len(store) == 1
    assert list(store) == [session]
    assert store.find(key(1), T0) is session


@pytest.mark.parametrize("members", [
    pytest.param({}, id="nothing-asked"),
    pytest.param({"long_lived": False}, id="long-lived-false"),
    pytest.param({"auto_accept": True}, id="auto-accept-only"),
])
def test_a_hello_not_asking_for_a_long_lived_session_gets_none(members: dict[str, Any]) -> None:
    store = SessionStore(new_key=keys())  # a key would be an error
    first = hello(**members)
    assert store.open_session(first, now=T0, agent=AGENT) == (None, False)
    reply = store.reply(first, now=T0, agent=AGENT)
    assert reply == HelloReply(uuid=first.uuid)
    assert (reply.session_key, reply.resumed) == (None, None)
    assert "session_key" not in encode(reply)
    assert len(store) == 0
    assert not store.has_valid_session(AGENT, now=T0)


def test_an_unknown_key_gets_a_new_session_with_a_new_key() -> None:
    store = SessionStore(new_key=keys(key(1), key(2)))
    known = disconnected_session(store)
    session, resumed = store.open_session(hello(session_key="never-issued-" + "z" * 30), now=GONE + 1)
    assert resumed is False
    assert session is not None
    assert session.key == key(2)
    assert session is not known
    assert len(store) == 2


# -- the 72-hour rule -----------------------------------------------------------------------------


def assert_resumed(store: SessionStore, old: LongLivedSession, now: float) -> None:
    old_key = old.key
    first = hello(session_key=old_key)
    session, resumed = store.open_session(first, now=now, agent=AGENT)
    assert resumed is True
    assert session is old
    assert session.key == old_key
    assert session.disconnected_at is None  # connected again
    assert session.created_at == T0
    assert len(store) == 1


def assert_new_session(store: SessionStore, old_key: str, now: float) -> LongLivedSession:
    session, resumed = store.open_session(hello(session_key=old_key), now=now, agent=AGENT)
    assert resumed is False
    assert session is not None
    assert session.key != old_key
    assert (session.created_at, session.disconnected_at) == (now, None)
    # The old key is forgotten: unknown from now on.
    assert store.find(old_key, now) is None
    assert [s.key for s in store] == [session.key]
    return session


def test_a_reconnect_72_hours_minus_one_second_after_the_disconnect_resumes() -> None:
    store = SessionStore(new_key=keys(key(1)))
    old = disconnected_session(store)
    assert_resumed(store, old, GONE + LIFETIME - 1)


def test_a_reconnect_exactly_72_hours_after_the_disconnect_still_resumes() -> None:
    store = SessionStore(new_key=keys(key(1)))
    old = disconnected_session(store)
    assert_resumed(store, old, GONE + LIFETIME)


def test_a_reconnect_72_hours_plus_one_second_after_the_disconnect_gets_a_new_session_and_key() -> None:
    store = SessionStore(new_key=keys(key(1), key(2), key(3)))
    old = disconnected_session(store)
    now = GONE + LIFETIME + 1
    new = assert_new_session(store, key(1), now)
    assert new.key == key(2)
    assert new is not old
    # The old key stays unknown: another reconnect with it gets yet another session.
    again, resumed = store.open_session(hello(session_key=key(1)), now=now + 1)
    assert resumed is False
    assert again is not None
    assert again.key == key(3)
    assert len(store) == 2


@pytest.mark.parametrize(("offset", "resumes"), [
    pytest.param(0.0, True, id="right-after"),
    pytest.param(LIFETIME - 1, True, id="72h-minus-1s"),
    pytest.param(LIFETIME - 0.001, True, id="72h-minus-1ms"),
    pytest.param(LIFETIME, True, id="exactly-72h"),
    pytest.param(LIFETIME + 0.001, False, id="72h-plus-1ms"),
    pytest.param(LIFETIME + 1, False, id="72h-plus-1s"),
    pytest.param(10 * LIFETIME, False, id="much-later"),
])
def test_the_72_hour_boundary(offset: float, resumes: bool) -> None:
    assert is_resumable(GONE, GONE + offset) is resumes
    store = SessionStore(new_key=keys(key(1), key(2)))
    old = disconnected_session(store)
    assert (store.find(key(1), GONE + offset) is old) is resumes
    assert store.has_valid_session(AGENT, now=GONE + offset) is resumes
    reply = store.reply(hello(session_key=key(1)), now=GONE + offset, agent=AGENT)
    assert reply.resumed is resumes
    assert reply.session_key == (key(1) if resumes else key(2))


def test_a_connected_session_resumes_whatever_the_time() -> None:
    store = SessionStore(new_key=keys(key(1)))
    session, _ = store.open_session(hello(long_lived=True), now=T0, agent=AGENT)
    assert session is not None
    for now in (T0, T0 + LIFETIME + 1, T0 + 100 * LIFETIME):
        assert is_resumable(None, now)
        assert store.find(key(1), now) is session
        found, resumed = store.open_session(hello(session_key=key(1)), now=now)
        assert (found, resumed) == (session, True)
    assert store.handle_timer(T0 + 1000 * LIFETIME) == ()
    assert store.get_timer() is None


def test_a_resumed_session_gets_72_hours_again_after_its_next_disconnect() -> None:
    store = SessionStore(new_key=keys(key(1)))
    old = disconnected_session(store)
    back = GONE + LIFETIME - 10
    assert_resumed(store, old, back)
    store.disconnected(key(1), now=back + 5)
    assert old.expires_at() == back + 5 + LIFETIME
    assert store.find(key(1), back + 5 + LIFETIME) is old
    assert store.find(key(1), back + 5 + LIFETIME + 1) is None


def test_a_custom_lifetime_is_honoured() -> None:
    store = SessionStore(lifetime=60.0, new_key=keys(key(1), key(2)))
    old = disconnected_session(store)
    assert store.find(key(1), GONE + 60.0) is old
    assert store.find(key(1), GONE + 61.0) is None
    assert store.get_timer() == after(GONE + 60.0)


# -- auto_accept ----------------------------------------------------------------------------------


def test_auto_accept_is_kept_with_the_session() -> None:
    store = SessionStore(new_key=keys(key(1)))
    session = disconnected_session(store, auto_accept=True)
    assert session.auto_accept is True
    # A resume that says nothing keeps it.
    store.open_session(hello(session_key=key(1)), now=GONE + 10)
    assert session.auto_accept is True
    store.disconnected(key(1), now=GONE + 20)
    # A resume that says false changes it...
    found, resumed = store.open_session(hello(session_key=key(1), auto_accept=False), now=GONE + 30)
    assert (found, resumed) == (session, True)
    assert session.auto_accept is False
    store.disconnected(key(1), now=GONE + 40)
    # ...and the next resume that says nothing keeps the new value.
    store.open_session(hello(session_key=key(1)), now=GONE + 50)
    assert session.auto_accept is False
    store.disconnected(key(1), now=GONE + 60)
    store.open_session(hello(session_key=key(1), auto_accept=True), now=GONE + 70)
    assert session.auto_accept is True


@pytest.mark.parametrize(("given", "kept"), [(None, False), (False, False), (True, True)])
def test_auto_accept_at_creation(given: bool | None, kept: bool) -> None:
    store = SessionStore(new_key=keys(key(1)))
    session, _ = store.open_session(hello(long_lived=True, auto_accept=given), now=T0)
    assert session is not None
    assert session.auto_accept is kept


def test_an_expired_sessions_auto_accept_is_not_inherited() -> None:
    store = SessionStore(new_key=keys(key(1), key(2)))
    disconnected_session(store, auto_accept=True)
    session, resumed = store.open_session(hello(session_key=key(1)), now=GONE + LIFETIME + 1)
    assert session is not None
    assert (resumed, session.auto_accept) == (False, False)


# -- has_valid_session and timers -----------------------------------------------------------------


def test_has_valid_session_until_72_hours_after_the_disconnect() -> None:
    store = SessionStore(new_key=keys(key(1)))
    assert not store.has_valid_session(AGENT, now=T0)
    session, _ = store.open_session(hello(long_lived=True), now=T0, agent=AGENT)
    assert session is not None
    assert store.has_valid_session(AGENT, now=T0 + 100 * LIFETIME)  # connected
    assert not store.has_valid_session("agent-8", now=T0)
    store.disconnected(key(1), now=GONE)
    assert store.has_valid_session(AGENT, now=GONE + LIFETIME - 1)
    assert store.has_valid_session(AGENT, now=GONE + LIFETIME)
    assert not store.has_valid_session(AGENT, now=GONE + LIFETIME + 1)
    assert store.handle_timer(GONE + LIFETIME + 1) == (session,)
    assert not store.has_valid_session(AGENT, now=GONE)


def test_get_timer_is_the_earliest_expiry() -> None:
    store = SessionStore(new_key=keys(key(1), key(2), key(3)))
    assert store.get_timer() is None
    first, _ = store.open_session(hello(long_lived=True), now=T0)
    second, _ = store.open_session(hello(long_lived=True), now=T0)
    third, _ = store.open_session(hello(long_lived=True), now=T0)
    assert first is not None
    assert second is not None
    assert third is not None
    assert store.get_timer() is None  # all connected
    store.disconnected(key(2), now=GONE + 50)
    assert store.get_timer() == after(GONE + 50 + LIFETIME)
    assert second.expires_at() == GONE + 50 + LIFETIME
    store.disconnected(key(1), now=GONE)
    assert store.get_timer() == after(GONE + LIFETIME)
    # Resuming the earliest one moves the timer on.
    store.open_session(hello(session_key=key(1)), now=GONE + 60)
    assert store.get_timer() == after(GONE + 50 + LIFETIME)


def test_handle_timer_drops_exactly_the_expired_sessions() -> None:
    store = SessionStore(new_key=keys(key(1), key(2), key(3), key(4)))
    early, _ = store.open_session(hello(long_lived=True), now=T0, agent="a1")
    late, _ = store.open_session(hello(long_lived=True), now=T0, agent="a2")
    connected, _ = store.open_session(hello(long_lived=True), now=T0, agent="a3")
    assert early is not None
    assert late is not None
    assert connected is not None
    store.disconnected(key(1), now=GONE)
    store.disconnected(key(2), now=GONE + 100)
    assert store.handle_timer(GONE) == ()
    assert store.handle_timer(GONE + LIFETIME) == ()  # at most 72 hours: still resumable
    assert len(store) == 3
    assert store.handle_timer(GONE + LIFETIME + 1) == (early,)
    assert list(store) == [late, connected]
    assert store.get_timer() == after(GONE + 100 + LIFETIME)
    assert store.handle_timer(GONE + 100 + LIFETIME + 1) == (late,)
    assert list(store) == [connected]
    assert store.get_timer() is None
    assert store.handle_timer(GONE + 1000 * LIFETIME) == ()
    # A dropped key is unknown: a hello with it gets a new session.
    reply = store.reply(hello(session_key=key(1)), now=GONE + 1000 * LIFETIME)
    assert (reply.session_key, reply.resumed) == (key(4), False)


def test_disconnected_with_an_unknown_key_changes_nothing() -> None:
    store = SessionStore(new_key=keys(key(1)))
    session, _ = store.open_session(hello(long_lived=True), now=T0)
    assert session is not None
    store.disconnected(key(2), now=GONE)
    store.disconnected(key(1)[:-1], now=GONE)
    assert session.disconnected_at is None
    assert store.get_timer() is None


# -- keys -----------------------------------------------------------------------------------------


def test_keys_come_from_the_injected_new_key() -> None:
    made: list[str] = []

    def new_key() -> str:
        made.append(key(len(made) + 1))
        return made[-1]

    store = SessionStore(new_key=new_key)
    sessions = [store.open_session(hello(long_lived=True), now=T0)[0] for _ in range(3)]
    assert [s.key for s in sessions if s] == made == [key(1), key(2), key(3)]


def test_default_keys_are_distinct_long_and_url_safe() -> None:
    store = SessionStore()
    found = [store.reply(hello(long_lived=True), now=T0).session_key for _ in range(200)]
    assert all(k is not None for k in found)
    assert len(set(found)) == 200
    for k in found:
        assert k is not None
        assert len(k) >= 32
        assert re.fullmatch(r"[A-Za-z0-9_-]+", k), k


def test_a_colliding_key_is_never_handed_out_twice() -> None:
    calls: list[str] = []
    values = iter([key(1), key(1), key(2)])

    def new_key() -> str:
        calls.append(next(values))
        return calls[-1]

    store = SessionStore(new_key=new_key)
    first, _ = store.open_session(hello(long_lived=True), now=T0)
    second, _ = store.open_session(hello(long_lived=True), now=T0)
    assert first is not None
    assert second is not None
    assert (first.key, second.key) == (key(1), key(2))
    assert calls == [key(1), key(1), key(2)]
    assert len(store) == 2


def test_a_key_colliding_with_an_expired_but_kept_session_is_not_handed_out() -> None:
    store = SessionStore(new_key=keys(key(1), key(1), key(2)))
    disconnected_session(store)
    # key(1) expired but was not dropped; another hello asks for a session.
    session, _ = store.open_session(hello(long_lived=True), now=GONE + LIFETIME + 1)
    assert session is not None
    assert session.key == key(2)


@pytest.mark.parametrize("case", ["expired-key", "unknown-key"])
def test_a_new_session_never_gets_the_key_the_hello_gave(case: str) -> None:
    store = SessionStore(new_key=keys(key(1), key(1), key(2)))
    if case == "expired-key":
        disconnected_session(store)
        now = GONE + LIFETIME + 1
    else:
        store = SessionStore(new_key=keys(key(1), key(2)))
        now = T0
    resume = hello(session_key=key(1))
    server = CcebConnection(Role.SERVER)
    server.receive_message(encode(resume))
    reply = store.reply(resume, now=now)
    assert reply.resumed is False
    assert reply.session_key is not None
    assert reply.session_key != key(1)
    server.send(reply)
    assert server.state is ConnectionState.OPEN


def test_the_key_never_appears_in_a_repr() -> None:
    store = SessionStore(new_key=keys(key(1), key(2)))
    first = hello(long_lived=True)
    reply = store.reply(first, now=T0, agent=AGENT)
    assert reply.session_key == key(1)
    (session,) = store
    resumed = store.reply(hello(session_key=key(1)), now=T0)
    assert resumed.session_key == key(1)
    for shown in (repr(session), str(session), repr(reply), str(reply), repr(resumed), repr(list(store))):
        assert key(1) not in shown
        assert "x" * 20 not in shown
    assert AGENT in repr(session)  # the repr still says something


# -- same_key -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "equal"), [
    pytest.param("abc", "abc", True, id="equal"),
    pytest.param("", "", True, id="both-empty"),
    pytest.param("abc", "abd", False, id="last-char-differs"),
    pytest.param("abc", "abcd", False, id="prefix"),
    pytest.param("abc", "ABC", False, id="case"),
    pytest.param("clé-ü", "clé-ü", True, id="non-ascii"),
    pytest.param(None, None, True, id="none-none"),
    pytest.param(None, "abc", False, id="none-key"),
    pytest.param("abc", None, False, id="key-none"),
    pytest.param(None, "", False, id="none-empty"),
])
def test_same_key(a: str | None, b: str | None, equal: bool) -> None:
    assert same_key(a, b) is equal
    assert same_key(b, a) is equal


def test_same_key_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    real = hmac.compare_digest
    calls: list[tuple[Any, Any]] = []

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return bool(real(a, b))

    # The name connection.py calls: ``hmac.compare_digest`` as seen from its namespace.
    monkeypatch.setattr("ccproto.cceb.connection.hmac.compare_digest", spy)
    assert same_key("k1", "k1")
    assert not same_key("k1", "k2")
    assert calls == [(b"k1", b"k1"), (b"k1", b"k2")]
    calls.clear()
    assert same_key(None, None)
    assert not same_key(None, "k1")
    assert calls == []
    # The store's lookups compare keys through it too.
    store = SessionStore(new_key=keys(key(1)))
    store.open_session(hello(long_lived=True), now=T0)
    calls.clear()
    assert store.find(key(1), T0) is not None
    assert calls == [(key(1).encode(), key(1).encode())]


# -- hello_reply ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["short-lived", "new", "resumed", "expired", "unknown"])
def test_reply_answers_the_hello_and_both_connections_accept_it(case: str) -> None:
    store = SessionStore(new_key=keys(key(1), key(2)))
    now = T0
    expected: tuple[str | None, bool | None]
    if case == "short-lived":
        first, expected = hello(), (None, None)
    elif case == "new":
        first, expected = hello(long_lived=True, auto_accept=True), (key(1), False)
    else:
        disconnected_session(store)
        now = GONE + (LIFETIME + 1 if case == "expired" else LIFETIME - 1)
        given = "unknown-" + "u" * 40 if case == "unknown" else key(1)
        first = hello(session_key=given)
        expected = (key(1), True) if case == "resumed" else (key(2), False)
        if case == "unknown":
            now = GONE + 1
    client, server = CcebConnection(Role.CLIENT), CcebConnection(Role.SERVER)
    received = server.receive_message(client.send(first, now=now), now=now)
    assert isinstance(received, Hello)
    reply = store.reply(received, now=now, agent=AGENT)
    assert reply.uuid == first.uuid
    assert (reply.session_key, reply.resumed) == expected
    text = server.send(reply, now=now)
    assert client.receive_message(text, now=now) == reply
    for end in (client, server):
        assert end.state is ConnectionState.OPEN
        assert end.error is None
        assert end.session_key == expected[0]
        assert end.in_flight() == ()
    if expected[0] is not None:
        assert store.has_valid_session(AGENT, now=now)


def test_the_documented_session_lifecycle() -> None:
    store = SessionStore()
    ends = {Role.CLIENT: CcebConnection(Role.CLIENT), Role.SERVER: CcebConnection(Role.SERVER)}
    first = ends[Role.SERVER].receive_message(ends[Role.CLIENT].send(hello(long_lived=True), now=0), now=0)
    assert isinstance(first, Hello)
    ends[Role.CLIENT].receive_message(ends[Role.SERVER].send(store.reply(first, now=0, agent=AGENT), now=0), now=0)
    saved = ends[Role.CLIENT].session_key
    assert saved is not None
    ends[Role.SERVER].receive_close(1001, "going away", now=2)
    store.disconnected(saved, now=2)
    again = store.reply(hello(session_key=saved), now=2 + 71 * HOUR)
    assert (again.resumed, again.session_key) == (True, saved)
    store.disconnected(saved, now=3 + 71 * HOUR)
    later = store.reply(hello(session_key=saved), now=3 + 71 * HOUR + LIFETIME + 1)
    assert later.resumed is False
    assert later.session_key not in (None, saved)


def after(moment: float) -> float:
    """The first moment a session disconnected ``LIFETIME`` before ``moment`` is gone (it is resumable at it)."""
    return math.nextafter(moment, math.inf)


def test_a_timer_fired_when_asked_drops_the_session_so_it_is_not_asked_again() -> None:
    # At exactly its expiry a session is still resumable: a timer at that moment would drop nothing and a
    # loop asking get_timer again would spin forever.
    store = SessionStore(new_key=keys(key(1)))
    session = disconnected_session(store)
    deadline = store.get_timer()
    assert deadline is not None
    assert store.find(key(1), GONE + LIFETIME) is session  # resumable at 72 h exactly
    assert store.handle_timer(deadline) == (session,)
    assert store.get_timer() is None


def test_a_full_store_makes_room_from_expired_sessions_then_refuses() -> None:
    store = SessionStore(new_key=keys(*(key(n) for n in range(1, 6))), limits=Limits(max_sessions=2))
    first = disconnected_session(store)
    store.open_session(hello(long_lived=True), now=GONE)
    # Full: the expired first session is dropped to make room.
    third, _ = store.open_session(hello(long_lived=True), now=GONE + LIFETIME + 1)
    assert third is not None
    assert first not in list(store)
    assert len(store) == 2
    with pytest.raises(LimitExceededError) as caught:
        store.open_session(hello(long_lived=True), now=GONE + LIFETIME + 1)
    assert caught.value.code == "too-many-sessions"
    assert "max_sessions=2" in str(caught.value)
    assert len(store) == 2  # the store keeps working with what it has
