"""Logging for the long-running commands (``ccproto serve``, ``ccproto conformance``): every level secret-free.

The commands call :func:`configure_logging` once; the handler it installs on the root logger filters every
record that reaches it (asyncio's, websockets', ccproto's own) before it is written:

* :class:`RateLimitFilter` first: a record repeated more than ``limit`` times within ``window`` seconds (the
  same logger, level and message template) is counted instead of written, and one line says how many were
  dropped once the window is over (a loop that fails on every turn, such as asyncio's ``socket.accept() out of
  system resource`` when file descriptors run out, must not fill the disk);
* :class:`SecretFilter` then: the formatted message and any exception or stack text go through
  :func:`ccproto.core.redact.redact_log_text` (secret members, URL queries and userinfo, credential headers).

The module reads no clock itself (the library never does, ARCHITECTURE.md): the rate limit's time is the one
``logging`` stamps on every record (``record.created``) unless a ``clock`` is given.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any

from ccproto.core.redact import redact_log_text

__all__ = ["LOG_LEVELS", "RateLimitFilter", "SecretFilter", "configure_logging", "restore_logging"]

#: The names ``--log-level`` takes.
LOG_LEVELS = ("debug", "info", "warning", "error")

#: The format of every line.
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

#: Marks a summary record :class:`RateLimitFilter` made, so that it passes the filter it came from.
_SUMMARY = "_ccproto_repeated"

#: Characters of a message template the rate limit keys on (templates are short; a message logged without
#: arguments is its own template, and a long one must not make the table big).
_KEY_CHARS = 200


def _message(record: logging.LogRecord) -> str:
    """The record's message, formatted if its arguments fit its template, else the template and the arguments.

    Never raises: a broken format string (or a ``__str__`` that fails) must not take a server down.
    """
    try:
        return record.getMessage()
    except Exception:  # whatever a caller's format or argument raises
        pass
    try:
        msg = str(record.msg)
    except Exception:
        msg = f"<unprintable {type(record.msg).__name__}>"
    try:
        args = repr(record.args)
    except Exception:
        args = f"<unprintable {type(record.args).__name__}>"
    return f"{msg} (arguments that do not fit it: {args})"


def _exception_text(record: logging.LogRecord) -> str:
    """The traceback text a formatter would write for ``record`` (``exc_text`` if already made)."""
    if record.exc_text:
        return record.exc_text
    if record.exc_info and record.exc_info[0] is not None:
        try:
            return logging.Formatter().formatException(record.exc_info)
        except Exception:
            return f"<an exception that could not be formatted: {record.exc_info[0].__name__}>"
    return ""


class SecretFilter(logging.Filter):
    """Redacts each record's message, exception text and stack text in place (and never drops a record).

    After it, ``record.msg`` is the redacted message and ``record.args`` is ``None``; an exception is kept only
    as its redacted text (``exc_text``; ``exc_info`` is cleared so no later formatter writes it afresh).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record``; always keep it."""
        try:
            record.msg = redact_log_text(_message(record))
            record.args = None
            text = _exception_text(record)
            record.exc_info = None
            record.exc_text = redact_log_text(text) if text else None
            if record.stack_info:
                record.stack_info = redact_log_text(record.stack_info)
        except Exception:  # the filter itself must never take a server down
            # Nothing of the record can be trusted to be redacted: keep only where it came from.
            record.msg, record.args, record.exc_info, record.exc_text, record.stack_info = (
                "<a log record that could not be redacted>", None, None, None, None)
        return True


class _Window:
    """One key's window: when it started, how many records it saw, and the last one dropped."""

    __slots__ = ("dropped", "last", "seen", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.seen = 0
        self.dropped = 0
        self.last: logging.LogRecord | None = None


class RateLimitFilter(logging.Filter):
    """Lets through at most ``limit`` records of one kind per ``window`` seconds; counts the others.

    A kind is the logger's name, the level and the message template's first line (asyncio's exception handler
    logs the context below its first line, which changes from one call to the next).  A window starts with
    the first record of its kind; once it is over, a summary record (the last dropped message, followed by
    ``(repeated K more times)``) is given to ``emit`` (the handler's ``handle``, so it is redacted and written
    like the others), when the next record of any kind arrives or at :meth:`flush` (the handler's close).
    Nothing wakes up by itself: the library starts no thread, and a quiet log has nothing to summarise soon.
    At most ``max_kinds`` windows are kept (the oldest is closed early), so unique messages cannot grow it.
    Time is ``clock()`` if given, else the time ``logging`` stamped on the record (``record.created``: wall-clock
    time, so a window also ends if it goes back).
    """

    def __init__(self, limit: int = 10, window: float = 1.0, *, clock: Callable[[], float] | None = None,
                 emit: Callable[[logging.LogRecord], Any] | None = None, max_kinds: int = 1000) -> None:
        super().__init__()
        self.limit = limit
        self.window = window
        self.clock = clock
        self.emit = emit
        self.max_kinds = max_kinds
        # Ordered by start (a kind whose window ends is removed, and starts again at the end): the windows that
        # are over are always at the front.
        self._windows: OrderedDict[tuple[str, int, str], _Window] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to write ``record`` (``False``: counted in its window's summary)."""
        if getattr(record, _SUMMARY, False):
            return True
        summaries: list[logging.LogRecord] = []
        keep = True
        # No lock (the library imports no threading): a record logged from another thread at the same moment
        # may make a step fail, and then the record is written rather than lost, and the filter never raises.
        with contextlib.suppress(Exception):
            now = record.created if self.clock is None else self.clock()
            key = (record.name, record.levelno, self._template(record))
            summaries = self._close(now)
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(now)
            window.seen += 1
            if window.seen > self.limit:
                window.dropped += 1
                window.last = record  # formatted only if it ends up in a summary: dropping stays cheap
                keep = False
        self._emit(summaries)
        return keep

    def flush(self) -> None:
        """Emit the summary of every window that dropped records, over or not (the log is closing)."""
        windows, self._windows = self._windows, OrderedDict()
        self._emit([s for w in windows.values() if (s := self._summary(w)) is not None])

    @staticmethod
    def _template(record: logging.LogRecord) -> str:
        msg = record.msg if isinstance(record.msg, str) else f"<{type(record.msg).__name__}>"
        return msg.partition("\n")[0][:_KEY_CHARS]

    def _close(self, now: float) -> list[logging.LogRecord]:
        """Remove the windows that are over (and the oldest beyond ``max_kinds``); their summaries."""
        summaries = []
        while self._windows:
            key, window = next(iter(self._windows.items()))
            # A clock that went back (the records' wall-clock time) ends the window too: it cannot last forever.
            if 0 <= now - window.start < self.window and len(self._windows) < self.max_kinds:
                break
            del self._windows[key]
            summary = self._summary(window)
            if summary is not None:
                summaries.append(summary)
        return summaries

    @staticmethod
    def _summary(window: _Window) -> logging.LogRecord | None:
        if window.last is None:
            return None
        last = window.last
        summary = logging.LogRecord(last.name, last.levelno, last.pathname, last.lineno,
                                    f"{_message(last)} (repeated {window.dropped} more times)", None, None,
                                    last.funcName)
        setattr(summary, _SUMMARY, True)
        return summary

    def _emit(self, summaries: list[logging.LogRecord]) -> None:
        if self.emit is None:
            return
        for summary in summaries:
            with contextlib.suppress(Exception):  # a summary that cannot be written is not worth a crash
                self.emit(summary)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure_logging` installs: writes the summaries still pending when closed."""

    def __init__(self, stream: IO[str] | None, limiter: RateLimitFilter) -> None:
        super().__init__(stream)
        self.limiter = limiter

    def close(self) -> None:
        """Write the pending summaries, then close (the stream itself is the caller's)."""
        self.limiter.flush()
        super().close()


_installed: logging.Handler | None = None
#: The root logger's level before the first :func:`configure_logging` (given back by :func:`restore_logging`).
_level_before = logging.WARNING


def configure_logging(level: str = "warning", stream: IO[str] | None = None, *, limit: int = 10,
                      window: float = 1.0, clock: Callable[[], float] | None = None) -> logging.Handler:
    """Send log records of ``level`` and above to ``stream`` (default: standard error); returns the handler.

    Idempotent: a second call replaces the handler the first installed (the commands may run many times in one
    process: tests call them in-process).  The root logger's level is set too, so that ``debug`` reaches the
    libraries (websockets logs only what its logger is enabled for); the handler's level as well, so that a
    library logger set lower by someone else does not write below ``level``.  ``limit`` records of one kind per
    ``window`` seconds of ``clock`` (default: the records' own time stamps) are written (:class:`RateLimitFilter`).
    """
    global _installed, _level_before
    numeric = getattr(logging, level.upper())
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
        _installed.close()
    else:
        _level_before = root.level
    limiter = RateLimitFilter(limit, window, clock=clock)
    handler = _Handler(stream, limiter)
    limiter.emit = handler.handle
    handler.setLevel(numeric)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    # The rate limit first: it keys on the template, which the secret filter replaces by the message.
    handler.addFilter(limiter)
    handler.addFilter(SecretFilter())
    root.addHandler(handler)
    root.setLevel(numeric)
    _installed = handler
    return handler


def restore_logging() -> None:
    """Remove the handler :func:`configure_logging` installed (writing the summaries it still owes) and give the
    root logger its level back: a command run in-process (a test, a notebook) leaves logging as it found it."""
    global _installed
    if _installed is None:
        return
    root = logging.getLogger()
    root.removeHandler(_installed)
    _installed.close()
    _installed = None
    root.setLevel(_level_before)
