"""The reference path: ccproto's strict cattrs converter and the interpreted hooks it is made of.

cattrs' default hooks coerce (``"false"`` -> ``True``, ``1.5`` -> ``1``,
``1001`` -> ``"1001"``, ``"abc"`` -> ``("a", "b", "c")``).  ccproto never
coerces: every primitive hook here checks the exact JSON type, and the hook for
a model checks required members, constants, patterns and bounds, and keeps
unknown members in ``extra``.  Structuring *is* validation, in one pass, so
decoding a message needs no separate schema validation step.  These hooks
decide every case and word every error; :mod:`ccproto.core.compiled` (the fast
path) is generated from the same specs and defers to them.

Errors are raised as :class:`StructureError` carrying the path to the
offending value; :func:`ccproto.core.convert.decode_model` /
:func:`~ccproto.core.convert.encode_model` turn them into
:class:`~ccproto.core.errors.SchemaViolationError` with a JSON pointer.

Why a module of its own (issue 23): the compiled path builds on these hooks
(patterns, cross-member rules, the fields it delegates), and the fast/exact
choice (:mod:`ccproto.core.convert`) builds on both.  Kept apart, the imports
go one way, ``hooks <- compiled <- convert``: this module never imports the
compiled path.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Any

import cattrs

from ccproto.core.jsonio import json_type
from ccproto.core.model import (
    FieldSpec,
    Model,
    OnlyWhen,
    TypeKind,
    TypeSpec,
    WireRule,
    model_spec,
    pointer,
    split_pointer,
)

__all__ = [
    "StructureError",
    "compile_pattern",
    "converter",
    "field_structure_hook",
    "field_unstructure_hook",
    "integral_float",
    "make_converter",
    "rule_checker",
]

_MISSING: Any = object()


class StructureError(Exception):
    """A value does not fit its declared type; ``parts`` is the path to it."""

    def __init__(self, detail: str, parts: tuple[str | int, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parts = parts

    def within(self, *outer: str | int) -> StructureError:
        """The same error, seen from an enclosing value."""
        return StructureError(self.detail, (*outer, *self.parts))

    @property
    def pointer(self) -> str:
        """RFC 6901 pointer to the offending value."""
        return pointer(self.parts)


def _expect(kind: str, value: Any) -> StructureError:
    # Name the JSON type we got, never the value: it may be a secret.
    return StructureError(f"expected {kind}, got {json_type(value)}")


def _structure_str(value: Any, _: Any = None) -> str:
    if type(value) is not str:
        raise _expect("string", value)
    return value


def _structure_int(value: Any, _: Any = None) -> int:
    if type(value) is not int:
        integral = integral_float(value)
        if integral is None:
            raise _expect("integer", value)
        return integral
    return value


def integral_float(value: Any) -> int | None:
    """The integer a JSON number written with a fraction or exponent stands for (``30.0``, ``2e0``, ``-0.0``).

    JSON Schema counts such numbers as integers and ``JSON.parse`` cannot tell them apart, so ccproto
    reads them as the integer (docs/quirks.md N3, the one number rule N1); ``None`` for anything else.
    """
    if type(value) is float and value.is_integer():  # is_integer: False for inf and nan
        return int(value)
    return None


def _structure_bool(value: Any, _: Any = None) -> bool:
    if type(value) is not bool:
        raise _expect("boolean", value)
    return value


def _structure_float(value: Any, _: Any = None) -> float:
    if type(value) is not float and type(value) is not int:
        raise _expect("number", value)
    return value


def _check_json(value: Any, depth: int = 0) -> None:
    """Any-typed members must still be JSON (e.g. no sets, no non-str keys)."""
    kind = type(value)
    if kind in (str, int, bool, float) or value is None:
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise StructureError("object keys must be strings")
            try:
                _check_json(item)
            except StructureError as exc:
                raise exc.within(key) from None
        return
    if kind in (list, tuple):
        for index, item in enumerate(value):
            try:
                _check_json(item)
            except StructureError as exc:
                raise exc.within(index) from None
        return
    raise StructureError(f"not a JSON value: {kind.__name__}")


def _structure_any(value: Any, _: Any = None) -> Any:
    _check_json(value)
    return value


def _structure_object(value: Any, _: Any = None) -> dict[str, Any]:
    if type(value) is not dict:
        raise _expect("object", value)
    _check_json(value)
    return value


def _enum_hook(cls: type[enum.Enum]) -> Callable[[Any, Any], enum.Enum]:
    # A dict lookup is ~20x faster than Enum(value) and never coerces 1 -> "1".
    by_value = {(type(m.value), m.value): m for m in cls}
    allowed = ", ".join(repr(m.value) for m in cls)

    def structure(value: Any, _: Any = None) -> enum.Enum:
        try:
            return by_value[(type(value), value)]
        except (KeyError, TypeError):
            integral = integral_float(value)  # an integer enum's 2.0 is its 2 (quirk N3)
            if integral is not None and (int, integral) in by_value:
                return by_value[(int, integral)]
            raise StructureError(f"expected one of {allowed}") from None

    return structure


class _Hooks:
    """Builds and caches structure/unstructure functions for type specs."""

    def __init__(self, conv: cattrs.Converter) -> None:
        self.conv = conv

    def structure_fn(self, tspec: TypeSpec) -> Callable[[Any, Any], Any]:
        kind = tspec.kind
        if kind is TypeKind.ARRAY:
            assert tspec.items is not None
            item_fn = self.structure_fn(tspec.items)

            def structure_array(value: Any, _: Any = None) -> tuple[Any, ...]:
                if type(value) is not list and type(value) is not tuple:
                    raise _expect("array", value)
                out = []
                for index, item in enumerate(value):
                    try:
                        out.append(item_fn(item, None))
                    except StructureError as exc:
                        raise exc.within(index) from None
                return tuple(out)

            return structure_array
        if kind is TypeKind.ENUM or kind is TypeKind.MODEL:
            return self.conv.get_structure_hook(tspec.python_type)
        return _PRIMITIVE_STRUCTURE[kind]

    def unstructure_fn(self, tspec: TypeSpec) -> Callable[[Any], Any]:
        kind = tspec.kind
        if kind is TypeKind.ARRAY:
            assert tspec.items is not None
            item_fn = self.unstructure_fn(tspec.items)

            def unstructure_array(value: Any) -> list[Any]:
                out = []
                for index, item in enumerate(value):
                    try:
                        out.append(item_fn(item))
                    except StructureError as exc:
                        raise exc.within(index) from None
                return out

            return unstructure_array
        if kind is TypeKind.ENUM or kind is TypeKind.MODEL:
            return self.conv.get_unstructure_hook(tspec.python_type)
        return _identity


def _identity(value: Any) -> Any:
    return value


def _enum_unstructure_hook(cls: type[enum.Enum]) -> Callable[[Any], Any]:
    def unstructure_enum(value: Any) -> Any:
        # Output is strict: the member's value would be valid JSON, but the model is wrong.
        if type(value) is not cls:
            raise StructureError(f"expected a {cls.__name__} member, got {type(value).__name__}")
        return value.value

    return unstructure_enum


_PRIMITIVE_STRUCTURE: dict[TypeKind, Callable[[Any, Any], Any]] = {
    TypeKind.STR: _structure_str,
    TypeKind.INT: _structure_int,
    TypeKind.BOOL: _structure_bool,
    TypeKind.FLOAT: _structure_float,
    TypeKind.OBJECT: _structure_object,
    TypeKind.ANY: _structure_any,
}


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a schema ``pattern`` with ECMA-262 semantics for a final ``$``.

    In Python ``$`` also matches before a trailing newline; in JSON Schema it does
    not, so ``"id\n"`` must not match ``^id$``.  Both the converter and the
    validator use this, so they agree with each other and with other validators.
    """
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _field_checker(spec: FieldSpec, inner: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Wrap a field's hook with its declared constraints (pattern, bounds, comma list)."""
    info = spec.wire
    regex = compile_pattern(info.pattern) if info.pattern else None
    if info.comma_list:
        item_regex = regex

        def structure_comma_list(value: Any, _: Any = None) -> tuple[str, ...]:
            text = _structure_str(value)
            if text == "":
                return ()
            items = tuple(text.split(","))
            if "" in items:
                raise StructureError("comma-separated list has an empty item")
            if item_regex is not None:
                for item in items:
                    if not item_regex.search(item):
                        raise StructureError(f"list item does not match {info.pattern!r}")
            return items

        return structure_comma_list
    if info.forbidden_keys:
        forbidden_keys = info.forbidden_keys

        def structure_without(value: Any, _: Any = None) -> Any:
            result = inner(value, None)
            for key in forbidden_keys:
                if key in result:
                    raise StructureError(f"member {key!r} is not allowed here", (key,))
            return result

        return structure_without
    if info.min_items is not None:
        min_items = info.min_items

        def structure_sized(value: Any, _: Any = None) -> Any:
            result = inner(value, None)
            if len(result) < min_items:
                raise StructureError(f"must have at least {min_items} item(s)")
            return result

        return structure_sized
    if regex is None and info.minimum is None and info.maximum is None:
        return inner

    def structure_checked(value: Any, _: Any = None) -> Any:
        result = inner(value, None)
        if regex is not None and not regex.search(result):
            raise StructureError(f"does not match pattern {info.pattern!r}")
        if info.minimum is not None and result < info.minimum:
            raise StructureError(f"must be >= {info.minimum}")
        if info.maximum is not None and result > info.maximum:
            raise StructureError(f"must be <= {info.maximum}")
        return result

    return structure_checked


def rule_checker(rule: WireRule) -> Callable[[dict[tuple[str, ...], dict[str, Any]]], None]:
    """A check of one cross-member rule on a structured model's objects (keyed by path)."""
    if isinstance(rule, OnlyWhen):
        parent, member, selector, values = rule.member[:-1], rule.member[-1], rule.selector[-1], rule.values

        def check_only_when(found: dict[tuple[str, ...], dict[str, Any]]) -> None:
            obj = found[parent]
            if member in obj and not any(
                type(obj.get(selector)) is type(v) and obj.get(selector) == v for v in values
            ):
                allowed = " or ".join(repr(v) for v in values)
                raise StructureError(f"member {member!r} is allowed only when {selector!r} is {allowed}", rule.member)

        return check_only_when
    exact = rule

    def check_exact(found: dict[tuple[str, ...], dict[str, Any]]) -> None:
        sel = found[exact.selector[:-1]].get(exact.selector[-1], _MISSING)
        if type(sel) is not type(exact.value) or sel != exact.value:
            return
        target = found[exact.target[:-1]][exact.target[-1]]  # the field's own hook made sure it is an object
        for name in exact.members:
            if name not in target:
                raise StructureError(f"missing required member {name!r}", (*exact.target, name))
            if type(target[name]) is not str:
                raise _expect("string", target[name]).within(*exact.target, name)
        for name in target:
            if name not in exact.members:
                raise StructureError(
                    f"member {name!r} is not allowed here (only {', '.join(exact.members)})", (*exact.target, name)
                )

    return check_exact


def _make_model_structure(conv: cattrs.Converter, hooks: _Hooks, cls: type[Model]) -> Callable[[Any, Any], Model]:
    spec = model_spec(cls)
    plan = [
        (f.attr, f.path, _field_checker(f, hooks.structure_fn(f.type)), f.required) for f in spec.fields
    ]
    consts = list(spec.consts.items())
    objects = spec.objects[1:]  # () is the value itself
    known = spec.known
    forbidden = spec.forbidden
    rules = [rule_checker(rule) for rule in spec.rules]

    def structure_model(value: Any, _: Any = None) -> Model:
        if type(value) is not dict:
            raise _expect("object", value)
        found: dict[tuple[str, ...], dict[str, Any]] = {(): value}
        for path in objects:
            child = found[path[:-1]].get(path[-1], _MISSING)
            if child is _MISSING:
                raise StructureError(f"missing required member {path[-1]!r}", path)
            if type(child) is not dict:
                raise _expect("object", child).within(*path)
            found[path] = child
        for path in forbidden:
            if path[-1] in found[path[:-1]]:
                raise StructureError(f"member {path[-1]!r} is not allowed here", path)
        for path, expected in consts:
            actual = found[path[:-1]].get(path[-1], _MISSING)
            if actual is _MISSING:
                raise StructureError(f"missing required member {path[-1]!r}", path)
            if type(actual) is not type(expected) or actual != expected:
                raise StructureError(f"must be {expected!r}", path)
        kwargs: dict[str, Any] = {}
        for attr, path, fn, required in plan:
            raw = found[path[:-1]].get(path[-1], _MISSING)
            if raw is _MISSING:
                if required:
                    raise StructureError(f"missing required member {path[-1]!r}", path)
                continue
            if raw is None and not required:
                # None means "absent" in the model, so null cannot be told apart from it: refuse it.
                raise StructureError("null is not allowed: leave the optional member out", path)
            try:
                kwargs[attr] = fn(raw, None)
            except StructureError as exc:
                raise exc.within(*path) from None
        extra: dict[str, Any] = {}
        for path, obj in found.items():
            declared = known[path]
            if len(obj) > len(declared) or not declared.issuperset(obj):
                for key, item in obj.items():
                    if key not in declared:
                        try:
                            _check_json(item)
                        except StructureError as exc:
                            raise exc.within(*path, key) from None
                        extra[pointer((*path, key))] = item
        for rule in rules:
            rule(found)
        return cls(extra=extra, **kwargs)

    return structure_model


def _make_model_unstructure(hooks: _Hooks, cls: type[Model]) -> Callable[[Model], dict[str, Any]]:
    spec = model_spec(cls)
    plan = [
        (f.attr, f.path, _identity if f.wire.comma_list else hooks.unstructure_fn(f.type), f.wire.comma_list,
         f.required)
        for f in spec.fields
    ]
    consts = list(spec.consts.items())
    objects = spec.objects[1:]
    known = spec.known

    def unstructure_model(obj: Model) -> dict[str, Any]:
        out: dict[str, Any] = {}
        made: dict[tuple[str, ...], dict[str, Any]] = {(): out}
        for path in objects:
            child: dict[str, Any] = {}
            made[path[:-1]][path[-1]] = child
            made[path] = child
        for path, value in consts:
            made[path[:-1]][path[-1]] = value
        for attr, path, fn, comma_list, required in plan:
            value = getattr(obj, attr)
            if value is None and not required:
                continue
            if comma_list and isinstance(value, (tuple, list)):
                if not all(type(v) is str and v and "," not in v for v in value):
                    raise StructureError("comma-list items must be non-empty strings without commas", path)
                value = ",".join(value)
            try:
                made[path[:-1]][path[-1]] = fn(value)
            except StructureError as exc:
                raise exc.within(*path) from None
        for ptr, value in obj.extra.items():
            parts = split_pointer(ptr)
            parent = made.get(parts[:-1]) if parts else None
            if parent is None or parts[-1] in known[parts[:-1]]:
                raise StructureError(
                    f"extra member {ptr!r} has no containing object or collides with a declared member", parts
                )
            parent[parts[-1]] = value
        return out

    return unstructure_model


def make_converter() -> cattrs.Converter:
    """A new converter with ccproto's strict hooks (one per process is plenty)."""
    conv = cattrs.Converter(detailed_validation=False)
    hooks = _Hooks(conv)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_hook
    )
    conv.register_unstructure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_unstructure_hook
    )
    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, Model),
        lambda t: _make_model_structure(conv, hooks, t),
    )
    conv.register_unstructure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, Model),
        lambda t: _make_model_unstructure(hooks, t),
    )
    return conv


#: The process-wide converter every protocol uses.
converter = make_converter()
_hooks = _Hooks(converter)


def field_structure_hook(cls: type[Model], field: FieldSpec) -> Callable[[Any, Any], Any]:
    """The reference structure hook of one declared field (its type's hook wrapped with its constraints)."""
    del cls  # the hook depends on the field alone; the class is named for symmetry with the compiled path
    return _field_checker(field, _hooks.structure_fn(field.type))


def field_unstructure_hook(cls: type[Model], field: FieldSpec) -> Callable[[Any], Any]:
    """The reference unstructure hook of one declared field (a comma list is joined here, its items checked)."""
    del cls
    if not field.wire.comma_list:
        return _hooks.unstructure_fn(field.type)

    def unstructure_comma_list(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            if not all(type(v) is str and v and "," not in v for v in value):
                raise StructureError("comma-list items must be non-empty strings without commas")
            return ",".join(value)
        return value

    return unstructure_comma_list
