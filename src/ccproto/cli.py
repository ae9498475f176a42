"""The ``ccproto`` command line (also ``python -m ccproto``)."""

from __future__ import annotations

import argparse
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
                          help="validate N files at once in separate processes (one merged report)")
    validate.add_argument("--input-format", choices=("auto", "jsonl", "har"), default="auto",
                          help="what the FILEs are (default: told apart by their first line)")
    validate.add_argument(
        "--bridge-stream", action="append", default=[], metavar="SIDE=FILE",
        help="a raw Processor Bridge stream: the length-prefixed frames SIDE (client or server) sent on one "
        "TCP connection; give both sides as one connection (repeatable)",
    )
    validate.add_argument(
        "--extension",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first; it registers vendor commands and events (e.g. into "
        "ccproto.processor.REGISTRY) so they are checked, not just warned about (repeatable)",
    )
    return parser


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


def _validate_file(path: str, options: dict[str, Any], progress: bool) -> Report:
    """One file (or standard input) into a report; ``OSError`` if it cannot be read."""
    from ccproto.capture.validator import read_capture, validate_records

    kind = options["kind"]
    handle: IO[bytes] = sys.stdin.buffer if path == _STDIN else open(path, "rb")  # noqa: SIM115
    name = "<stdin>" if path == _STDIN else path
    bar = _progress_for(name, handle) if progress else None
    try:
        source: IO[bytes] = io.BufferedReader(_CountingReader(handle, bar.advance)) if bar else handle
        return validate_records(
            read_capture(source, file=name, kind=kind),
            strict=options["strict"], coverage=options["coverage"], all_connections=options["all_connections"],
        )
    finally:
        if bar is not None:
            bar.close()
        if path != _STDIN:
            handle.close()


def _worker(path: str, options: dict[str, Any]) -> Report:
    """``--jobs``: validate one file in a worker process (extensions imported there too)."""
    _import_extensions(options["extensions"])
    return _validate_file(path, options, progress=False)


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
            read_bridge_streams(chunks.get("client"), chunks.get("server"), file=label),
            strict=options["strict"], coverage=options["coverage"], all_connections=options["all_connections"],
        )
    finally:
        for handle in handles.values():
            handle.close()


def _validate(args: argparse.Namespace) -> int:
    # Imported here so `ccproto --version` stays fast.
    from ccproto.capture.findings import Report
    from ccproto.capture.output import render

    options = {
        "kind": args.input_format, "strict": args.strict, "coverage": args.coverage, "extensions": args.extension,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args)
    except _Usage as exc:
        print(f"ccproto {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    raise AssertionError(args.command)  # argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
