"""ccproto: sans-I/O models, codecs and state machines for contact-center CTI protocols.

Layers (see ARCHITECTURE.md): ``ccproto.core`` -> ``ccproto.bridge`` (and the
other protocols) -> ``ccproto.capture`` -> ``ccproto.testing`` -> ``ccproto.cli``.
Importing ``ccproto`` itself is cheap; import the protocol you use.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
