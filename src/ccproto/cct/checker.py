"""The capture checker of a CCT SOAP client's traffic: the session duties of :class:`~ccproto.cct.duties.Duty`.

One connection is one client's calls to one server (a HAR's SOAP entries to one endpoint, a JSON Lines
``conn``).  Each record's ``raw`` text is read by :func:`~ccproto.cct.soap.read_soap` (with the request's
``SOAPAction`` when the record carries its :class:`~ccproto.core.record.HttpExchange`); nothing of the payload
is read beyond what that reader reads (which operation, which fault), since the element content is not public.
A response is paired with its request by ``http.exchange``, else first in, first out.

From the operation names, the ``SessionNotCreatedException`` fault and the HTTP status, the checker follows the
client's sessions and reports six duties (codes ``Duty.X.value``, kind ``sequence``; docs/quirks.md has the
readings):

* ``call-without-session``: a request other than a login after a ``SessionNotCreatedException`` answer or a
  ``LogOffFromCCTServer`` request, before a login is answered without a fault;
* ``not-resubscribed``: a session that follows a session holding N subscriptions (not logged off) confirms
  fewer than N ``Subscribe`` calls before it ends (named on its login's response);
* ``session-silent-past-timeout`` and ``getversion-only-keep-alive``: in a held session, two consecutive
  requests that reset its timeout (every one but ``GetVersion``) more than ``session_timeout`` apart, with
  ``GetVersion`` between them (the second code) or nothing and a live subscription (the first);
* ``session-not-logged-off`` (a warning: a capture may be cut): a session begun by a login in the capture is
  held when the capture ends;
* ``old-subscription-dropped-first``: an ``Unsubscribe`` sent while the session held no more subscriptions than
  its opening ``Subscribe`` calls (those before any other call) confirmed, after a re-login at most the ones it
  owes (no new one confirmed to replace it), in a session that then sends a ``Subscribe`` (the replacement, sent
  after the old one was dropped).

No finding quotes a record's text or the session token: they name operations, record numbers and seconds.
"""

from __future__ import annotations

import collections
from typing import Any, Final

import attrs

from ccproto.cct.config import DEFAULT_SESSION_TIMEOUT, refuses_session_reset
from ccproto.cct.duties import Duty
from ccproto.cct.soap import SoapMessage, read_soap
from ccproto.cct.states import FaultKind
from ccproto.core.checker import Start
from ccproto.core.errors import DecodeError, ProtocolError
from ccproto.core.findings import Finding, Kind, Severity
from ccproto.core.limits import Limits
from ccproto.core.record import Record
from ccproto.core.roles import Role

__all__ = ["DEFAULT_SESSION_TIMEOUT", "RAW_REQUIRED", "CctClientChecker"]


#: The detail of a CCT record that gives a JSON ``message`` instead of the XML text.
RAW_REQUIRED: Final = "a CCT record gives the XML text as raw"

# The operations the session rules turn on (names of the catalogue: SessionService / UserService,
# NotificationProducer / UserService).
_LOGIN: Final = "LogInToCCTServer"
_LOGOFF: Final = "LogOffFromCCTServer"
_SUBSCRIBE: Final = "Subscribe"
_UNSUBSCRIBE: Final = "Unsubscribe"
_SESSION_NOT_CREATED: Final = FaultKind.SESSION_NOT_CREATED.value

#: How a call ended, as the rules see it.
_OK, _FAILED, _GONE, _UNKNOWN = "ok", "failed", "session-not-created", "unknown"


@attrs.define(slots=True)
class _Call:
    """A request waiting for its response."""

    number: int
    ts: float | None
    #: The operation's name (``None``: not a client call the rules follow: undecodable, one-way, not a request).
    name: str | None
    #: The serial of the session it was sent in (0: none).
    session: int
    #: A ``Subscribe`` of its session's opening burst (before any other call of the session).
    opening: bool = False


@attrs.define(slots=True)
class _Session:
    """A session the client holds, as far as the capture shows."""

    serial: int
    #: The record of its login's response (``None``: the capture joined a session already held), and its location.
    login: int | None
    login_location: str | None
    #: Subscriptions the session must confirm (the previous session's, after a re-login; 0: none asked).
    wanted: int
    #: Time of the latest request that reset its timeout (``None``: none with a time yet).
    last_reset: float | None
    last_reset_record: int | None
    #: ``GetVersion`` requests since ``last_reset``.
    get_versions: int = 0
    #: Confirmed ``Subscribe`` calls minus ``Unsubscribe`` requests.
    live: int = 0
    #: ``Subscribe`` calls confirmed in the session.
    confirmed: int = 0
    #: Of those, the ones of its opening burst.
    base: int = 0
    #: No call but ``Subscribe`` yet (the opening burst goes on).
    opening: bool = True
    #: ``Unsubscribe`` requests sent with no spare subscription (record, location), until the next ``Subscribe``.
    drops: list[tuple[int, str | None]] = attrs.Factory(list)


def _ok_status(status: int | None) -> bool:
    return status is None or 200 <= status < 300


def _named(message: SoapMessage) -> str:
    """The operation in a few words (catalogue names only, never the text)."""
    if message.operation is not None:
        return f"{message.operation.service}.{message.operation.name}"
    return message.name or "an operation the catalogue does not know"


class CctClientChecker:
    """Follows one CCT client's sessions on one connection and reports the duties it breaks.

    Built by the validator as ``factory(limits=, strict=, capture=)``; ``session_timeout`` is the server's
    session timeout in seconds (``ccproto validate --cct-session-timeout``).
    """

    protocol = "cct"
    #: Never idle: the rules are about silences (a session silent past its timeout), which an idle bound would
    #: cut short, and a client's calls to one server are one connection, so there are few to hold.
    idle_timeout: float | None = None

    def __init__(
        self,
        *,
        limits: Limits,
        strict: bool = False,
        capture: dict[str, Any] | None = None,
        session_timeout: float = DEFAULT_SESSION_TIMEOUT,
    ) -> None:
        if isinstance(session_timeout, bool) or not isinstance(session_timeout, (int, float)) \
                or not 0 < session_timeout < float("inf"):
            raise ValueError(f"session_timeout must be a positive number of seconds, not {session_timeout!r}")
        self._limits = limits
        self._strict = strict
        self.session_timeout = float(session_timeout)
        self._session: _Session | None = None
        #: Why no session is held (``None``: the capture has not shown whether one is), and on which record.
        self._without: tuple[str, int] | None = None
        #: Subscriptions the next session must confirm (a session that ended without a logoff held them).
        self._wanted_next = 0
        self._serial = 0
        self._by_exchange: dict[str, _Call] = {}
        self._fifo: collections.deque[_Call] = collections.deque()
        self._found: list[Finding] = []
        self._record: Record | None = None

    def begin(self, start: Start, *, partial: bool = False, history_until: float | None = None) -> None:
        """Where the connection's first record stands: nothing changes (a session's state is read from calls)."""

    # -- findings ------------------------------------------------------------------------------------------

    def _add(self, duty: Duty, what: str, *, at: tuple[int, str | None] | None = None, related: tuple[int, ...] = (),
             severity: Severity = Severity.ERROR) -> None:
        """A finding on the record being checked, or on an earlier one ``at`` (its number and location)."""
        record = self._record
        assert record is not None
        number, location = (record.number, record.location) if at is None else at
        # The duty in a sentence, then what happened (operation names, record numbers, seconds: never the text).
        message = f"{duty.summary[0].upper()}{duty.summary[1:]}. {what[0].upper()}{what[1:]}"
        self._found.append(Finding(
            file=record.file, record=number, conn=record.conn, severity=severity, kind=Kind.SEQUENCE,
            code=duty.value, path="", message=message, related=related, location=location,
        ))

    # -- records -------------------------------------------------------------------------------------------

    def check(self, record: Record) -> list[Finding]:
        """Findings for one record."""
        found: list[Finding] = []
        self._found = found
        self._record = record
        if record.close is not None or record.open is not None:
            return found
        raw = record.raw
        http = record.http if raw is not None else None
        if raw is None:
            if record.message is not None:
                found.append(self._decode_finding(record, DecodeError.code, RAW_REQUIRED))
            return found
        message: SoapMessage | None = None
        error: ProtocolError | None = None
        try:
            message = read_soap(raw, limits=self._limits, soap_action=None if http is None else http.soap_action)
        except ProtocolError as exc:
            error = exc
        status = None if http is None else http.status
        if error is not None and (record.sender is Role.CLIENT or _ok_status(status)):
            # A server's error page with an error status is a failed call, not the client's text to judge.
            found.append(self._decode_finding(record, error.code, error.detail))
        if record.sender is Role.CLIENT:
            self._request(record, message)
        else:
            self._response(record, message, status)
        return found

    @staticmethod
    def _decode_finding(record: Record, code: str, detail: str) -> Finding:
        return Finding(
            file=record.file, record=record.number, conn=record.conn, severity=Severity.ERROR, kind=Kind.DECODE,
            code=code, path="", message=detail, location=record.location,
        )

    def _pend(self, record: Record, call: _Call) -> None:
        http = record.http
        if http is not None:
            pending = self._by_exchange
            pending[http.exchange] = call
            if len(pending) > self._limits.max_pending:
                del pending[next(iter(pending))]  # the oldest: its response is not coming (memory stays bounded)
        else:
            self._fifo.append(call)
            if len(self._fifo) > self._limits.max_pending:
                self._fifo.popleft()

    def _request(self, record: Record, message: SoapMessage | None) -> None:
        name: str | None = None
        if message is not None and message.kind in ("request", "unknown"):
            one_way = message.operation is not None and message.operation.one_way
            # A one-way Notify is the server calling the client's consumer: not a call of the client's.
            name = None if one_way else (message.name or "")
        session = self._session
        call = _Call(number=record.number, ts=record.ts, name=name, session=0 if session is None else session.serial)
        self._pend(record, call)
        if name is None or name == _LOGIN:
            return  # not a call the session rules follow; a login is judged by its answer
        assert message is not None
        what = _named(message)
        if session is None:
            if self._without is not None:
                reason, at = self._without
                self._add(Duty.CALL_WITHOUT_SESSION,
                          f"the client called {what} after {reason}, before a login succeeded",
                          related=(at,))
                return
            if refuses_session_reset(name):
                return
            # The capture joined a session already held: follow it from here.
            session = self._session = self._new_session(login=None, wanted=0, call=None)
            call.session = session.serial
        if refuses_session_reset(name):
            session.get_versions += 1
            return
        self._gap(session, record, what)
        if name != _SUBSCRIBE:
            session.opening = False
        if name == _SUBSCRIBE:
            call.opening = session.opening
            for drop in session.drops:
                self._add(Duty.OLD_SUBSCRIPTION_DROPPED_FIRST,
                          "this Unsubscribe left the session with no more subscriptions than its opening Subscribe "
                          "calls confirmed (no new one confirmed to replace it), and the session subscribed again "
                          "after it",
                          at=drop, related=(record.number,))
            session.drops.clear()
        elif name == _UNSUBSCRIBE:
            # The subscriptions the session keeps: its opening burst's, or after a re-login the ones it owes (a
            # renewal sent before any other call reads as part of the opening burst; what it owes bounds that).
            base = min(session.base, session.wanted) if session.wanted else session.base
            if session.live <= base:
                session.drops.append((record.number, record.location))
            session.live = max(0, session.live - 1)
        elif name == _LOGOFF:
            self._end_session(record.number, logged_off=True)
            self._without = ("a logoff", record.number)

    def _gap(self, session: _Session, record: Record, what: str) -> None:
        """Rules 3 and 4: the time since the session's latest request that reset its timeout."""
        ts = record.ts
        last, last_record = session.last_reset, session.last_reset_record
        if ts is not None and last is not None and last_record is not None and ts - last > self.session_timeout:
            gap = f"{ts - last:g} s after the session's previous call that resets its timeout, over " \
                  f"session_timeout={self.session_timeout:g} s"
            if session.get_versions:
                self._add(Duty.GETVERSION_ONLY_KEEP_ALIVE,
                          f"{what} came {gap}, with only GetVersion ({session.get_versions} call(s)) between them",
                          related=(last_record,))
            elif session.live > 0:
                self._add(Duty.SESSION_SILENT_PAST_TIMEOUT,
                          f"{what} came {gap}, with no request between them while the session held "
                          f"{session.live} subscription(s)", related=(last_record,))
        # Without a time the gap cannot be measured: it starts again at the next request that has one.
        session.last_reset = ts
        session.last_reset_record = record.number if ts is not None else None
        session.get_versions = 0

    def _paired(self, record: Record) -> _Call | None:
        http = record.http
        if http is not None:
            return self._by_exchange.pop(http.exchange, None)
        return self._fifo.popleft() if self._fifo else None

    def _response(self, record: Record, message: SoapMessage | None, status: int | None) -> None:
        if message is not None and message.kind == "request":
            return  # not an answer (a request the other way: the client's consumer endpoint called)
        call = self._paired(record)
        if call is None or call.name is None:
            return  # nothing to answer in the capture, or a call the rules do not follow
        if message is None:
            outcome = _UNKNOWN if _ok_status(status) else _FAILED
        elif message.fault is not None:
            outcome = _GONE if _SESSION_NOT_CREATED in message.fault.names else _FAILED
        else:
            outcome = _OK if _ok_status(status) else _FAILED
        session = self._session
        current = 0 if session is None else session.serial
        if call.name == _LOGIN:
            if outcome == _OK:
                self._logged_in(record, call)
            return
        if outcome == _GONE and call.session == current:
            if session is not None:
                self._end_session(record.number, logged_off=False)
            self._without = (f"a {_SESSION_NOT_CREATED}", record.number)
            return
        if outcome == _OK and call.name == _SUBSCRIBE and session is not None and call.session == current:
            session.live += 1
            session.confirmed += 1
            session.base += call.opening

    def _logged_in(self, record: Record, call: _Call) -> None:
        if self._session is not None:
            # A login while a session is held: the old one is taken as lost (it is not logged off).
            self._end_session(record.number, logged_off=False)
        self._session = self._new_session(login=record, wanted=self._wanted_next, call=call)
        self._without = None

    def _new_session(self, *, login: Record | None, wanted: int, call: _Call | None) -> _Session:
        """A session begun by ``login`` (its response; ``call`` its request, which reset the timeout first)."""
        self._serial += 1
        ts = None if call is None else call.ts
        return _Session(
            serial=self._serial, login=None if login is None else login.number,
            login_location=None if login is None else login.location, wanted=wanted, last_reset=ts,
            last_reset_record=call.number if call is not None and ts is not None else None,
        )

    def _end_session(self, number: int | None, *, logged_off: bool) -> None:
        """The held session ends (logoff, ``SessionNotCreatedException``, a new login, the capture's end)."""
        session = self._session
        assert session is not None
        self._session = None
        if session.confirmed < session.wanted and session.login is not None:
            ended = " before it ended" if number is not None else " before the capture ended"
            self._add(Duty.NOT_RESUBSCRIBED,
                      f"this login followed a session that held {session.wanted} subscription(s), and the new "
                      f"session confirmed {session.confirmed} Subscribe call(s){ended}",
                      at=(session.login, session.login_location), related=(number,) if number is not None else ())
        if logged_off:
            self._wanted_next = 0  # a client that logs off gives its listeners up
        elif session.confirmed >= session.wanted:
            self._wanted_next = session.live
        else:
            self._wanted_next = max(session.live, session.wanted)  # still owed to the next session

    def finish(self, file: str, conn: str, last_record: int) -> list[Finding]:
        """Findings for what the capture's end leaves: a session never logged off, a re-login not completed."""
        found: list[Finding] = []
        self._found = found
        session = self._session
        if session is None:
            return found
        self._record = Record(file=file, number=last_record, ts=None, conn=conn, sender=Role.CLIENT,
                              protocol=self.protocol, message=None, raw=None)
        if session.login is not None:
            self._add(Duty.SESSION_NOT_LOGGED_OFF,
                      "a session (logged in by the related record) was still held when the capture ended: neither "
                      "logged off nor ended by a SessionNotCreatedException",
                      related=(session.login,), severity=Severity.WARNING)
        self._end_session(None, logged_off=False)
        self._record = None
        return found
