"""Decoding and encoding a model: the compiled path where it answers, else the reference path.

Every function here tries :mod:`ccproto.core.compiled` (the fast path, which
only ever answers a success) and, whenever it defers, runs the reference hooks
of :mod:`ccproto.core.hooks` (the strict cattrs converter), which decide every
case and turn a :class:`~ccproto.core.hooks.StructureError` into a
:class:`~ccproto.core.errors.SchemaViolationError` with a JSON pointer.

Why a module of its own (issue 23): the choice between the two paths needs
both, and the compiled path needs the reference hooks, so keeping the choice
here lets the imports go one way (``hooks <- compiled <- convert``).  The
reference names (``StructureError``, ``converter``, ``compile_pattern``, ...)
are re-exported here, where the codecs, tools and tests have always found them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ccproto.core import compiled
from ccproto.core.errors import LocalProtocolError, ProtocolError, SchemaViolationError
from ccproto.core.hooks import (
    StructureError,
    compile_pattern,
    converter,
    field_structure_hook,
    field_unstructure_hook,
    integral_float,
    make_converter,
    rule_checker,
)
from ccproto.core.jsonio import dumps_plain
from ccproto.core.model import Model

__all__ = [
    "StructureError",
    "compile_pattern",
    "converter",
    "decode_model",
    "encode_model",
    "encode_text",
    "field_structure_hook",
    "field_unstructure_hook",
    "integral_float",
    "is_local",
    "make_converter",
    "rule_checker",
    "structure_compiled",
    "unstructure_compiled",
]

_M = TypeVar("_M", bound=Model)


def decode_model(
    value: Any,
    cls: type[_M],
    *,
    error: type[ProtocolError] = SchemaViolationError.Remote,
    **context: Any,
) -> _M:
    """Structure a JSON value into ``cls``, raising ``error`` (with pointer) if it does not fit."""
    try:
        instance: _M = compiled.structure_function(cls)(value)
        return instance
    except (compiled.Fallback, StructureError):
        pass  # the reference path decides, and names the problem if there is one
    try:
        return converter.structure(value, cls)
    except StructureError as exc:
        raise error(exc.detail, pointer=exc.pointer, **context) from None


def structure_compiled(value: Any, cls: type[_M]) -> _M | None:
    """``cls`` from ``value`` by the compiled path alone: ``None`` whenever it defers (never an error).

    For values parsed by a parser that may differ from the standard one on what the compiled path defers
    (floats): the caller re-parses and decodes the exact way when this returns ``None``.
    """
    function = _COMPILED_STRUCTURE.get(cls) or compiled.structure_function(cls)
    try:
        instance: _M = function(value)
        return instance
    except (compiled.Fallback, StructureError):
        return None


#: Compiled structure functions by class, as they are built (read directly: one call less per message).
_COMPILED_STRUCTURE = compiled.STRUCTURE_FUNCTIONS


def encode_model(obj: Model, **context: Any) -> dict[str, Any]:
    """Unstructure a model to a JSON value, strictly: the output is re-checked against the model.

    Raises :class:`SchemaViolationError.Local` when the model holds something its
    declaration does not allow (a wrong type, a pattern mismatch, a misplaced extra).
    """
    cls = type(obj)
    try:
        return compiled.unstructure_function(cls)(obj)
    except (compiled.Fallback, StructureError, AttributeError):
        pass  # the reference path decides
    try:
        value: dict[str, Any] = converter.unstructure(obj, cls)
    except StructureError as exc:
        raise SchemaViolationError.Local(exc.detail, pointer=exc.pointer, **context) from None
    except (AttributeError, TypeError, ValueError) as exc:
        raise SchemaViolationError.Local(f"cannot encode {cls.__name__}: {type(exc).__name__}", **context) from None
    decode_model(value, cls, error=SchemaViolationError.Local, **context)
    return value


def encode_text(obj: Model) -> str | None:
    """The JSON text of a model by the compiled path, or ``None`` when it defers to :func:`encode_model`.

    The compiled path's values hold no floats, so :func:`~ccproto.core.jsonio.dumps_plain` may use orjson.
    Only a success is answered here: anything else is for the reference path to decide and report.
    """
    value = unstructure_compiled(obj)
    return None if value is None else dumps_plain(value)


def unstructure_compiled(obj: Model) -> dict[str, Any] | None:
    """The JSON value of a model by the compiled path alone: ``None`` whenever it defers (never an error).

    It is what :func:`encode_model` returns when it answers, and it holds no float, so
    :func:`~ccproto.core.jsonio.dumps_plain` writes it as :func:`~ccproto.core.jsonio.dumps` would.
    """
    try:
        return compiled.unstructure_function(type(obj))(obj)
    except (compiled.Fallback, StructureError, AttributeError):
        return None


def is_local(error: ProtocolError) -> bool:
    """Whether an error blames our side."""
    return isinstance(error, LocalProtocolError)
