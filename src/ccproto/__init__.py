"""ccproto: sans-I/O models, codecs and state machines for contact-center CTI protocols.

Layers (see ARCHITECTURE.md): ``ccproto.core`` -> ``ccproto.bridge`` (and the
other protocols) -> ``ccproto.capture`` -> ``ccproto.testing`` -> ``ccproto.cli``.
Importing ``ccproto`` itself is cheap; import the protocol you use.
``ccproto.validate_capture`` and ``ccproto.validate_message`` (from
:mod:`ccproto.capture`) are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # What the lazy names below are, for type checkers (at run time they load on first use);
    # tests/test_typing.py checks that this list and ``_LAZY`` agree.
    from ccproto.capture.validator import validate_capture as validate_capture
    from ccproto.capture.validator import validate_message as validate_message

__version__ = "0.1.0"

__all__ = ["__version__", "validate_capture", "validate_message"]

_LAZY = {"validate_capture", "validate_message"}


def __getattr__(name: str) -> Any:
    # Loaded on first use so `import ccproto` (and `ccproto --version`) stays cheap.
    if name in _LAZY:
        from ccproto.capture import validator

        value = getattr(validator, name)
        globals()[name] = value  # later look-ups find it at once (this hook runs only for missing names)
        return value
    raise AttributeError(f"module 'ccproto' has no attribute {name!r}")
