"""Tools for testing implementations against ccproto's protocols (needs the ``testing`` extra).

``pip install ccproto[testing]`` brings hypothesis; :mod:`ccproto.testing.strategies`
generates every message type.
"""

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("ccproto.testing needs hypothesis: pip install 'ccproto[testing]'") from exc

from ccproto.testing.strategies import (
    bridge_messages,
    cceb_actions,
    cceb_messages,
    cceb_unknown_notifications,
    from_model,
    json_values,
    mutated_json,
    processor_failures,
    processor_messages,
    processor_unknown_messages,
)

__all__ = [
    "bridge_messages",
    "cceb_actions",
    "cceb_messages",
    "cceb_unknown_notifications",
    "from_model",
    "json_values",
    "mutated_json",
    "processor_failures",
    "processor_messages",
    "processor_unknown_messages",
]
