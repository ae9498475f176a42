"""The ``ccproto`` command line (also ``python -m ccproto``)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from ccproto import __version__

if TYPE_CHECKING:
    from ccproto.capture.findings import Report

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
#: Inputs at least this large (bytes) get a progress bar on a terminal's standard error.
PROGRESS_MIN_BYTES = 8 * 1024 * 1024
_STDIN = "-"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccproto", description="Speak, check and test CTI protocols.")
    parser.add_argument("--version", action="version", version=f"ccproto {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    validate = commands.add_parser(
        "validate",
        help="check captured traffic against the protocols",
        description="Check captured traffic (JSON Lines captures, DevTools HAR files, raw bridge streams; "
        "plain or gzip) against each protocol's schemas and state machines. "
        "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error or unreadable file.",
    )
    validate.add_argument("files", nargs="*", metavar="FILE",
                          help="capture files: JSON Lines or HAR, plain or .gz; '-' reads standard input")
    validate.add_argument("--format", choices=("text", "json", "junit"), default="text",
                          help="report format (default text)")
    validate.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    validate.add_argument("--strict", action="store_true", help="treat warnings about quirky input as errors")
    validate.add_argument("--coverage", action="store_true",
                          help="add which message types and transitions the captures exercised, and which not")
    validate.add_argument("--max-findings", type=_positive_int, metavar="N",
                          help="show only the first N findings (the summary and exit status count them all)")
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
    validate.add_argument("--input-format", choices=("auto", "jsonl", "har"), default="auto",
                          help="what the FILEs are (default: told apart by their first line)")
    validate.add_argument(
        "--bridge-stream", action="append", default=[], metavar="SIDE=FILE",
        help="a raw Processor Bridge stream: the length-prefixed frames SIDE (client or server) sent on one "
        "TCP connection; give both sides as one connection (repeatable)",
    )
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


PROTOCOL_NAMES = ("bridge", "processor", "cceb")


def _serve_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run a reference peer on a real socket",
        description="Run the protocol's reference peer (by default the server role: the Processor Bridge, the "
        "Interaction Processor, the CCEB) on a real socket, one peer per connection: TCP with length-prefixed "
        "frames for the bridge, WebSockets for the others. Each message is printed as it crosses, with the findings of "
        "`ccproto validate`; Ctrl-C stops it and prints the summary. Exit status: 0 no errors seen, 1 errors, "
        "2 usage error.",
    )
    serve.add_argument("protocol", choices=PROTOCOL_NAMES)
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
    conformance.add_argument("--protocol", required=True, choices=PROTOCOL_NAMES)
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


class _Usage(Exception):
    """A usage error: printed, exit status 2."""


class _Progress:
    """A one-line progress bar on a terminal's standard error, advanced by bytes read.  Silent elsewhere."""

    def __init__(self, label: str, total: int | None, stream: IO[str]) -> None:
        self._label, self._total, self._stream = label, total, stream
        self._shown = -1
        self._done = 0

    def advance(self, count: int) -> None:
        self._done += count
        if self._total:
            percent = min(100, self._done * 100 // self._total)
            if percent != self._shown:
                self._shown = percent
                bar = "#" * (percent // 4)
                self._stream.write(f"\r{self._label} [{bar:<25}] {percent:3d}%")
                self._stream.flush()
        elif self._done // (8 * 1024 * 1024) != self._shown:
            self._shown = self._done // (8 * 1024 * 1024)
            self._stream.write(f"\r{self._label} {self._done / 1e6:,.0f} MB read")
            self._stream.flush()

    def close(self) -> None:
        if self._shown >= 0:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


class _CountingReader(io.RawIOBase):
    """A binary file that reports how many bytes have been read through it."""

    def __init__(self, raw: IO[bytes], advance: Callable[[int], None]) -> None:
        self._raw, self._advance = raw, advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._advance(len(data))
        return len(data)


def _progress_for(label: str, handle: IO[bytes]) -> _Progress | None:
    """A progress bar when standard error is a terminal and the input is large (or of unknown size)."""
    if not sys.stderr.isatty():
        return None
    try:
        size: int | None = os.fstat(handle.fileno()).st_size
    except (OSError, ValueError, io.UnsupportedOperation):
        size = None
    if size is not None and size < PROGRESS_MIN_BYTES:
        return None
    return _Progress(label, size or None, sys.stderr)


def _import_extensions(modules: Sequence[str]) -> None:
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # an extension is foreign code: whatever it raises is a usage error, not a crash
            raise _Usage(f"cannot import extension {module!r}: {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def _opened(path: str, progress: bool) -> Iterator[IO[bytes]]:
    """A capture file (or standard input) opened for reading, through a progress bar when it is worth one."""
    handle: IO[bytes] = sys.stdin.buffer if path == _STDIN else open(path, "rb")  # noqa: SIM115
    bar = _progress_for("<stdin>" if path == _STDIN else path, handle) if progress else None
    try:
        yield io.BufferedReader(_CountingReader(handle, bar.advance)) if bar else handle
    finally:
        if bar is not None:
            bar.close()
        if path != _STDIN:
            handle.close()


def _run(paths: Sequence[str], options: dict[str, Any], shard: tuple[int, int], progress: bool) -> Any:
    """Validate ``paths`` (one capture if ``--one-capture``, else each its own), checking one shard."""
    from ccproto.capture.validator import validate_sources

    sources = [("<stdin>" if path == _STDIN else path, functools.partial(_opened, path, progress))
               for path in paths]
    return validate_sources(
        sources, shard=shard, strict=options["strict"], limits=options["limits"], coverage=options["coverage"],
        kind=options["kind"], all_connections=options["all_connections"], partial=options["partial"],
        idle_timeouts=options["idle_timeouts"], series=options["series"],
    )


def _validate_file(path: str, options: dict[str, Any], progress: bool) -> Report:
    """One file (or standard input) into a report; ``OSError`` if it cannot be read."""
    report: Report = _run([path], options, (0, 1), progress).report
    return report


def _worker(path: str, options: dict[str, Any]) -> Report:
    """``--jobs``: validate one file in a worker process (extensions imported there too)."""
    _import_extensions(options["extensions"])
    return _validate_file(path, options, progress=False)


def _shard_worker(paths: Sequence[str], options: dict[str, Any], shard: tuple[int, int]) -> Any:
    """``--jobs`` on one capture: check one shard of its connections in a worker process."""
    _import_extensions(options["extensions"])
    return _run(paths, options, shard, progress=False)


def _sharded(paths: Sequence[str], options: dict[str, Any], jobs: int) -> Report:
    """One capture checked by ``jobs`` processes, each a shard of its connections (this one the first)."""
    from concurrent.futures import ProcessPoolExecutor

    from ccproto.capture.validator import merge_shards

    with ProcessPoolExecutor(max_workers=jobs - 1) as pool:
        futures = [pool.submit(_shard_worker, paths, options, (k, jobs)) for k in range(1, jobs)]
        mine = _run(paths, options, (0, jobs), progress=True)
        report: Report = merge_shards([mine, *(future.result() for future in futures)])
    return report


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(65536):
        yield chunk


def _validate_streams(specs: Sequence[str], options: dict[str, Any]) -> Report:
    from ccproto.capture.streams import read_bridge_streams
    from ccproto.capture.validator import validate_records

    paths: dict[str, str] = {}
    for spec in specs:
        side, sep, path = spec.partition("=")
        if not sep or side not in ("client", "server") or not path:
            raise _Usage(f"--bridge-stream takes client=FILE or server=FILE, not {spec!r}")
        if side in paths:
            raise _Usage(f"--bridge-stream {side}= given twice")
        paths[side] = path
    handles = {side: open(path, "rb") for side, path in paths.items()}  # noqa: SIM115
    try:
        chunks = {side: _chunks(handle) for side, handle in handles.items()}
        label = " + ".join(f"{side}={path}" for side, path in sorted(paths.items()))
        return validate_records(
            read_bridge_streams(chunks.get("client"), chunks.get("server"), file=label, limits=options["limits"]),
            limits=options["limits"],
            strict=options["strict"], coverage=options["coverage"], all_connections=options["all_connections"],
        )
    finally:
        for handle in handles.values():
            handle.close()


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
    from ccproto.capture.findings import Report
    from ccproto.capture.output import render
    from ccproto.core.limits import Limits

    bounds = {name: getattr(args, name) for name in _LIMIT_OPTIONS if getattr(args, name) is not None}
    options = {
        "kind": args.input_format, "strict": args.strict, "coverage": args.coverage, "extensions": args.extension,
        "limits": Limits(**bounds), "partial": args.partial, "series": args.one_capture,
        "idle_timeouts": _idle_timeouts(args.idle_timeout),
        # JUnit has a test case per connection, clean ones too: only then is every connection's name kept.
        "all_connections": args.format == "junit",
    }
    if not args.files and not args.bridge_stream:
        raise _Usage("give at least one FILE ('-' for standard input) or --bridge-stream")
    if args.files.count(_STDIN) > 1:
        raise _Usage("standard input ('-') can be read only once")
    _import_extensions(args.extension)
    report = Report()
    try:
        # Every process reads the whole capture, so standard input (readable once) is validated in this one.
        splittable = args.jobs > 1 and _STDIN not in args.files
        if args.one_capture and args.files:
            report.merge(_sharded(args.files, options, args.jobs) if splittable
                         else _run(args.files, options, (0, 1), progress=True).report)
        elif splittable and len(args.files) == 1:
            report.merge(_sharded(args.files, options, args.jobs))
        else:
            parallel = [path for path in args.files if path != _STDIN] if args.jobs > 1 else []
            done: dict[str, Report] = {}
            if len(parallel) > 1:
                from concurrent.futures import ProcessPoolExecutor

                with ProcessPoolExecutor(max_workers=min(args.jobs, len(parallel))) as pool:
                    futures = {path: pool.submit(_worker, path, options) for path in parallel}
                    done = {path: future.result() for path, future in futures.items()}
            for path in args.files:
                report.merge(done[path] if path in done else _validate_file(path, options, progress=True))
        if args.bridge_stream:
            report.merge(_validate_streams(args.bridge_stream, options))
    except OSError as exc:
        raise _Usage(f"cannot read {exc.filename}: {exc.strerror}") from None
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


#: The token and tenant a served CCEB client says hello with (the reference CCEB takes any).
SERVE_CLIENT_TOKEN, SERVE_CLIENT_TENANT = "ccproto-serve", "ccproto"


def _peer_factory(cls: type[Any], protocol: str, role: str) -> Callable[[], Any]:
    if protocol == "cceb" and role == "server":
        from ccproto.cceb import SessionStore

        store = SessionStore()  # long-lived sessions outlive connections: one store for every peer
        return lambda: cls(store=store)
    if protocol == "cceb":
        return lambda: cls(token=SERVE_CLIENT_TOKEN, tenant=SERVE_CLIENT_TENANT)
    if protocol == "processor" and role == "server":
        from ccproto.testing.peers.processor import AgentSessions

        sessions = AgentSessions()  # agent sessions outlive connections: one table for every peer
        return lambda: cls(sessions=sessions)
    return cls


def _peer_class(spec: str | None, protocol: str, role: str = "server") -> type[Any]:
    from ccproto.testing import peers

    if spec is None:
        return {
            ("bridge", "server"): peers.ReferenceBridge, ("bridge", "client"): peers.ReferenceBridgeClient,
            ("processor", "server"): peers.ReferenceProcessor, ("processor", "client"): peers.ReferenceProcessorClient,
            ("cceb", "server"): peers.ReferenceCceb, ("cceb", "client"): peers.ReferenceCcebClient,
        }[(protocol, role)]
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


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import time

    from ccproto.capture.live import LiveCapture
    from ccproto.testing.live import MovableClock, connect_peer, serve_clock, serve_peer

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
    live = LiveCapture(write=lambda line: print(line, flush=True), record=record, name="serve")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
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
                print(f"test clock on {where} (moves this serve's clock: test builds only)", flush=True)

        try:
            if args.connect:
                print(f"connecting to {args.connect} ({cls.__name__})", flush=True)
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
                                      stimuli=args.stimulate, clock=clock)
            bound = [sock.getsockname() for sock in getattr(server, "sockets", ())]
            scheme = {"bridge": "tls" if context else "tcp"}.get(args.protocol, "wss" if context else "ws")
            print(f"listening on {scheme}://{bound[0][0]}:{bound[0][1]} ({cls.__name__})", flush=True)
            print_clock()
            await stop.wait()
            server.close()
            await server.wait_closed()
        finally:
            if hook is not None:
                hook.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hook.wait_closed(), 5)

    try:
        asyncio.run(run())
    except OSError as exc:
        raise _Usage(f"cannot {'listen on' if args.listen else 'connect to'} {args.listen or args.connect}: "
                     f"{exc.strerror or exc}") from None
    finally:
        if record is not None:
            record.close()
    print(live.summary(), flush=True)
    return EXIT_FINDINGS if live.report.failed else EXIT_OK


def _live_settings(args: argparse.Namespace) -> Any:
    from hypothesis import Phase, settings

    if args.seed is not None:
        import hypothesis.core

        # What hypothesis's own `pytest --hypothesis-seed` does: every run of this process draws from this seed.
        hypothesis.core.global_force_seed = args.seed

    phases = [Phase.explicit, Phase.generate] if args.no_shrink else [Phase.explicit, Phase.generate, Phase.shrink]
    database = None
    if args.database:
        from hypothesis.database import DirectoryBasedExampleDatabase

        database = DirectoryBasedExampleDatabase(args.database)
    return settings(max_examples=args.max_examples, database=database, deadline=None, phases=phases)


def _conversation_progress(max_examples: int) -> Callable[[int], None] | None:
    """On a terminal, a line on standard error counting the conversations (past ``max_examples``: shrinking)."""
    if not sys.stderr.isatty():
        return None

    def show(count: int) -> None:
        what = (f"conversation {count} of {max_examples}" if count <= max_examples
                else f"shrinking a failure: conversation {count}")
        print(f"\r{what}\x1b[K", end="", file=sys.stderr, flush=True)

    return show


def _conformance(args: argparse.Namespace) -> int:

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
    expected = ("tcp", "tls") if args.protocol == "bridge" else ("ws", "wss")
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
    from ccproto.testing.conformance import run_conformance
    from ccproto.testing.harness import ConformanceFailure
    from ccproto.testing.live import ClockHookError
    from ccproto.testing.strategies import Numbers

    progress = _conversation_progress(args.max_examples)
    try:
        try:
            run_conformance(
                args.protocol, args.role, make_adapter, settings=_live_settings(args), shrink_time=args.shrink_time,
                numbers=Numbers.EXACT if args.exact_numbers else Numbers.INTEROPERABLE, progress=progress,
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
    except ConformanceFailure as failure:
        if progress is not None:
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)  # the failure starts on a clean line
        print(failure, flush=True)
        if args.capture:
            with open(args.capture, "w", encoding="utf-8") as out:
                out.write(failure.capture)
        return EXIT_FINDINGS
    finally:
        if progress is not None:
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    print(f"PASSED: the {args.protocol} {args.role} at {where} kept the protocol over "
          f"{args.max_examples} examples", flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "conformance":
            return _conformance(args)
    except _Usage as exc:
        print(f"ccproto {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    raise AssertionError(args.command)  # argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
