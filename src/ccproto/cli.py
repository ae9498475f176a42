"""The ``ccproto`` command line (also ``python -m ccproto``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ccproto import __version__

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccproto", description="Speak, check and test CTI protocols.")
    parser.add_argument("--version", action="version", version=f"ccproto {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    validate = commands.add_parser(
        "validate",
        help="check captured traffic against the protocols",
        description="Check JSON Lines captures against each protocol's schemas and state machines. "
        "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error or unreadable file.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="JSON Lines capture files")
    validate.add_argument("--format", choices=("text", "json"), default="text", help="report format (default text)")
    validate.add_argument("--strict", action="store_true", help="treat warnings about quirky input as errors")
    validate.add_argument(
        "--extension",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first; it registers vendor commands and events (e.g. into "
        "ccproto.processor.REGISTRY) so they are checked, not just warned about (repeatable)",
    )
    return parser


def _validate(args: argparse.Namespace) -> int:
    # Imported here so `ccproto --version` stays fast.
    import importlib

    from ccproto.capture import render, validate_files

    for module in args.extension:
        try:
            importlib.import_module(module)
        except Exception as exc:  # an extension is foreign code: whatever it raises is a usage error, not a crash
            print(f"ccproto validate: cannot import extension {module!r}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            return EXIT_USAGE
    try:
        report = validate_files(args.files, strict=args.strict)
    except OSError as exc:
        print(f"ccproto validate: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(render(report, args.format))
    return EXIT_FINDINGS if report.errors else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "validate":
        return _validate(args)
    raise AssertionError(args.command)  # argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
