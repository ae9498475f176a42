"""What every protocol's message registry shares: declaring a class under fixed wire constants, unique names.

A registry maps wire names (a command, an event name, a notification type) to
model classes.  Its decorators call :func:`declare` to turn a plain subclass
into a frozen attrs model with its constants fixed, and :func:`put` to file it
under its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ccproto.core.model import Model, model

__all__ = ["declare", "put"]

_T = TypeVar("_T", bound=type[Model])


def declare(cls: _T, base: type[Model], consts: Mapping[tuple[str, ...], Any], **constants: Any) -> _T:
    """Make ``cls`` (a subclass of ``base``) a model whose ``WIRE_CONSTS`` are ``consts``; set ``constants``.

    A class already declared may be declared again (e.g. into a second registry)
    under the same constants only.
    """
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"{getattr(cls, '__name__', cls)!r} must subclass {base.__name__}")
    if "__attrs_attrs__" in cls.__dict__:
        if not all(k in cls.__dict__ for k in constants):
            raise TypeError(f"{cls.__name__} is already an attrs model: declare it with the registry's decorator "
                            "in place of @model")
        if all(cls.__dict__[k] == v for k, v in constants.items()):
            return cls
        raise TypeError(f"{cls.__name__} is already declared with other constants")
    for key, value in constants.items():
        setattr(cls, key, value)
    cls.WIRE_CONSTS = dict(consts)
    return model(cls)


def put(table: dict[str, Any], key: str, cls: type[Model], replace: bool) -> None:
    """File ``cls`` under ``key``; a name already taken by another class needs ``replace=True``."""
    if not key or key != key.strip():
        raise ValueError(f"{key!r}: a registered name is non-empty, without surrounding whitespace")
    if not replace and table.get(key, cls) is not cls:
        raise ValueError(f"{key!r} is already registered to {table[key].__name__} (pass replace=True)")
    table[key] = cls
