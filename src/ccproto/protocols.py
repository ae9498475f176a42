"""The registry of protocols: every layer above the protocol packages looks a protocol up here.

``ccproto.bridge``, ``ccproto.processor``, ``ccproto.cceb`` and ``ccproto.cct`` are registered when this module is
imported, in that order (the order a capture record's shape is matched in, :func:`recognize`).  :func:`register` adds
another (a vendor's, a test's toy protocol) at run time: ``ccproto validate``, the testing layer and ``ccproto
serve`` then know it too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from ccproto.bridge.protocol import PROTOCOL as BRIDGE
from ccproto.cceb.protocol import PROTOCOL as CCEB
from ccproto.cct.protocol import PROTOCOL as CCT
from ccproto.core.protocol import ProtocolSpec
from ccproto.processor.protocol import PROTOCOL as PROCESSOR

__all__ = [
    "BUILT_IN", "KNOWN", "ProtocolName", "ProtocolSpec", "get", "names", "recognize", "register", "registered",
    "unregister",
]

#: name -> spec of every registered protocol, in registration order.  A live view: read it, never write it
#: (:func:`register` does); ``name in KNOWN`` is the fast test the capture readers use per record.
KNOWN: Mapping[str, ProtocolSpec]
_registry: dict[str, ProtocolSpec] = {}
KNOWN = _registry


def register(spec: ProtocolSpec, *, replace: bool = False) -> ProtocolSpec:
    """Add ``spec`` (``ValueError`` if its name is taken, unless ``replace``); returns it."""
    if not spec.name or not spec.name.isidentifier():
        raise ValueError(f"a protocol's name is an identifier, not {spec.name!r}")
    if spec.name in _registry and not replace and _registry[spec.name] is not spec:
        raise ValueError(f"a protocol named {spec.name!r} is registered already")
    _registry[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a protocol registered at run time (a test's toy protocol); the built-in ones stay."""
    if name in BUILT_IN:
        raise ValueError(f"{name!r} is built in")
    _registry.pop(name, None)


def get(name: str) -> ProtocolSpec:
    """The spec of the protocol named ``name``; ``ValueError`` naming the registered ones otherwise."""
    try:
        return _registry[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown protocol {name!r}: one of {', '.join(_registry)}") from None


def names() -> tuple[str, ...]:
    """The registered protocols' names, in registration order."""
    return tuple(_registry)


def registered() -> Iterator[ProtocolSpec]:
    """The registered specs, in registration order."""
    return iter(tuple(_registry.values()))


def recognize(message: Any) -> str | None:
    """The protocol whose shape ``message`` (a parsed JSON value) has, or ``None``: the first that recognizes it."""
    if not isinstance(message, dict):
        return None
    for spec in _registry.values():
        if spec.recognizes(message):
            return spec.name
    return None


#: The built-in protocols, by the names every API that takes one by name accepts (``run_conformance("cceb", ...)``).
#: A ``Literal`` so that ``mypy`` catches a misspelled name where it is written (a protocol registered at run time
#: is accepted at run time; type checkers know these).  ``tests/test_project.py`` keeps it equal to BUILT_IN.
ProtocolName = Literal["bridge", "processor", "cceb", "cct"]

#: The protocols ccproto ships (registered here, never unregistered).
BUILT_IN = tuple(register(spec).name for spec in (BRIDGE, PROCESSOR, CCEB, CCT))
