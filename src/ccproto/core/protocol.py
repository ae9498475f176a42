"""What a protocol is, for the layers above it: one descriptor per protocol, in one place.

Each protocol package (``ccproto.bridge``, ``ccproto.processor``, ``ccproto.cceb``) exports its
:class:`ProtocolSpec` as ``PROTOCOL``; :mod:`ccproto.protocols` registers them.  The capture validator, the CLI
and the testing layer look a protocol up there instead of writing its name: a new protocol is one package, its
parts in the layers above, and one registry line.

The parts that live in higher layers (the capture checker, the testing slice) are named by import path
(``"module:attribute"``) and loaded on first use, so that this module, and the protocol packages that build
specs, never import a layer above them.  A spec built outside ccproto (a test's toy protocol) may give the
objects themselves.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any, Literal

import attrs

__all__ = ["TRANSPORT_SCHEMES", "CheckerOption", "ProtocolSpec", "Transport", "positive_seconds", "resolve"]

#: How a protocol's messages cross: one length-prefixed frame each over TCP (``framed``: the bridge's control
#: destination), one WebSocket text message each (``websocket``), or one HTTP request and its response each
#: (``http``: CCT's SOAP calls).
Transport = Literal["framed", "websocket", "http"]

#: Each transport's URL schemes: plain, then over TLS.
TRANSPORT_SCHEMES: dict[str, tuple[str, str]] = {
    "framed": ("tcp", "tls"), "websocket": ("ws", "wss"), "http": ("http", "https")}


def resolve(reference: object) -> Any:
    """``reference`` itself, or the object a ``"module:attribute"`` string names (imported on first use)."""
    return _imported(reference) if isinstance(reference, str) else reference


@functools.cache
def _imported(reference: str) -> Any:
    # Cached: the validator looks a checker up for every connection.
    module, sep, attribute = reference.partition(":")
    if not sep or not module or not attribute:
        raise ValueError(f"an import path is 'module:attribute', not {reference!r}")
    value: Any = importlib.import_module(module)
    for name in attribute.split("."):
        value = getattr(value, name)
    return value


def positive_seconds(text: str) -> float:
    """A checker option's text as a positive, finite number of seconds (``ValueError`` otherwise)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ValueError(f"takes a positive number of seconds, not {text!r}")
    return seconds


# argparse names the type in its message ("invalid seconds value: 'x'").
positive_seconds.__name__ = "seconds"


@attrs.frozen(kw_only=True)
class CheckerOption:
    """A setting of a protocol's capture checker that ``ccproto validate`` takes as ``--<protocol>-<option>``
    (``--cct-session-timeout``): the CLI knows it from the spec, not from the protocol's name."""

    #: The checker factory's keyword argument (``session_timeout``); the option's name is made from it.
    keyword: str
    #: What it sets, with its default (``--help``).
    help: str
    #: Reads the option's text into the value (``ValueError``: a usage error).
    parse: Callable[[str], Any]
    #: The value's name in ``--help``.
    metavar: str = "VALUE"

    def flag(self, protocol: str) -> str:
        """The command-line option of ``protocol``'s checker: ``--cct-session-timeout``."""
        return f"--{protocol}-{self.keyword.replace('_', '-')}"


@attrs.frozen(kw_only=True)
class ProtocolSpec:
    """One protocol as the layers above its package see it (registered in :mod:`ccproto.protocols`)."""

    #: The name every API and capture record uses (``"bridge"``, the ``protocol`` of a record).
    name: str
    #: What it is, in a few words (help texts, docs).
    description: str
    #: How its messages cross a connection.
    transport: Transport
    #: The codec's ``decode(data)``: text or bytes to a message (the protocol's ``ProtocolError`` on bad input).
    decode: Callable[[Any], Any]
    #: Whether a message (a parsed JSON object) has this protocol's shape: how a capture record that does not say
    #: its protocol is told apart.  Specs are asked in registration order; the first that recognizes wins.
    recognizes: Callable[[dict[str, Any]], bool]
    #: The capture checker of one connection (a ``ccproto.capture`` ``ConnectionChecker`` factory), or its import
    #: path.
    checker: object
    #: What follows, in every shard, the connections another shard checks, for rules across connections (the
    #: CCEB's long-lived sessions); ``None`` when the protocol has no such rule.  An object or an import path.
    shadow: object = None
    #: The protocol's testing slice (``ccproto.testing``: reference peers, conformance machines, how ``ccproto
    #: serve`` makes peers), or its import path.
    testing: object = None
    #: How one connection is read from raw streams, one per direction (the bytes each side sent, e.g. the bridge's
    #: length-prefixed frames from a proxy's log): ``read(client, server, *, file, limits)`` -> records (``None``
    #: for either side that is missing), or its import path; ``None`` when the protocol has no such format.
    #: ``ccproto validate --<name>-stream SIDE=FILE`` reads them.
    stream_reader: object = None
    #: The types ``st.from_type`` draws with a strategy of the protocol's (each message class, and the bases and
    #: catch-alls that have one of their own): a tuple of them, a function returning it, or the import path of
    #: either.  Hypothesis's entry point (``ccproto.testing._hypothesis``) reads it without importing
    #: ``ccproto.testing``, so it lives in the protocol's package; ``None``: no type of its own.
    strategy_types: object = None
    #: The settings of its capture checker that ``ccproto validate`` takes as options (each a keyword argument of
    #: the checker factory).
    checker_options: tuple[CheckerOption, ...] = ()

    @property
    def schemes(self) -> tuple[str, str]:
        """The URL schemes of a connection: plain, then over TLS (``tcp``/``tls``, ``ws``/``wss``, ``http(s)``)."""
        return TRANSPORT_SCHEMES[self.transport]

    def load_checker(self) -> Callable[..., Any]:
        """The checker factory (imported on first use)."""
        return resolve(self.checker)  # type: ignore[no-any-return]

    def load_shadow(self) -> Callable[..., Any] | None:
        """The cross-connection shadow factory, if any (imported on first use)."""
        return None if self.shadow is None else resolve(self.shadow)

    def load_stream_reader(self) -> Callable[..., Any]:
        """The raw-stream reader (imported on first use); ``ValueError`` when the protocol has none."""
        if self.stream_reader is None:
            raise ValueError(f"the {self.name} protocol has no raw stream format")
        return resolve(self.stream_reader)  # type: ignore[no-any-return]

    def load_strategy_types(self) -> tuple[type[Any], ...]:
        """The types with a strategy of the protocol's (imported, and the function called, on first use)."""
        found = resolve(self.strategy_types)
        if found is None:
            return ()
        return tuple(found() if callable(found) else found)

    def load_testing(self) -> Any:
        """The testing slice (imported on first use); ``ValueError`` when the protocol has none."""
        if self.testing is None:
            raise ValueError(f"the {self.name} protocol has no testing slice")
        return resolve(self.testing)
