"""Structure and unstructure functions compiled from model specs: the fast path of every codec.

:mod:`ccproto.core.hooks` interprets a model's spec (closures walking the
spec's paths, cattrs dispatch, and on output a full re-check of what was
written).  That path is the reference: it gives every error its detail and
pointer.  This module turns the *same* spec into Python source, one function
per model, with each member's lookup, type check, pattern, bounds and enum
lookup written out inline, and builds the frozen instance by setting its slots
directly instead of calling the generated ``__init__`` (which costs more than
the checks: see docs/performance.md).

A compiled function only ever returns a *success*.  Whenever it meets anything
unusual (an error of any kind, a float, an unknown member's value that is not
plain JSON, an ``extra`` on output) it raises :class:`Fallback` and the caller
runs the reference path, which either agrees or raises the proper error.  So
the two paths cannot disagree about what is valid: the compiled one is a
subset that defers everything else, and tests check that it agrees wherever it
answers.

Floats are always deferred.  No declared field is a float, so they are rare;
deferring them means a value parsed by ``orjson`` (which turns integers beyond
64 bits into floats) is trusted only when no float was seen, and a value
written by ``orjson`` (which writes NaN as ``null``) never holds one.

This module builds on the reference hooks (patterns, cross-member rules and the
fields it delegates) and never on :mod:`ccproto.core.convert`, which chooses
between the two paths: so the imports go one way (issue 23).  Each generated
function's source is registered in :mod:`linecache` under a name of its own, so
a traceback through it shows the generated lines.
"""

from __future__ import annotations

import enum
import itertools
import keyword
import linecache
from collections.abc import Callable, Mapping
from typing import Any

from ccproto.core.hooks import compile_pattern, field_structure_hook, field_unstructure_hook, rule_checker
from ccproto.core.jsonio import FAST_DEPTH_BOUND
from ccproto.core.model import (
    ExactMembersWhen,
    FieldSpec,
    Model,
    ModelSpec,
    OnlyWhen,
    TypeKind,
    TypeSpec,
    model_spec,
    pointer,
)

__all__ = [
    "PLAIN_DEPTH",
    "STRUCTURE_FUNCTIONS",
    "Fallback",
    "depth_bound",
    "plain_json",
    "structure_function",
    "unstructure_function",
]


class Fallback(Exception):
    """The compiled path cannot decide this value: run the reference path."""


#: What the generated code raises: the class, so that every raise makes a new instance.  One shared instance
#: would keep every traceback it was raised through (each raise extends ``__traceback__``), and with them the
#: frames and values of every message that ever fell back: memory growing without bound (found by fuzzing).
_FALLBACK = Fallback
_MISSING: Any = object()


#: How deep a free-form value (an open object, an ``Any`` member, an unknown member) may nest on the compiled
#: path; deeper ones are deferred.  With it, no value the compiled path accepts is deeper than
#: ``FAST_DEPTH_BOUND`` (checked for every model when its function is built), so the fast parser need not
#: measure the depth whenever the limit is at least that (the default, 64, is).
PLAIN_DEPTH = 16


def plain_json(value: Any, room: int = PLAIN_DEPTH) -> None:
    """Raise :class:`Fallback` unless ``value`` is JSON without floats, nested at most ``room`` containers deep."""
    kind = value.__class__
    if kind is str or kind is int or kind is bool or value is None:
        return
    if room <= 0:
        raise _FALLBACK
    if kind is dict:
        for key, item in value.items():
            if key.__class__ is not str:
                raise _FALLBACK
            item_kind = item.__class__
            if item_kind is not str and item_kind is not int and item_kind is not bool and item is not None:
                plain_json(item, room - 1)
        return
    if kind is list or kind is tuple:
        for item in value:
            item_kind = item.__class__
            if item_kind is not str and item_kind is not int and item_kind is not bool and item is not None:
                plain_json(item, room - 1)
        return
    raise _FALLBACK


def depth_bound(cls: type[Model]) -> int:
    """The deepest nesting (the message's own object is 1) of any value ``cls``'s compiled function accepts."""
    spec = model_spec(cls)
    deepest = max(len(path) + 1 + PLAIN_DEPTH for path in spec.objects)  # unknown members, wherever kept
    for field in spec.fields:
        # A delegated field is walked by plain_json as a whole before its hook runs.
        inner = _type_depth(field.type) if _is_simple(field) else PLAIN_DEPTH
        deepest = max(deepest, len(field.path) + inner)
    return deepest


def _type_depth(tspec: TypeSpec) -> int:
    """How many containers deep a value of this type may nest on the compiled path (a primitive is 0)."""
    if tspec.kind in (TypeKind.OBJECT, TypeKind.ANY):
        return PLAIN_DEPTH
    if tspec.kind is TypeKind.MODEL:
        return depth_bound(tspec.python_type)
    if tspec.kind is TypeKind.ARRAY:
        assert tspec.items is not None
        return 1 + _type_depth(tspec.items)
    return 0


def _collect_extra(obj: dict[str, Any], declared: frozenset[str], path: tuple[str, ...], extra: dict[str, Any]) -> None:
    for key, item in obj.items():
        if key not in declared:
            plain_json(item)
            extra[pointer((*path, key))] = item


class _Source:
    """Python source under construction, with the constants it refers to."""

    def __init__(self, prefix: str) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_FALLBACK": _FALLBACK, "_MISSING": _MISSING}
        self.prefix = prefix
        self.counter = 0

    def constant(self, value: Any, hint: str = "c") -> str:
        """A name bound to ``value`` in the generated function's globals."""
        self.counter += 1
        name = f"_{hint}{self.counter}"
        self.names[name] = value
        return name

    def fresh(self, hint: str) -> str:
        """A new local variable name."""
        self.counter += 1
        return f"{hint}{self.counter}"

    def emit(self, indent: int, line: str) -> None:
        """Add one line of source."""
        self.lines.append("    " * indent + line)


def _primitive_check(kind: TypeKind) -> str | None:
    """The condition (on ``{v}``) that rejects a value of the wrong JSON type; None for kinds handled elsewhere."""
    return {
        TypeKind.STR: "{v}.__class__ is not str",
        TypeKind.INT: "{v}.__class__ is not int",
        TypeKind.BOOL: "{v}.__class__ is not bool",
    }.get(kind)


def _is_simple(field: FieldSpec) -> bool:
    """Whether the compiled path handles this field itself (the rest is delegated to the reference hooks)."""
    info = field.wire
    if info.comma_list:
        return False
    if info.forbidden_keys and field.type.kind is not TypeKind.OBJECT:
        return False
    if info.min_items is not None and field.type.kind is not TypeKind.ARRAY:
        return False
    return _simple_type(field.type)


def _simple_type(tspec: TypeSpec) -> bool:
    if tspec.kind is TypeKind.ARRAY:
        assert tspec.items is not None
        return _simple_type(tspec.items)
    if tspec.kind is TypeKind.ENUM:
        lookup = _enum_lookup(tspec.python_type)
        return lookup is not None and lookup[0] in (str, int)
    return tspec.kind in (TypeKind.STR, TypeKind.INT, TypeKind.BOOL, TypeKind.MODEL, TypeKind.OBJECT, TypeKind.ANY)


def _enum_lookup(cls: type[enum.Enum]) -> tuple[type, dict[Any, enum.Enum]] | None:
    """The one JSON type of an enum's values and a value -> member map (None when values mix types)."""
    kinds = {type(member.value) for member in cls}
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    return kind, {member.value: member for member in cls}


# -- structure (JSON value -> model) ---------------------------------------------------------------------------


def _structure_value(src: _Source, indent: int, tspec: TypeSpec, var: str, field: FieldSpec | None) -> None:
    """Emit code checking ``var`` against ``tspec`` and rebinding it to the structured value.

    A missing member reaches here as ``None`` (``dict.get``), which every check but ``Any``'s refuses.
    """
    check = _primitive_check(tspec.kind)
    if check is not None:
        src.emit(indent, f"if {' or '.join([check.format(v=var), *_bounds(src, field, var)])}: raise _FALLBACK")
        return
    if tspec.kind is TypeKind.ENUM:
        lookup = _enum_lookup(tspec.python_type)
        assert lookup is not None
        kind, members = lookup
        get = src.constant(members.get, "enum")
        src.emit(indent, f"if {var}.__class__ is not {kind.__name__}: raise _FALLBACK")
        src.emit(indent, f"{var} = {get}({var})")
        src.emit(indent, f"if {var} is None: raise _FALLBACK")
        return
    if tspec.kind is TypeKind.MODEL:
        src.emit(indent, f"{var} = {src.constant(structure_function(tspec.python_type), 's')}({var})")
        return
    if tspec.kind is TypeKind.OBJECT:
        src.emit(indent, f"if {var}.__class__ is not dict: raise _FALLBACK")
        src.emit(indent, f"{src.constant(plain_json, 'plain')}({var})")
        _forbidden_keys(src, indent, field, var)
        return
    if tspec.kind is TypeKind.ANY:
        src.emit(indent, f"{src.constant(plain_json, 'plain')}({var})")
        return
    assert tspec.kind is TypeKind.ARRAY
    assert tspec.items is not None
    src.emit(indent, f"if {var}.__class__ is not list and {var}.__class__ is not tuple: raise _FALLBACK")
    _min_items(src, indent, field, var)
    items = tspec.items
    if items.kind is TypeKind.MODEL:
        fn = src.constant(structure_function(items.python_type), "s")
        src.emit(indent, f"{var} = tuple([{fn}(item) for item in {var}])")
        return
    item = src.fresh("item")
    out = src.fresh("items")
    src.emit(indent, f"{out} = []")
    src.emit(indent, f"for {item} in {var}:")
    _structure_value(src, indent + 1, items, item, None)
    src.emit(indent + 1, f"{out}.append({item})")
    src.emit(indent, f"{var} = tuple({out})")


def _forbidden_keys(src: _Source, indent: int, field: FieldSpec | None, var: str) -> None:
    if field is not None and field.wire.forbidden_keys:
        forbidden = src.constant(frozenset(field.wire.forbidden_keys), "forbidden")
        src.emit(indent, f"if not {forbidden}.isdisjoint({var}): raise _FALLBACK")


def _min_items(src: _Source, indent: int, field: FieldSpec | None, var: str) -> None:
    if field is not None and field.wire.min_items is not None:
        src.emit(indent, f"if len({var}) < {field.wire.min_items!r}: raise _FALLBACK")


def _bounds(src: _Source, field: FieldSpec | None, var: str) -> list[str]:
    """Conditions (each true when ``var`` breaks one) for a field's pattern and bounds."""
    if field is None:
        return []
    info = field.wire
    conditions = []
    if info.pattern is not None:
        # compile_pattern: the one place patterns get ECMA-262's '$'.
        conditions.append(f"{src.constant(compile_pattern(info.pattern).search, 'pattern')}({var}) is None")
    if info.minimum is not None:
        conditions.append(f"{var} < {info.minimum!r}")
    if info.maximum is not None:
        conditions.append(f"{var} > {info.maximum!r}")
    return conditions


def _setter(cls: type[Model], attr: str) -> Callable[[Any, Any], None]:
    # The slot's descriptor sets the value without the frozen class's __setattr__ (which refuses) or __init__.
    descriptor = getattr(cls, attr)
    setter: Callable[[Any, Any], None] = descriptor.__set__
    return setter


def _object_variables(spec: ModelSpec) -> dict[tuple[str, ...], str]:
    return {path: f"o{index}" for index, path in enumerate(spec.objects)}


def _members_present(spec: ModelSpec, path: tuple[str, ...], variables: dict[str, str]) -> str | None:
    """An expression counting the declared members of the object at ``path`` that are present (``None``: no such).

    Used once every check has passed, where it is exact: child objects, constants and required fields are
    all present (a missing one was refused), and an optional field is present exactly when its variable is
    not ``None`` (a null was refused; a structured value is never ``None``).  So the object holds an unknown
    member exactly when its length differs, which is cheaper to test than ``known.issuperset``.  A field
    whose check is delegated to the reference hooks gives no such guarantee: ``None`` then.
    """
    fields = [field for field in spec.fields if field.path[:-1] == path]
    if not all(_is_simple(field) for field in fields):
        return None
    certain = {child[-1] for child in spec.objects if child[:-1] == path and child}
    certain |= {const[-1] for const in spec.consts if const[:-1] == path}
    certain |= {field.path[-1] for field in fields if field.required}
    optional = [field for field in fields if not field.required]
    if certain | {field.path[-1] for field in optional} != spec.known[path]:
        return None
    return " + ".join([str(len(certain)), *(f"({variables[field.attr]} is not None)" for field in optional)])


def _emit_rules(src: _Source, spec: ModelSpec, objects: dict[tuple[str, ...], str]) -> None:
    """Emit a call of each cross-member rule's checker, made only when the rule can fail.

    The guard is the checker's own first test (an ``OnlyWhen`` member is present; an ``ExactMembersWhen``
    selector holds the value): without it the checker returns at once, so skipping it changes nothing.
    """
    found = "{" + ", ".join(f"{path!r}: {objects[path]}" for path in spec.objects) + "}"
    for rule in spec.rules:
        call = f"{src.constant(rule_checker(rule), 'rule')}({found})"
        if isinstance(rule, OnlyWhen):
            src.emit(1, f"if {rule.member[-1]!r} in {objects[rule.member[:-1]]}: {call}")
        elif isinstance(rule, ExactMembersWhen) and type(rule.value) in (str, int, bool):
            selected = src.fresh("sel")
            src.emit(1, f"{selected} = {objects[rule.selector[:-1]]}.get({rule.selector[-1]!r})")
            src.emit(1, f"if {selected}.__class__ is {type(rule.value).__name__} and {selected} == {rule.value!r}:")
            src.emit(2, call)
        else:
            src.emit(1, call)


#: Numbers the generated sources' file names, so two classes of one name never share a linecache entry.
_SOURCE_NUMBERS = itertools.count(1)


def _compile(src: _Source, name: str, cls: type[Model]) -> Callable[..., Any]:
    code = "\n".join(src.lines)
    # A name of its own per function (the class's full name and a number: test-local classes can share a name).
    filename = f"<ccproto compiled {src.prefix} {cls.__module__}.{cls.__qualname__} #{next(_SOURCE_NUMBERS)}>"
    # Registered so tracebacks through generated code show its lines.  The entry's mtime is None, which
    # linecache.checkcache() leaves alone (it checks only entries read from a file).  One entry per compiled
    # function, and those are built once per class and kept (the caches below), so the entries are bounded
    # by the number of model classes, like the functions themselves.
    linecache.cache[filename] = (len(code), None, (code + "\n").splitlines(True), filename)
    namespace: dict[str, Any] = dict(src.names)
    exec(compile(code, filename, "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    function.__ccproto_source__ = code  # type: ignore[attr-defined]
    return function


_STRUCTURE: dict[type[Model], Callable[[Any], Any]] = {}
#: The structure functions built so far, by class (read-only for callers; :func:`structure_function` builds).
STRUCTURE_FUNCTIONS: Mapping[type[Model], Callable[[Any], Any]] = _STRUCTURE
_UNSTRUCTURE: dict[type[Model], Callable[[Any], dict[str, Any]]] = {}


def structure_function(cls: type[Model]) -> Callable[[Any], Any]:
    """The compiled structure function of ``cls``: JSON value -> instance, or :class:`Fallback`."""
    try:
        return _STRUCTURE[cls]
    except KeyError:
        pass
    # Recursive models would need a forward reference; none exist, and the cache entry guards against loops.
    _STRUCTURE[cls] = _refuse
    try:
        function = _STRUCTURE[cls] = _build_structure(cls)
    except BaseException:
        del _STRUCTURE[cls]
        raise
    return function


def _refuse(value: Any) -> Any:
    raise _FALLBACK


def _build_structure(cls: type[Model]) -> Callable[[Any], Any]:
    spec = model_spec(cls)
    if depth_bound(cls) > FAST_DEPTH_BOUND:
        raise TypeError(f"{cls.__qualname__} nests deeper than FAST_DEPTH_BOUND={FAST_DEPTH_BOUND} allows")
    src = _Source("structure")
    objects = _object_variables(spec)
    name = f"structure_{cls.__name__}"
    new = src.constant(object.__new__, "new")
    klass = src.constant(cls, "cls")
    src.emit(0, f"def {name}(value):")
    src.emit(1, "o0 = value")
    src.emit(1, "if o0.__class__ is not dict: raise _FALLBACK")
    for path in spec.objects[1:]:
        var, parent = objects[path], objects[path[:-1]]
        src.emit(1, f"{var} = {parent}.get({path[-1]!r})")
        src.emit(1, f"if {var}.__class__ is not dict: raise _FALLBACK")
    for path in spec.forbidden:
        src.emit(1, f"if {path[-1]!r} in {objects[path[:-1]]}: raise _FALLBACK")
    for path, expected in spec.consts.items():
        if type(expected) not in (str, int, bool):
            src.emit(1, "raise _FALLBACK")
            continue
        var = src.fresh("k")
        src.emit(1, f"{var} = {objects[path[:-1]]}.get({path[-1]!r})")
        src.emit(1, f"if {var}.__class__ is not {type(expected).__name__} or {var} != {expected!r}: raise _FALLBACK")
    src.emit(1, f"obj = {new}({klass})")
    variables: dict[str, str] = {}
    for field in spec.fields:
        var = variables[field.attr] = src.fresh("v")
        parent, key = objects[field.path[:-1]], field.path[-1]
        indent = 1
        if field.required and field.type.kind is TypeKind.ANY:
            src.emit(1, f"{var} = {parent}.get({key!r}, _MISSING)")
            src.emit(1, f"if {var} is _MISSING: raise _FALLBACK")
        elif field.required:
            src.emit(1, f"{var} = {parent}.get({key!r})")
        else:
            # Absent is None; a present null is refused (None means absent, so null cannot be told apart).
            src.emit(1, f"{var} = {parent}.get({key!r})")
            src.emit(1, f"if {var} is None:")
            src.emit(2, f"if {key!r} in {parent}: raise _FALLBACK")
            src.emit(1, "else:")
            indent = 2
        if _is_simple(field):
            _structure_value(src, indent, field.type, var, field)
        else:
            hook = field_structure_hook(cls, field)  # a field the compiled path delegates
            # Floats anywhere are deferred, also inside what the reference hook structures.
            src.emit(indent, f"{src.constant(plain_json, 'plain')}({var})")
            src.emit(indent, f"{var} = {src.constant(hook, 'hook')}({var}, None)")
        src.emit(1, f"{src.constant(_setter(cls, field.attr), 'set')}(obj, {var})")
    src.emit(1, "extra = {}")
    collect = src.constant(_collect_extra, "collect")
    for path in spec.objects:
        var = objects[path]
        known = src.constant(spec.known[path], "known")
        count = _members_present(spec, path, variables)
        unknown = f"len({var}) != {count}" if count is not None else f"not {known}.issuperset({var})"
        src.emit(1, f"if {unknown}: {collect}({var}, {known}, {path!r}, extra)")
    src.emit(1, f"{src.constant(_setter(cls, 'extra'), 'set')}(obj, extra)")
    _emit_rules(src, spec, objects)
    src.emit(1, "return obj")
    return _compile(src, name, cls)


# -- unstructure (model -> JSON value) -------------------------------------------------------------------------


def _unstructure_value(src: _Source, indent: int, tspec: TypeSpec, var: str, field: FieldSpec | None) -> None:
    """Emit code checking ``var`` (a model attribute) and rebinding it to its JSON value."""
    check = _primitive_check(tspec.kind)
    if check is not None:
        src.emit(indent, f"if {' or '.join([check.format(v=var), *_bounds(src, field, var)])}: raise _FALLBACK")
        return
    if tspec.kind is TypeKind.ENUM:
        src.emit(indent, f"if {var}.__class__ is not {src.constant(tspec.python_type, 'enum')}: raise _FALLBACK")
        src.emit(indent, f"{var} = {var}._value_")
        return
    if tspec.kind is TypeKind.MODEL:
        klass = src.constant(tspec.python_type, "cls")
        src.emit(indent, f"if {var}.__class__ is not {klass}: raise _FALLBACK")
        src.emit(indent, f"{var} = {src.constant(unstructure_function(tspec.python_type), 'u')}({var})")
        return
    if tspec.kind in (TypeKind.OBJECT, TypeKind.ANY):
        if tspec.kind is TypeKind.OBJECT:
            src.emit(indent, f"if {var}.__class__ is not dict: raise _FALLBACK")
        src.emit(indent, f"{src.constant(plain_json, 'plain')}({var})")
        _forbidden_keys(src, indent, field, var)
        return
    assert tspec.kind is TypeKind.ARRAY
    assert tspec.items is not None
    src.emit(indent, f"if {var}.__class__ is not tuple and {var}.__class__ is not list: raise _FALLBACK")
    _min_items(src, indent, field, var)
    item, out = src.fresh("item"), src.fresh("items")
    src.emit(indent, f"{out} = []")
    src.emit(indent, f"for {item} in {var}:")
    _unstructure_value(src, indent + 1, tspec.items, item, None)
    src.emit(indent + 1, f"{out}.append({item})")
    src.emit(indent, f"{var} = {out}")


def unstructure_function(cls: type[Model]) -> Callable[[Any], dict[str, Any]]:
    """The compiled unstructure function of ``cls``: instance -> checked JSON value, or :class:`Fallback`."""
    try:
        return _UNSTRUCTURE[cls]
    except KeyError:
        pass
    _UNSTRUCTURE[cls] = _refuse
    try:
        function = _UNSTRUCTURE[cls] = _build_unstructure(cls)
    except BaseException:
        del _UNSTRUCTURE[cls]
        raise
    return function


def _build_unstructure(cls: type[Model]) -> Callable[[Any], dict[str, Any]]:
    spec = model_spec(cls)
    src = _Source("unstructure")
    objects = _object_variables(spec)
    name = f"unstructure_{cls.__name__}"
    src.emit(0, f"def {name}(obj):")
    # Anything kept in `extra` goes through the reference path (it re-checks where each member lands).
    src.emit(1, "extra = obj.extra")
    src.emit(1, "if extra.__class__ is not dict or extra: raise _FALLBACK")
    values: dict[str, str] = {}
    for field in spec.fields:
        var = values[field.attr] = src.fresh("v")
        if not field.attr.isidentifier() or keyword.iskeyword(field.attr):
            raise TypeError(f"{cls.__qualname__}.{field.attr} is not an identifier")
        src.emit(1, f"{var} = obj.{field.attr}")
        indent = 1
        if not field.required:
            src.emit(1, f"if {var} is not None:")
            indent = 2
        if _is_simple(field):
            _unstructure_value(src, indent, field.type, var, field)
        else:
            # The reference unstructure hook, then the field's own structure hook as the check on what it wrote.
            unstructure = field_unstructure_hook(cls, field)
            check = field_structure_hook(cls, field)
            src.emit(indent, f"{var} = {src.constant(unstructure, 'hook')}({var})")
            src.emit(indent, f"{src.constant(check, 'check')}({var}, None)")
            # What orjson would write differently (a float: NaN as null, 1e-07 as 1e-7) is left to the reference.
            src.emit(indent, f"{src.constant(plain_json, 'plain')}({var})")
    # The reference path writes each object's members in this order: child objects (sorted), constants, fields.
    members: dict[tuple[str, ...], list[tuple[str, str, bool]]] = {path: [] for path in spec.objects}
    for path in spec.objects[1:]:
        members[path[:-1]].append((path[-1], objects[path], True))
    for path, expected in spec.consts.items():
        members[path[:-1]].append((path[-1], src.constant(expected, "const"), True))
    for field in spec.fields:
        members[field.path[:-1]].append((field.path[-1], values[field.attr], field.required))
    for path in reversed(spec.objects):  # children first, so a parent's display can refer to them
        var = objects[path]
        entries = members[path]
        fixed = 0
        while fixed < len(entries) and entries[fixed][2]:
            fixed += 1
        display = ", ".join(f"{key!r}: {value}" for key, value, _ in entries[:fixed])
        src.emit(1, f"{var} = {{{display}}}")
        for key, value, required in entries[fixed:]:
            if required:
                src.emit(1, f"{var}[{key!r}] = {value}")
            else:
                src.emit(1, f"if {value} is not None: {var}[{key!r}] = {value}")
    _emit_rules(src, spec, objects)
    src.emit(1, "return o0")
    return _compile(src, name, cls)
