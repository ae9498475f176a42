"""Long-lived sessions: the CCEB's session store, pure (time is passed in).

A hello that asks for a long-lived session gets a ``session_key``; a later
hello with that key resumes the session (same key, ``resumed: true``) if its
WebSocket disconnected at most :data:`~ccproto.cceb.quirks.SESSION_LIFETIME`
(72 h) ago, and otherwise gets a new session with a new key.  Keys come from
:mod:`secrets` and are looked up by their SHA-256 digest, then compared in
constant time, so neither the lookup nor the comparison leaks a key's prefix.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable, Iterator

import attrs

from ccproto.cceb.connection import same_key
from ccproto.cceb.models import Hello, HelloReply
from ccproto.cceb.quirks import SESSION_LIFETIME
from ccproto.core.errors import LimitExceededError
from ccproto.core.limits import DEFAULT_LIMITS, Limits

__all__ = ["LongLivedSession", "SessionStore", "is_resumable", "key_digest"]


def is_resumable(disconnected_at: float | None, now: float, lifetime: float = SESSION_LIFETIME) -> bool:
    """Whether a session disconnected at ``disconnected_at`` (``None``: still connected) may resume at ``now``.

    The one place the 72-hour rule lives: the store and the capture validator both ask it.
    """
    return disconnected_at is None or now - disconnected_at <= lifetime


def key_digest(key: str) -> bytes:
    """The SHA-256 digest a session key is looked up (and remembered) by, so the key itself need not be."""
    return hashlib.sha256(key.encode("utf-8")).digest()


@attrs.define(kw_only=True)
class LongLivedSession:
    """One long-lived session (its key never appears in its ``repr``)."""

    key: str = attrs.field(repr=False)
    tenant: str
    #: Who the session belongs to, as the caller identified it (the CCEB decodes the JWT; ccproto does not).
    agent: str | None
    auto_accept: bool
    created_at: float
    #: When its last WebSocket disconnected (``None`` while one is connected).
    disconnected_at: float | None = None

    def expires_at(self, lifetime: float = SESSION_LIFETIME) -> float | None:
        """The last moment it may still be resumed (``None`` while connected)."""
        return None if self.disconnected_at is None else self.disconnected_at + lifetime


class SessionStore:
    """The CCEB's long-lived sessions; every method takes ``now`` (seconds) instead of reading a clock.

    ``new_key`` makes keys (default: 32 random bytes from :mod:`secrets`,
    URL-safe); ``lifetime`` is how long a disconnected session stays resumable.
    """

    def __init__(
        self,
        *,
        lifetime: float = SESSION_LIFETIME,
        new_key: Callable[[], str] = lambda: secrets.token_urlsafe(32),
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.lifetime = lifetime
        #: ``limits.max_sessions`` bounds how many sessions the store holds.
        self.limits = limits
        self._new_key = new_key
        self._sessions: dict[bytes, LongLivedSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[LongLivedSession]:
        return iter(list(self._sessions.values()))

    def find(self, key: str, now: float) -> LongLivedSession | None:
        """The session of ``key`` if it is still resumable at ``now``."""
        session = self._sessions.get(key_digest(key))
        if session is None or not same_key(session.key, key):
            return None
        if not is_resumable(session.disconnected_at, now, self.lifetime):
            return None
        return session

    def open_session(
        self, hello: Hello, *, now: float, agent: str | None = None
    ) -> tuple[LongLivedSession | None, bool]:
        """Start or resume the session a (valid) hello asks for: ``(session, resumed)``.

        ``(None, False)`` when the hello does not ask for a long-lived session.
        A resumed session is connected again and takes the hello's
        ``auto_accept`` when it gives one (otherwise keeps its own).
        """
        if not hello.asks_long_lived:
            return None, False
        if hello.session_key is not None:
            found = self.find(hello.session_key, now)
            if found is not None:
                found.disconnected_at = None
                if hello.auto_accept is not None:
                    found.auto_accept = hello.auto_accept
                return found, True
            self._sessions.pop(key_digest(hello.session_key), None)  # expired: forget it
        if len(self._sessions) >= self.limits.max_sessions:
            self.handle_timer(now)  # make room from the expired ones first
            if len(self._sessions) >= self.limits.max_sessions:
                raise LimitExceededError.Remote(
                    f"more than max_sessions={self.limits.max_sessions} long-lived sessions",
                    code="too-many-sessions",
                    hint="refuse the hello: close the WebSocket (1013, try again later)",
                )
        key = self._new_key()
        # Never hand out a key twice, nor the one the hello brought: a new session gets a new key.
        while key_digest(key) in self._sessions or (
            hello.session_key is not None and same_key(key, hello.session_key)
        ):
            key = self._new_key()
        session = LongLivedSession(
            key=key, tenant=hello.tenant, agent=agent, auto_accept=bool(hello.auto_accept), created_at=now,
        )
        self._sessions[key_digest(key)] = session
        return session, False

    def reply(self, hello: Hello, *, now: float, agent: str | None = None) -> HelloReply:
        """:meth:`open_session`, then the ``hello_reply`` that answers ``hello``."""
        session, resumed = self.open_session(hello, now=now, agent=agent)
        if session is None:
            return HelloReply(uuid=hello.uuid)
        return HelloReply(uuid=hello.uuid, session_key=session.key, resumed=resumed)

    def disconnected(self, key: str, *, now: float) -> None:
        """The WebSocket of the session of ``key`` closed at ``now``: the 72 hours start."""
        session = self._sessions.get(key_digest(key))
        if session is not None and same_key(session.key, key):
            session.disconnected_at = now

    def has_valid_session(self, agent: str, *, now: float) -> bool:
        """Whether ``agent`` still has a resumable long-lived session (chat availability stays set while it does)."""
        return any(
            s.agent == agent and is_resumable(s.disconnected_at, now, self.lifetime) for s in self._sessions.values()
        )

    def get_timer(self) -> float | None:
        """When the next disconnected session has expired (``None``: none is disconnected).

        That is the first moment after :meth:`LongLivedSession.expires_at`: a session is still resumable at
        exactly 72 h, so a timer firing at that moment would drop nothing and be asked again forever.
        """
        times = [t for s in self._sessions.values() if (t := s.expires_at(self.lifetime)) is not None]
        return math.nextafter(min(times), math.inf) if times else None

    def handle_timer(self, now: float) -> tuple[LongLivedSession, ...]:
        """Drop (and return) the sessions that stopped being resumable by ``now``."""
        gone = tuple(s for s in self._sessions.values() if not is_resumable(s.disconnected_at, now, self.lifetime))
        for session in gone:
            del self._sessions[key_digest(session.key)]
        return gone
