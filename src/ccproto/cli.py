"""The ``ccproto`` command line (also ``python -m ccproto``)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from ccproto import __version__

if TYPE_CHECKING:
    from ccproto.core.findings import Report
    from ccproto.core.protocol import ProtocolSpec

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
#: Exit status after Ctrl-C: 128 + SIGINT, what a shell reports for a command a signal stopped.
EXIT_INTERRUPTED = 130
#: Seconds of work after which a progress display appears on a terminal (a quick run never shows one); the
#: environment variable ``CCPROTO_PROGRESS_DELAY`` (seconds, e.g. 0) overrides it.
PROGRESS_DELAY = 1.0
#: The least time (seconds) between two redraws of the progress display (a percentage step redraws anyway).
PROGRESS_REDRAW = 0.1
_STDIN = "-"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or a positive integer, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 or more), got {text!r}")
    return value


class _CommandParser(argparse.ArgumentParser):
    """A command's parser; an ``intermixed`` one takes its options anywhere among its positionals, as most
    commands do (``ccproto validate a.jsonl --strict b.jsonl``), which argparse's ``nargs="*"`` alone does not."""

    intermixed = False
    _mixing = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        """As argparse's, intermixed when the parser says so."""
        if not self.intermixed or self._mixing:
            return super().parse_known_args(args, namespace)
        self._mixing = True  # parse_known_intermixed_args calls parse_known_args (twice): those are the plain ones
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._mixing = False


#: The prefix of a ``--<protocol>-stream`` option's destination (``stream:bridge``: no other option's name has it).
_STREAM_DEST = "stream:"


def _stream_dest(name: str) -> str:
    return _STREAM_DEST + name


#: The prefix of a ``--<protocol>-<option>`` checker option's destination (``checker:cct:session_timeout``).
_CHECKER_DEST = "checker:"


def _validate_protocols(argv: Sequence[str]) -> list[ProtocolSpec]:
    """The registered protocols, when the command line is a ``validate`` one (their stream and checker options).

    Only then: the registry imports every protocol, which ``ccproto --version``, ``serve`` and a usage error need
    not pay for.
    """
    if "validate" not in argv:
        return []
    from ccproto.protocols import registered

    return list(registered())


def _stream_protocols(argv: Sequence[str]) -> list[ProtocolSpec]:
    """The protocols with a raw stream format (a ``--<name>-stream`` option of ``validate``)."""
    return [spec for spec in _validate_protocols(argv) if spec.stream_reader is not None]


def _parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    stream_protocols = _stream_protocols(argv)
    parser = argparse.ArgumentParser(prog="ccproto", description="Speak, check and test CTI protocols.")
    parser.add_argument("--version", action="version", version=f"ccproto {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser)
    validate = commands.add_parser(
        "validate",
        help="check captured traffic against the protocols",
        description="Check captured traffic (JSON Lines captures, DevTools HAR files, raw bridge streams; "
        "plain or gzip) against each protocol's schemas and state machines. "
        "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error or unreadable file, "
        "130 interrupted (Ctrl-C).",
    )
    validate.intermixed = True
    validate.add_argument("files", nargs="*", metavar="FILE",
                          help="capture files: JSON Lines or HAR, plain or .gz; '-' reads standard input")
    validate.add_argument("--format", choices=("text", "json", "junit"), default="text",
                          help="report format (default text)")
    validate.add_argument("--output", metavar="FILE",
                          help="write the report to FILE instead of standard output (FILE is checked before the "
                          "run; on Ctrl-C it gets the report of what was validated so far, marked as interrupted)")
    validate.add_argument("-q", "--quiet", action="store_true",
                          help="no progress display nor anything else but errors on standard error")
    validate.add_argument("--strict", action="store_true", help="treat warnings about quirky input as errors")
    validate.add_argument("--coverage", action="store_true",
                          help="add which message types and transitions the captures exercised, and which not")
    validate.add_argument("--max-findings", type=_non_negative_int, metavar="N",
                          help="show only the first N findings, 0 for none (the summary and exit status count "
                          "them all)")
    validate.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                          help="use N processes (one merged report, the same as with one): several files are "
                          "validated side by side; one file (or --one-capture) is split by connection")
    validate.add_argument("--partial", action="store_true",
                          help="the capture may begin after connections opened (a rotated, sampled or "
                          "late-started capture): a connection joined mid-conversation is a warning, not an error")
    validate.add_argument("--one-capture", action="store_true",
                          help="read the FILEs as one capture, in the order given (a capture rotated into "
                          "pieces): a connection goes on from one file to the next")
    validate.add_argument("--idle-timeout", action="append", default=[], metavar="[PROTOCOL=]SECONDS",
                          help="finish a connection silent for SECONDS of capture time as if the capture ended "
                          "(default: bridge 86400, processor and cceb 3600; 'off' never; repeatable)")
    validate.add_argument("--scheduler", metavar="ADDRESS",
                          help="validate on a Dask cluster (needs ccproto[dask]): a scheduler's address "
                          "(tcp://host:8786), or local:N for a LocalCluster of N worker processes here; FILEs may "
                          "then be fsspec URLs (s3://, gs://, hdfs://, file://) and glob patterns, read by the "
                          "workers; --jobs N splits one capture into N tasks (default: one per worker thread)")
    validate.add_argument("--input-format", choices=("auto", "jsonl", "har"), default="auto",
                          help="what the FILEs are (default: told apart by their first line)")
    for spec in stream_protocols:
        validate.add_argument(
            f"--{spec.name}-stream", action="append", default=[], metavar="SIDE=FILE", dest=_stream_dest(spec.name),
            help=f"a raw {spec.description} stream: what SIDE (client or server) sent on one connection, as it "
            "crossed; give both sides as one connection (repeatable)",
        )
    for spec in _validate_protocols(argv):
        for option in spec.checker_options:
            validate.add_argument(option.flag(spec.name), type=option.parse, metavar=option.metavar,
                                  dest=f"{_CHECKER_DEST}{spec.name}:{option.keyword}", help=option.help)
    limits = validate.add_argument_group("bounds", "what one message or capture may make ccproto hold "
                                                   "(docs/security.md; over a bound is a finding)")
    limits.add_argument("--max-message-bytes", type=_positive_int, metavar="N",
                        help="largest message, in bytes of UTF-8 JSON (default 1048576)")
    limits.add_argument("--max-depth", type=_positive_int, metavar="N",
                        help="deepest nesting of arrays and objects in one message (default 64)")
    limits.add_argument("--max-pending", type=_positive_int, metavar="N",
                        help="most requests or unacked messages outstanding on one connection (default 1024)")
    limits.add_argument("--max-connections", type=_positive_int, metavar="N",
                        help="most connections tracked at once; past it the one idle longest is no longer "
                        "tracked, with a warning (default 100000)")
    validate.add_argument(
        "--extension",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first; it registers vendor commands and events (e.g. into "
        "ccproto.processor.REGISTRY) so they are checked, not just warned about (repeatable)",
    )
    _serve_parser(commands)
    _conformance_parser(commands)
    return parser


class _ProtocolNames:
    """The registered protocols' names (``ccproto.protocols``), looked up on first use: the registry imports every
    protocol, which ``ccproto --version`` and a usage error need not pay for.  ``served``: only those with a
    reference peer on the wire (``serve``, ``conformance``)."""

    def __init__(self, *, served: bool = False) -> None:
        self._served = served

    def __contains__(self, name: object) -> bool:
        return name in list(self)

    def __iter__(self) -> Iterator[str]:
        from ccproto.protocols import registered

        specs = list(registered())
        if self._served:
            from ccproto.testing.slices import slice_of

            # CCT's slice tests a client's supervisor in-process: it has no reference peer to put on a socket.
            specs = [spec for spec in specs if spec.testing is not None and slice_of(spec.name).peers]
        return iter([spec.name for spec in specs])


#: Every registered protocol's name (``validate``'s ``--idle-timeout``).
PROTOCOL_NAMES = _ProtocolNames()
#: The protocols ``serve`` and ``conformance`` can put on a socket: those whose testing slice has reference peers.
SERVED_PROTOCOL_NAMES = _ProtocolNames(served=True)


def _serve_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run a reference peer on a real socket",
        description="Run the protocol's reference peer (by default the server role: the Processor Bridge, the "
        "Interaction Processor, the CCEB) on a real socket, one peer per connection: TCP with length-prefixed "
        "frames for the bridge, WebSockets for the others. Each message is printed as it crosses, with the findings of "
        "`ccproto validate` (a reader that falls behind never stalls the peers: lines it does not take are dropped "
        "and counted); Ctrl-C stops it and prints the summary, which counts the served peer's errors apart from "
        "the other side's (which the peer must refuse). Exit status: 0 the served peer made no error, 1 it did "
        "(or, with --fail-on-client-errors, the other side did), 2 usage error.",
    )
    serve.add_argument("protocol", choices=SERVED_PROTOCOL_NAMES)
    where = serve.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", metavar="HOST:PORT",
                       help="where to listen (port 0: any free port; the first line printed says which)")
    where.add_argument("--connect", metavar="TARGET",
                       help="connect to TARGET instead (tcp://, tls://, ws://, wss://), and again whenever the "
                       "connection ends (one peer throughout: a CCEB client resumes its session)")
    serve.add_argument("--role", choices=("server", "client"), default="server",
                       help="the role the peer plays (default server; the client role is for testing a server, "
                       "or with `ccproto conformance --listen`)")
    serve.add_argument("--record", metavar="FILE",
                       help="also write a JSON Lines capture that `ccproto validate` accepts (secrets replaced)")
    serve.add_argument("--stimulate", action="append", default=[], metavar="NAME",
                       help="give each connection's peer this stimulus once the connection is quiet, in the order "
                       "given (repeatable; the names are the peer's STIMULI, e.g. create-session)")
    serve.add_argument("--peer", metavar="MODULE:CLASS",
                       help="serve this ReferencePeer subclass instead of the reference peer (e.g. one with a bug)")
    serve.add_argument("--tls-cert", metavar="FILE", help="serve TLS (wss:// or TLS over TCP) with this certificate")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (default: in --tls-cert)")
    serve.add_argument("--cafile", metavar="FILE", help="with --connect to tls:// or wss://: trust this CA")
    serve.add_argument("--test-clock", metavar="ADDRESS",
                       help="for test builds only, never on by default: also listen at ADDRESS "
                       "(ws://HOST:PORT[/PATH], tcp://HOST:PORT, or HOST:PORT for ws://; wss:// and tls:// with "
                       "--tls-cert) for test-clock requests {\"advance\": SECONDS}, which move the served peers' "
                       "clock forward (what `ccproto conformance --clock` sends; docs/testing.md). The line after "
                       "the first says where it listens")
    _log_level_argument(serve)
    serve.add_argument("--max-connections", type=_positive_int, metavar="N",
                       help="connections served at once; one more is refused at once (WebSocket close 1013) "
                       "(default 1024, or the open-file limit less 64)")
    serve.add_argument("--hello-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                       help="close a connection whose other side sends nothing within SECONDS of connecting "
                       "(close 1008; default 10; 0: never)")
    serve.add_argument("--idle-timeout", type=_seconds, default=600.0, metavar="SECONDS",
                       help="close a connection silent for SECONDS after that (default 600; 0: never)")
    serve.add_argument("--shutdown-timeout", type=_seconds, default=5.0, metavar="SECONDS",
                       help="on Ctrl-C or SIGTERM, wait at most SECONDS for the connections to close (1001) "
                       "before dropping them (default 5)")
    serve.add_argument("-q", "--quiet", action="store_true",
                       help="print only where it listens and the final summary, not every message")
    serve.add_argument("--fail-on-client-errors", action="store_true",
                       help="exit 1 when the other side (the clients; with --role client, the servers) broke a "
                       "rule, even though the served peer refused it as the protocol requires (for testing a "
                       "client against the reference server)")


def _log_level_argument(parser: Any) -> None:
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="warning",
                        help="what the libraries log (asyncio, websockets, ccproto) to standard error, from this "
                        "level up (default warning); every level is secret-free: tokens, keys and URL queries are "
                        "redacted, and a message repeated many times a second is counted, not repeated")


def _conformance_parser(commands: Any) -> None:
    conformance = commands.add_parser(
        "conformance",
        help="run the conformance harness against a live implementation",
        description="Play the other role against the implementation at TARGET (tcp:// or tls:// for "
        "the bridge, ws:// or wss:// for the others; with --listen, the implementation connects to TARGET) and "
        "check every reply; on a violation, print the shrunk "
        "conversation as a capture that `ccproto validate` reproduces. Needs ccproto[testing] (and "
        "ccproto[websockets] for WebSocket targets). Exit status: 0 passed, 1 violation found, 2 usage error or "
        "target unreachable.",
    )
    conformance.add_argument("target", metavar="TARGET", help="tcp://HOST:PORT, tls://, ws://HOST:PORT/PATH or wss://")
    conformance.add_argument("--protocol", required=True, choices=SERVED_PROTOCOL_NAMES)
    _log_level_argument(conformance)
    conformance.add_argument("--role", required=True, choices=("server", "client"),
                             help="the role of the implementation under test")
    conformance.add_argument("--listen", action="store_true",
                             help="listen at TARGET and wait for the implementation to connect, once per example "
                             "(a client that reconnects whenever its connection ends); --tls-cert for tls/wss")
    conformance.add_argument("--accept-timeout", type=float, default=10.0, metavar="SECONDS",
                             help="with --listen: how long to wait for each connection (default 10)")
    conformance.add_argument("--tls-cert", metavar="FILE", help="with --listen: the certificate to serve TLS with")
    conformance.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (default: in --tls-cert)")
    conformance.add_argument("--max-examples", type=_positive_int, default=20, metavar="N",
                             help="conversations to try (default 20: each is a real conversation)")
    conformance.add_argument("--seed", type=int, metavar="N",
                             help="hypothesis's seed: the same seed draws the same conversations (a live "
                             "implementation may still answer differently)")
    conformance.add_argument("--no-shrink", action="store_true",
                             help="report the first failing conversation as found (shrinking replays one real "
                             "conversation per attempt, which can take minutes)")
    conformance.add_argument("--wait", type=float, default=2.0, metavar="SECONDS",
                             help="how long to wait for an answer that is due (default 2; an answer is taken as "
                             "soon as it comes, and nothing is waited for when no answer is due)")
    conformance.add_argument("--shrink-time", type=float, default=60.0, metavar="SECONDS",
                             help="the most time spent shrinking a failure; the shortest failing conversation "
                             "found by then is reported (default 60)")
    conformance.add_argument("--exact-numbers", action="store_true",
                             help="also draw integers beyond 2**53 and -0.0 into messages, for an implementation "
                             "that promises exact echoes (default: numbers every JSON parser reads back as written; "
                             "docs/quirks.md N2)")
    conformance.add_argument("--database", metavar="DIR",
                             help="keep hypothesis's example database in DIR, so failing conversations are tried "
                             "first next time (default: none, nothing is written)")
    conformance.add_argument("--cafile", metavar="FILE", help="trust this CA for tls:// and wss:// targets")
    conformance.add_argument("--capture", metavar="FILE", help="on a violation, also write the capture to FILE")
    conformance.add_argument("--clock", metavar="TARGET",
                             help="the implementation's test-clock hook, in a test build (ws://, wss://, tcp:// "
                             "or tls://; docs/testing.md): the harness moves the implementation's clock through it, "
                             "so the rules that depend on time (CCEB sessions resumable 72 h) are tested live; "
                             "without it they are skipped")
    conformance.add_argument("-q", "--quiet", action="store_true",
                             help="no progress lines on standard error (example k of N, a failure found, shrinking)")
    conformance.add_argument("--junit-xml", metavar="FILE",
                             help="also write a JUnit XML report to FILE: one test case for the role tested, with "
                             "a <failure> holding the shrunk conversation when it broke a rule")


class _Usage(Exception):
    """A usage error: printed, exit status 2."""


class _Unwritable(_Usage):
    """An output that could not be written: a usage error found before any work (argparse's ``error:`` form)."""


class _Interrupted(Exception):
    """Ctrl-C, once what could be saved was: ``detail`` says what (one line), exit status 130."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


def _check_writable(path: str | None, option: str) -> None:
    """Refuse now, before any work, an output ``path`` that could not be written at the end (``_Unwritable``)."""
    if path is None:
        return
    target = os.path.abspath(path)
    parent = os.path.dirname(target)
    if os.path.isdir(target):
        reason = "it is a directory"
    elif not os.path.isdir(parent):
        reason = f"no directory {parent}"
    elif not os.access(parent, os.W_OK | os.X_OK) and not os.path.exists(target):
        reason = f"no permission to create files in {parent}"
    elif os.path.exists(target) and not os.access(target, os.W_OK):
        reason = "no permission to write it"
    else:
        return
    raise _Unwritable(f"{option}: cannot write {path}: {reason}")


def _progress_delay() -> float:
    """:data:`PROGRESS_DELAY`, or the seconds ``CCPROTO_PROGRESS_DELAY`` says (ignored unless a number >= 0)."""
    try:
        delay = float(os.environ.get("CCPROTO_PROGRESS_DELAY", ""))
    except ValueError:
        return PROGRESS_DELAY
    return delay if delay >= 0 else PROGRESS_DELAY


def _progress_wanted(quiet: bool) -> bool:
    """Whether to show progress: standard error is a terminal that can redraw a line, and not ``--quiet``."""
    return not quiet and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def _megabytes(count: float) -> str:
    return f"{count / 1e6:,.1f} MB"


class _Progress:
    """A one-line progress display on standard error, advanced by bytes read: percentage, bytes and rate when
    the total is known, bytes and rate otherwise.  It appears after ``delay`` seconds, so a quick run shows
    nothing; the clock is read here, in the CLI, never in the library."""

    def __init__(self, label: str, total: int | None, stream: IO[str], *, delay: float | None = None,
                 others: Callable[[], int] | None = None) -> None:
        import time

        self._label, self._total, self._stream = label, total or None, stream
        self._clock = time.monotonic
        self._delay = _progress_delay() if delay is None else delay
        #: Bytes read elsewhere (``--jobs`` workers), counted in the same total.
        self._others = others
        self._start = self._clock()
        self._done = 0
        self._drawn_at: float | None = None
        self._percent = -1

    def advance(self, count: int) -> None:
        """Count ``count`` more bytes read here, and redraw if due."""
        self._done += count
        self.draw()

    def draw(self) -> None:
        """Redraw if due: after the delay, then at each percentage step or every :data:`PROGRESS_REDRAW` s."""
        now = self._clock()
        elapsed = now - self._start
        if elapsed < self._delay:
            return
        done = self._done + (self._others() if self._others is not None else 0)
        percent = min(100, done * 100 // self._total) if self._total else -1
        if self._drawn_at is not None and percent == self._percent and now - self._drawn_at < PROGRESS_REDRAW:
            return
        self._drawn_at, self._percent = now, percent
        rate = f"{_megabytes(done / elapsed)}/s" if elapsed > 0 else ""
        if self._total:
            bar = "#" * (percent // 4)
            line = f"{self._label} [{bar:<25}] {percent:3d}% {_megabytes(done)} of {_megabytes(self._total)} {rate}"
        else:
            line = f"{self._label} {_megabytes(done)} read {rate}"
        self._stream.write(f"\r{line}\x1b[K")
        self._stream.flush()

    def close(self) -> None:
        """Erase the display (if it appeared), so what follows starts on a clean line."""
        if self._drawn_at is not None:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn_at = None


class _CountingReader(io.RawIOBase):
    """A binary file that reports how many bytes have been read through it (of a gzip file: compressed bytes)."""

    def __init__(self, raw: IO[bytes], advance: Callable[[int], None]) -> None:
        self._raw, self._advance = raw, advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # One system call per call (read1), not a loop in C until the buffer is full: between two calls Python
        # runs its signal handlers, so a Ctrl-C that comes just as a read returns is not held until the next
        # read returns (forever, on a pipe that is waiting for more).
        read1 = getattr(self._raw, "read1", self._raw.read)
        data = read1(len(buffer))
        buffer[: len(data)] = data
        self._advance(len(data))
        return len(data)


def _size(handle: IO[bytes]) -> int | None:
    """The size of a regular file (a gzip file's compressed size), ``None`` for a pipe, a terminal or a FIFO."""
    try:
        status = os.fstat(handle.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _total_size(paths: Sequence[str]) -> int | None:
    """The bytes of all ``paths`` (``None`` if one has no known size)."""
    total = 0
    for path in paths:
        try:
            status = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(status.st_mode):
            return None
        total += status.st_size
    return total


#: In a ``--jobs`` worker: the bytes every worker has read (a ``multiprocessing.Value``), for the parent's display.
_WORKERS_READ: list[Any] = []


def _init_worker(read: Any) -> None:
    """A ``--jobs`` worker starts: Ctrl-C is the parent's to handle (it stops the workers), and it counts bytes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by _pool until ignored
    _WORKERS_READ[:] = [read]


def _uncounted(count: int) -> None:
    """Bytes read that nothing counts."""


def _worker_advance(count: int) -> None:
    if _WORKERS_READ:
        with _WORKERS_READ[0].get_lock():
            _WORKERS_READ[0].value += count


def _import_extensions(modules: Sequence[str]) -> None:
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # an extension is foreign code: whatever it raises is a usage error, not a crash
            raise _Usage(f"cannot import extension {module!r}: {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def _opened(path: str, progress: bool, advance: Callable[[int], None] | None = None) -> Iterator[IO[bytes]]:
    """A capture file (or standard input) opened for reading: with ``progress``, through a progress display of
    its own; with ``advance``, counting the bytes read to it instead."""
    handle: IO[bytes] = sys.stdin.buffer if path == _STDIN else open(path, "rb")  # noqa: SIM115
    bar = _Progress("<stdin>" if path == _STDIN else path, _size(handle), sys.stderr) if progress else None
    count = bar.advance if bar is not None else advance
    try:
        # Read through _CountingReader even when nothing counts: it reads one system call at a time (Ctrl-C).
        yield io.BufferedReader(_CountingReader(handle, count or _uncounted))
    finally:
        if bar is not None:
            bar.close()
        if path != _STDIN:
            handle.close()


def _run(paths: Sequence[str], options: dict[str, Any], shard: tuple[int, int], progress: bool,
         advance: Callable[[int], None] | None = None, into: Report | None = None) -> Any:
    """Validate ``paths`` (one capture if ``--one-capture``, else each its own), checking one shard.

    ``into``: the report to fill, so that what was found is there if Ctrl-C stops the run part-way.
    """
    from ccproto.capture.validator import validate_sources

    sources = [("<stdin>" if path == _STDIN else path, functools.partial(_opened, path, progress, advance))
               for path in paths]
    return validate_sources(
        sources, shard=shard, strict=options["strict"], limits=options["limits"], coverage=options["coverage"],
        kind=options["kind"], all_connections=options["all_connections"], partial=options["partial"],
        idle_timeouts=options["idle_timeouts"], series=options["series"], report=into,
        checkers=_checkers(options["checker_options"]),
    )


def _on_cluster(args: argparse.Namespace, options: dict[str, Any]) -> Any:
    """``--scheduler``: the FILEs validated on a Dask cluster (one capture with ``--one-capture``)."""
    try:
        from ccproto.capture.cluster import open_client, validate_on_cluster
    except ImportError:
        raise _Usage("--scheduler needs Dask: pip install 'ccproto[dask]'") from None

    def advance(done: int, total: int) -> None:
        if options["progress"]:
            sys.stderr.write(f"\rvalidating on the cluster: {done}/{total} tasks done")
            sys.stderr.flush()

    try:
        with open_client(args.scheduler) as client:
            report = validate_on_cluster(
                args.files, client, series=options["series"], shards=args.jobs if args.jobs > 1 else None,
                strict=options["strict"], limits=options["limits"], checkers=_checkers(options["checker_options"]),
                coverage=options["coverage"], kind=options["kind"], all_connections=options["all_connections"],
                partial=options["partial"], idle_timeouts=options["idle_timeouts"], on_task_done=advance,
            )
    except (OSError, TimeoutError) as exc:
        raise _Usage(f"--scheduler {args.scheduler}: {exc}") from None
    except ValueError as exc:  # local:N malformed, a glob that matches nothing
        raise _Usage(f"--scheduler: {exc}") from None
    finally:
        if options["progress"]:
            sys.stderr.write("\n")
    return report


def _checker_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """protocol -> {keyword: value} of the ``--<protocol>-<option>`` checker options given (plain data: it
    crosses to ``--jobs`` workers)."""
    found: dict[str, dict[str, Any]] = {}
    for dest, value in vars(args).items():
        if dest.startswith(_CHECKER_DEST) and value is not None:
            protocol, _, keyword = dest[len(_CHECKER_DEST):].partition(":")
            found.setdefault(protocol, {})[keyword] = value
    return found


def _checkers(options: dict[str, dict[str, Any]]) -> dict[str, Callable[..., Any]] | None:
    """The checker factories with the given checker options bound (``None``: every protocol's own)."""
    if not options:
        return None
    from ccproto.capture.validator import CHECKERS

    return {**CHECKERS, **{protocol: functools.partial(CHECKERS[protocol], **keywords)
                           for protocol, keywords in options.items()}}


def _validate_file(path: str, options: dict[str, Any], progress: bool,
                   advance: Callable[[int], None] | None = None, into: Report | None = None) -> Report:
    """One file (or standard input) into a report (``into`` if given); ``OSError`` if it cannot be read."""
    report: Report = _run([path], options, (0, 1), progress, advance, into).report
    return report


def _worker(path: str, options: dict[str, Any]) -> Report:
    """``--jobs``: validate one file in a worker process (extensions imported there too)."""
    _import_extensions(options["extensions"])
    return _validate_file(path, options, progress=False, advance=_worker_advance)


def _shard_worker(paths: Sequence[str], options: dict[str, Any], shard: tuple[int, int]) -> Any:
    """``--jobs`` on one capture: check one shard of its connections in a worker process."""
    _import_extensions(options["extensions"])
    return _run(paths, options, shard, progress=False, advance=_worker_advance)


@contextlib.contextmanager
def _pool(processes: int) -> Iterator[tuple[Any, Any]]:
    """Worker processes that leave Ctrl-C to this one, and the count of bytes they read; stopped on leaving
    (at once, also when interrupted: a worker never prints a traceback of its own)."""
    import multiprocessing
    import signal

    context = multiprocessing.get_context()
    read = context.Value("q", 0)
    # Ctrl-C is held back while the workers start, so none can get it before it ignores it (and print a
    # traceback); this process gets it as soon as they are started.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool = context.Pool(processes, initializer=_init_worker, initargs=(read,))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    with pool:
        yield pool, read  # leaving the block terminates the workers, whatever they were doing


def _results(results: Sequence[Any], bar: _Progress | None) -> list[Any]:
    """What the workers' ``results`` (``AsyncResult``) hold, redrawing ``bar`` while waiting (their errors raised)."""
    for result in results:
        while not result.ready():
            result.wait(PROGRESS_REDRAW)  # woken often: the display moves, and Ctrl-C is seen at once
            if bar is not None:
                bar.draw()
    if bar is not None:
        bar.draw()  # the last worker's last bytes (100% when every byte was read)
    return [result.get() for result in results]


def _sharded(paths: Sequence[str], options: dict[str, Any], jobs: int) -> Report:
    """One capture checked by ``jobs`` processes, each a shard of its connections (this one the first)."""
    from ccproto.capture.validator import merge_shards

    with _pool(jobs - 1) as (pool, read):
        futures = [pool.apply_async(_shard_worker, (paths, options, (k, jobs))) for k in range(1, jobs)]
        # Every process reads the whole capture: the display counts the bytes all of them read.
        size = _total_size(paths)
        bar = (_Progress(" + ".join(paths), size * jobs if size is not None else None, sys.stderr,
                         others=lambda: int(read.value)) if options["progress"] else None)
        try:
            # Not ``into=``: on Ctrl-C one shard's findings are no partial report of the capture (all shards are).
            mine = _run(paths, options, (0, jobs), progress=False, advance=bar.advance if bar else None)
            report: Report = merge_shards([mine, *_results(futures, bar)])
        finally:
            if bar is not None:
                bar.close()
    return report


def _parallel(paths: Sequence[str], options: dict[str, Any], jobs: int, done: dict[str, Report]) -> None:
    """``--jobs`` on several files: each validated in a worker, its report put in ``done`` as it comes."""
    with _pool(min(jobs, len(paths))) as (pool, read):
        futures = {path: pool.apply_async(_worker, (path, options)) for path in paths}
        bar = (_Progress(f"{len(paths)} files", _total_size(paths), sys.stderr, others=lambda: int(read.value))
               if options["progress"] else None)
        try:
            for path, future in futures.items():
                [done[path]] = _results([future], bar)
        finally:
            if bar is not None:
                bar.close()


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(65536):
        yield chunk


def _validate_streams(name: str, specs: Sequence[str], options: dict[str, Any]) -> Report:
    from ccproto.capture.validator import validate_records
    from ccproto.protocols import get

    option = f"--{name}-stream"
    paths: dict[str, str] = {}
    for spec in specs:
        side, sep, path = spec.partition("=")
        if not sep or side not in ("client", "server") or not path:
            raise _Usage(f"{option} takes client=FILE or server=FILE, not {spec!r}")
        if side in paths:
            raise _Usage(f"{option} {side}= given twice")
        paths[side] = path
    read = get(name).load_stream_reader()
    handles = {side: open(path, "rb") for side, path in paths.items()}  # noqa: SIM115
    try:
        chunks = {side: _chunks(handle) for side, handle in handles.items()}
        label = " + ".join(f"{side}={path}" for side, path in sorted(paths.items()))
        return validate_records(
            read(chunks.get("client"), chunks.get("server"), file=label, limits=options["limits"]),
            limits=options["limits"],
            strict=options["strict"], coverage=options["coverage"], all_connections=options["all_connections"],
            checkers=_checkers(options["checker_options"]),
        )
    finally:
        for handle in handles.values():
            handle.close()


def _streams_given(args: argparse.Namespace) -> dict[str, list[str]]:
    """``--<protocol>-stream`` options given: protocol -> its SIDE=FILE values, in registration order."""
    return {key.removeprefix(_STREAM_DEST): value for key, value in vars(args).items()
            if key.startswith(_STREAM_DEST) and value}


def _idle_timeouts(specs: Sequence[str]) -> dict[str, float | None]:
    """``--idle-timeout [PROTOCOL=]SECONDS`` options as protocol -> seconds (``None``: never idle)."""
    found: dict[str, float | None] = {}
    for spec in specs:
        protocol, sep, text = spec.rpartition("=")
        protocols = [protocol] if sep else list(PROTOCOL_NAMES)
        if sep and protocol not in PROTOCOL_NAMES:
            raise _Usage(f"--idle-timeout: unknown protocol {protocol!r} (one of {', '.join(PROTOCOL_NAMES)})")
        seconds: float | None
        if text == "off":
            seconds = None
        else:
            try:
                seconds = float(text)
            except ValueError:
                seconds = -1.0
            if not seconds > 0 or seconds == float("inf"):
                raise _Usage(f"--idle-timeout takes [PROTOCOL=]SECONDS (a positive number) or 'off', not {spec!r}")
        found.update(dict.fromkeys(protocols, seconds))
    return found


#: The ``Limits`` fields ``ccproto validate`` takes as options (``--max-depth`` sets ``max_depth``).
_LIMIT_OPTIONS = ("max_message_bytes", "max_depth", "max_pending", "max_connections")


def _validate(args: argparse.Namespace) -> int:
    # Imported here so `ccproto --version` stays fast.
    from ccproto.capture.output import render
    from ccproto.core.findings import Report
    from ccproto.core.limits import Limits

    _check_writable(args.output, "--output")
    bounds = {name: getattr(args, name) for name in _LIMIT_OPTIONS if getattr(args, name) is not None}
    progress = _progress_wanted(args.quiet)
    options = {
        "kind": args.input_format, "strict": args.strict, "coverage": args.coverage, "extensions": args.extension,
        "limits": Limits(**bounds), "partial": args.partial, "series": args.one_capture,
        "idle_timeouts": _idle_timeouts(args.idle_timeout),
        "checker_options": _checker_options(args),
        # JUnit has a test case per connection, clean ones too: only then is every connection's name kept.
        "all_connections": args.format == "junit",
        "progress": progress,
    }
    streams = _streams_given(args)
    if not args.files and not streams:
        options_of_streams = "".join(f" or --{spec.name}-stream" for spec in _stream_protocols(["validate"]))
        raise _Usage(f"give at least one FILE ('-' for standard input){options_of_streams}")
    if args.files.count(_STDIN) > 1:
        raise _Usage("standard input ('-') can be read only once")
    if args.scheduler is not None and _STDIN in args.files:
        raise _Usage("--scheduler: the cluster's workers read the FILEs themselves, so standard input ('-') "
                     "cannot be one")
    _import_extensions(args.extension)
    report = Report()
    done: dict[str, Report] = {}  # --jobs on several files: the reports of files validated, not yet merged
    # The report being filled in this process (merged into ``report`` once whole): Ctrl-C leaves it part-filled.
    current: Report | None = None
    try:
        # Every process reads the whole capture, so standard input (readable once) is validated in this one.
        splittable = args.jobs > 1 and _STDIN not in args.files
        if args.scheduler is not None and args.files:
            report.merge(_on_cluster(args, options))
        elif args.one_capture and args.files:
            if splittable:
                report.merge(_sharded(args.files, options, args.jobs))
            else:
                current = _run(args.files, options, (0, 1), progress=progress, into=Report()).report
                report.merge(current)
                current = None
        elif splittable and len(args.files) == 1:
            report.merge(_sharded(args.files, options, args.jobs))
        else:
            parallel = [path for path in args.files if path != _STDIN] if args.jobs > 1 else []
            if len(parallel) > 1:
                _parallel(parallel, options, args.jobs, done)
            for path in args.files:
                if path in done:
                    report.merge(done.pop(path))
                    continue
                current = Report()
                report.merge(_validate_file(path, options, progress=progress, into=current))
                current = None
        for name, specs in streams.items():
            report.merge(_validate_streams(name, specs, options))
    except OSError as exc:
        raise _Usage(f"cannot read {exc.filename}: {exc.strerror}") from None
    except KeyboardInterrupt:
        # What was validated so far: the inputs finished, and the one being read when Ctrl-C came (not a
        # shard's part of one capture, which _sharded keeps out: only all shards together make a report).
        if current is not None:
            report.merge(current)
        for path in args.files:
            if path in done:
                report.merge(done.pop(path))
        if not args.output:
            raise _Interrupted() from None
        report.sort()
        text = render(report, args.format, max_findings=args.max_findings, interrupted=True)
        try:
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            raise _Interrupted(f"; cannot write the partial report to {args.output}: {exc.strerror}") from None
        raise _Interrupted(f"; partial report ({report.records} records) written to {args.output}") from None
    report.sort()
    text = render(report, args.format, max_findings=args.max_findings)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            raise _Usage(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
    return EXIT_FINDINGS if report.failed else EXIT_OK


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise _Usage(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _server_context(args: argparse.Namespace) -> Any:
    import ssl

    if not args.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise _Usage(f"cannot load --tls-cert/--tls-key: {exc}") from None
    return context


def _client_context(target: str, cafile: str | None) -> Any:
    import ssl

    from ccproto.transports import parse_target

    try:
        scheme, _, _ = parse_target(target)
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    return ssl.create_default_context(cafile=cafile) if scheme in ("tls", "wss") else None


def _peer_factory(cls: type[Any], protocol: str, role: str) -> Callable[[], Any]:
    from ccproto.core.roles import Role
    from ccproto.testing.slices import slice_of

    return slice_of(protocol).serve_factory(cls, Role(role))


def _peer_class(spec: str | None, protocol: str, role: str = "server") -> type[Any]:
    from ccproto.testing import peers

    if spec is None:
        from ccproto.core.roles import Role
        from ccproto.testing.slices import slice_of

        return slice_of(protocol).peers[Role(role)]
    module, _, name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise _Usage(f"cannot load --peer {spec}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, peers.ReferencePeer)) or cls.protocol != protocol:
        raise _Usage(f"--peer {spec} is not a {protocol} ReferencePeer")
    if cls.role.value != role:
        raise _Usage(f"--peer {spec} plays the {cls.role.value} role, not the {role} role")
    return cls


def _test_clock_target(text: str) -> str:
    """``--test-clock ADDRESS`` as a URL: ``ws://``, ``wss://``, ``tcp://`` or ``tls://`` as given, ``HOST:PORT`` as
    ``ws://HOST:PORT``."""
    from ccproto.transports import parse_target

    if "://" not in text:
        host, port = _address(text)
        return f"ws://[{host}]:{port}" if ":" in host else f"ws://{host}:{port}"
    try:
        parse_target(text)
    except ValueError as exc:
        raise _Usage(f"--test-clock: {exc}") from None
    return text


def _where_clock(target: str, bound: tuple[Any, ...]) -> str:
    """The URL a test clock listening at ``target`` answers at, with the port it actually bound."""
    import urllib.parse

    parts = urllib.parse.urlsplit(target)
    host = str(bound[0])
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}:{bound[1]}{parts.path}"


def _logged(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a long-running command with secret-free, rate-limited logging at ``--log-level`` (then as it was)."""
    from ccproto.testing.logs import configure_logging, restore_logging

    configure_logging(args.log_level)
    try:
        return command(args)
    finally:
        restore_logging()


def _serve(args: argparse.Namespace) -> int:
    _check_writable(args.record, "--record")
    import asyncio
    import signal
    import time

    from ccproto.capture.live import LiveCapture
    from ccproto.core.redact import redact_urls
    from ccproto.protocols import get as get_protocol
    from ccproto.testing.live import (
        MovableClock,
        NonBlockingOutput,
        PeerServer,
        ServeLimits,
        connect_peer,
        limit_accept_errors,
        serve_clock,
        serve_peer,
    )

    cls = _peer_class(args.peer, args.protocol, args.role)
    unknown = sorted(set(args.stimulate) - set(cls.STIMULI))
    if unknown:
        raise _Usage(f"unknown stimulus {', '.join(unknown)}; {cls.__name__} knows {', '.join(cls.STIMULI)}")
    context = _server_context(args) if args.listen else _client_context(args.connect, args.cafile)
    clock_target = _test_clock_target(args.test_clock) if args.test_clock else None
    clock_context = None
    if clock_target is not None and clock_target.startswith(("wss:", "tls:")):
        clock_context = _server_context(args)
        if clock_context is None:
            raise _Usage(f"--test-clock {args.test_clock} needs --tls-cert")
    # A test build's feature: the peers read the real time unless --test-clock lets a hook move it.
    clock = MovableClock() if clock_target is not None else time.time
    make_peer = _peer_factory(cls, args.protocol, args.role)
    try:
        record = open(args.record, "w", encoding="utf-8") if args.record else None  # noqa: SIM115
    except OSError as exc:
        raise _Usage(f"cannot write {args.record}: {exc.strerror}") from None
    # Every line goes through a buffer written only as fast as standard output is read: a fixture that never
    # reads serve's output must not stall the peers (a false "no answer") nor Ctrl-C (issue 21).
    sys.stdout.flush()
    try:
        output: Any = NonBlockingOutput(sys.stdout.fileno())
        say: Callable[[str], None] = output.write
    except (AttributeError, OSError, ValueError):  # not a real file (an in-process caller's): plain prints
        output = None

        def say(line: str) -> None:
            print(line, flush=True)

    live = LiveCapture(write=(lambda line: None) if args.quiet else say, record=record, name="serve")
    bounds = ServeLimits(hello_timeout=args.hello_timeout, idle_timeout=args.idle_timeout,
                         shutdown_timeout=args.shutdown_timeout,
                         **({"max_connections": args.max_connections} if args.max_connections else {}))
    served: list[PeerServer] = []

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        limit_accept_errors(loop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        hook = None
        if clock_target is not None:
            assert isinstance(clock, MovableClock)
            try:
                hook = await serve_clock(clock, clock_target, ssl=clock_context)
            except OSError as exc:
                raise _Usage(f"cannot listen on --test-clock {args.test_clock}: {exc.strerror or exc}") from None

        def print_clock() -> None:
            if hook is not None and clock_target is not None:
                where = _where_clock(clock_target, next(iter(getattr(hook, "sockets", ()))).getsockname())
                say(f"test clock on {where} (moves this serve's clock: test builds only)")

        try:
            if args.connect:
                say(f"connecting to {redact_urls(args.connect)} ({cls.__name__})")
                print_clock()
                task = asyncio.ensure_future(connect_peer(make_peer, args.connect, ssl=context, live=live,
                                                          stimuli=args.stimulate, clock=clock))
                await asyncio.wait([task, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return
            host, port = _address(args.listen)
            server = await serve_peer(args.protocol, make_peer, host, port, ssl=context, live=live,
                                      stimuli=args.stimulate, clock=clock, bounds=bounds, notify=say)
            served.append(server)
            bound = [sock.getsockname() for sock in server.sockets]
            scheme = get_protocol(args.protocol).schemes[1 if context else 0]
            say(f"listening on {scheme}://{bound[0][0]}:{bound[0][1]} ({cls.__name__})")
            print_clock()
            await stop.wait()
            # Every connection is closed (1001) and recorded before the summary: bounded by --shutdown-timeout,
            # whatever the clients do (one that never stops sending kept serve running: issue 22).
            await server.shutdown()
        finally:
            if hook is not None:
                hook.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hook.wait_closed(), 5)

    try:
        asyncio.run(run())
    except OSError as exc:
        where = redact_urls(args.listen or args.connect)
        raise _Usage(f"cannot {'listen on' if args.listen else 'connect to'} {where}: "
                     f"{exc.strerror or exc}") from None
    finally:
        if record is not None:
            record.close()
    summary, failed = live.attributed_summary(cls.role, fail_on_peer_errors=args.fail_on_client_errors)
    for server in served:
        if server.refused:
            say(f"{server.refused} connection(s) refused: {bounds.max_connections} were running (--max-connections)")
        if server.dropped:
            say(f"{server.dropped} connection(s) dropped: still open {bounds.shutdown_timeout:g} s after the "
                "shutdown began (--shutdown-timeout)")
    if output is not None and output.dropped:
        say(f"{output.dropped} line(s) were not written: standard output was not read fast enough")
    say(summary)
    if output is not None:
        output.close()  # a reader that never reads does not keep serve from ending
    return EXIT_FINDINGS if failed else EXIT_OK


def _live_settings(args: argparse.Namespace) -> Any:
    from hypothesis import Phase, settings

    # --seed is applied by run_conformance(seed=...) through hypothesis.seed, hypothesis's public way.
    phases = [Phase.explicit, Phase.generate] if args.no_shrink else [Phase.explicit, Phase.generate, Phase.shrink]
    database = None
    if args.database:
        from hypothesis.database import DirectoryBasedExampleDatabase

        database = DirectoryBasedExampleDatabase(args.database)
    return settings(max_examples=args.max_examples, database=database, deadline=None, phases=phases)


def _conversation_progress(
    max_examples: int, *, quiet: bool = False, shrink: bool = True,
) -> tuple[Callable[[int], None], Callable[[Any], None]] | None:
    """Progress lines on standard error (``None`` with ``--quiet``): a callback for each conversation started and
    one for each failure seen.  Lines, not a redrawn bar: a live run's log (CI, a file) shows them too."""
    if quiet:
        return None
    state = {"count": 0, "found_at": 0, "records": 0}

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def label(count: int) -> str:
        # Hypothesis may run a few more than asked (one it could not use does not count): no "4 of 3".
        return f"example {count} of {max_examples}" if count <= max_examples else f"example {count}"

    def started(count: int) -> None:
        state["count"] = count
        if not state["found_at"]:
            say(label(count) if count <= max_examples else f"{label(count)} (an extra)")
        elif (count - state["found_at"]) % 10 == 0:  # shrinking replays many conversations: a line per ten
            say(f"shrinking: {count - state['found_at']} conversations tried, shortest failure so far "
                f"{state['records']} records")

    def failed(failure: Any) -> None:
        records = failure.capture.count("\n")
        if not state["found_at"]:
            state["found_at"], state["records"] = state["count"], records
            then = "; shrinking it" if shrink else ""
            say(f"{label(state['count'])}: broke a rule [{failure.code}] in a conversation of {records} records{then}")
        elif records < state["records"]:
            state["records"] = records
            say(f"shrinking: a shorter failure [{failure.code}], {records} records")

    return started, failed


def _conformance(args: argparse.Namespace) -> int:
    _check_writable(args.capture, "--capture")
    _check_writable(args.junit_xml, "--junit-xml")
    try:
        import hypothesis  # noqa: F401  # the harness needs it: say so before anything starts

        from ccproto.testing.live import ClockHookError, LiveAdapter
    except ImportError as exc:
        raise _Usage(f"needs the testing extra (pip install 'ccproto[testing]'): {exc}") from None
    from ccproto.transports import parse_target

    try:
        scheme, _, _ = parse_target(args.target)
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    from ccproto.protocols import get as get_protocol

    expected = get_protocol(args.protocol).schemes
    if scheme not in expected:
        raise _Usage(f"a {args.protocol} target is {' or '.join(s + '://' for s in expected)}, got {args.target!r}")
    # The implementation's test-clock hook (a test build's), through which the harness moves its clock.
    clock: dict[str, Any] = {}
    if args.clock:
        try:
            clock = {"clock": args.clock, "clock_ssl": _client_context(args.clock, args.cafile)}
        except _Usage as exc:
            raise _Usage(f"--clock: {exc}") from None
    listener, host, port = None, "", 0
    if args.listen:
        try:
            listener = LiveAdapter.listening(args.protocol, args.target, ssl=_server_context(args),
                                             accept_timeout=args.accept_timeout, wait=args.wait, **clock)
        except OSError as exc:
            raise _Usage(f"cannot listen on {args.target}: {exc.strerror or exc}") from None
        host, port = listener.address
        print(f"listening on {scheme}://{host}:{port}: start the {args.protocol} {args.role} under test", flush=True)
        make_adapter: Callable[[], Any] = listener
    else:
        make_adapter = LiveAdapter.factory(args.target, ssl=_client_context(args.target, args.cafile), wait=args.wait,
                                           **clock)
        probe = make_adapter()
        try:
            probe.connect()  # unreachable: a usage error, not a violation
        except OSError as exc:
            raise _Usage(f"cannot reach {args.target}: {exc.strerror or exc}") from None
        probe.close()
        if clock:
            # A hook that does not answer is a usage error too (a live client's hook may start after we
            # listen, so it is only probed here).  Moving by 0 s moves nothing.
            try:
                probe.advance(0)
            except ClockHookError as exc:
                raise _Usage(str(exc)) from None
    try:
        return _run_live_conformance(args, make_adapter, f"{scheme}://{host}:{port}" if listener else args.target)
    except TimeoutError as exc:  # the client under test stopped connecting: it failed the run
        print(f"FAILED: {exc}", flush=True)
        return EXIT_FINDINGS
    finally:
        if listener is not None:
            listener.close()


def _run_live_conformance(args: argparse.Namespace, make_adapter: Callable[[], Any], where: str) -> int:
    import time

    from ccproto.testing.conformance import run_conformance
    from ccproto.testing.harness import ConformanceFailure
    from ccproto.testing.live import ClockHookError, printable_target
    from ccproto.testing.strategies import Numbers

    where = printable_target(where)  # printed and reported: a target's user, password or query may be credentials
    callbacks = _conversation_progress(args.max_examples, quiet=args.quiet, shrink=not args.no_shrink)
    progress, on_failure = callbacks if callbacks is not None else (None, None)
    started = time.monotonic()

    def junit(failure: str | None, message: str = "") -> None:
        if args.junit_xml:
            _write_conformance_junit(args.junit_xml, args, where, time.monotonic() - started, failure, message)

    try:
        try:
            run_conformance(
                args.protocol, args.role, make_adapter, settings=_live_settings(args), shrink_time=args.shrink_time,
                numbers=Numbers.EXACT if args.exact_numbers else Numbers.INTEROPERABLE, progress=progress,
                on_failure=on_failure, seed=args.seed,
            )
        except BaseExceptionGroup as group:  # several distinct failures: report the first
            found = group.subgroup(ConformanceFailure) or group.subgroup(ClockHookError)
            if found is None:
                raise
            first = found.exceptions[0]
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
    except ClockHookError as exc:  # the test build's hook stopped answering: not the protocol's violation
        raise _Usage(str(exc)) from None
    except TimeoutError as exc:  # the client under test stopped connecting (reported by _conformance)
        junit(str(exc), "the implementation stopped connecting")
        raise
    except ConformanceFailure as failure:
        print(failure, flush=True)
        if args.capture:
            with open(args.capture, "w", encoding="utf-8") as out:
                out.write(failure.capture)
        junit(str(failure), f"{failure.reason} [{failure.code}]")
        return EXIT_FINDINGS
    junit(None)
    print(f"PASSED: the {args.protocol} {args.role} at {where} kept the protocol over "
          f"{args.max_examples} examples", flush=True)
    return EXIT_OK


def _write_conformance_junit(
    path: str, args: argparse.Namespace, where: str, seconds: float, failure: str | None, message: str,
) -> None:
    """A JUnit XML report of one conformance run: one test case (the protocol and role tested), failed at most
    once, its failure's text the whole report (the shrunk capture, secrets replaced)."""
    import xml.etree.ElementTree as ET

    from ccproto.capture.output import xml_safe  # the one XML-1.0 cleaning the validate report uses

    root = ET.Element("testsuites", name="ccproto conformance")
    suite = ET.SubElement(root, "testsuite", name=f"ccproto conformance {args.protocol} {args.role}", tests="1",
                          failures="0" if failure is None else "1", errors="0", time=f"{seconds:.3f}")
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="max-examples", value=str(args.max_examples))
    if args.seed is not None:
        ET.SubElement(properties, "property", name="seed", value=str(args.seed))
    case = ET.SubElement(suite, "testcase", classname=f"ccproto.conformance.{args.protocol}",
                         name=f"{args.role} at {xml_safe(where)}", time=f"{seconds:.3f}")
    if failure is not None:
        element = ET.SubElement(case, "failure", message=xml_safe(message), type="ConformanceFailure")
        element.text = xml_safe(failure)
    text = ET.tostring(root, encoding="unicode")
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write('<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n")
    except OSError as exc:
        raise _Usage(f"cannot write {path}: {exc.strerror}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    args = _parser(argv).parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "serve":
            return _logged(_serve, args)
        if args.command == "conformance":
            return _logged(_conformance, args)
    except _Unwritable as exc:  # found before any work, as argparse reports a bad option
        print(f"ccproto {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except _Usage as exc:
        print(f"ccproto {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (KeyboardInterrupt, _Interrupted) as exc:
        # Ctrl-C: one line (a traceback would say nothing the user does not know), the status a shell expects.
        detail = exc.detail if isinstance(exc, _Interrupted) else ""
        print(f"ccproto {args.command}: interrupted{detail}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    raise AssertionError(args.command)  # argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
