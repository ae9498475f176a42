"""JSON Schema (draft 2020-12) derived from model declarations, and validators for it.

The schemas under ``schemas/`` are the published contract.  They are generated
from the models (``python3 tasks.py schemas``) and a test proves the committed
files equal what the models generate, so the two cannot drift.

Validation with these schemas (``jsonschema``) is used where every finding is
wanted, not only the first: ``ccproto validate`` runs it on records that fail
the converter's one-pass check, to list all their violations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jsonschema
import jsonschema.validators

from ccproto.core.hooks import compile_pattern
from ccproto.core.jsonio import json_equal
from ccproto.core.model import (
    FieldSpec,
    Model,
    OnlyWhen,
    TypeKind,
    TypeSpec,
    WireRule,
    class_cache,
    model_spec,
    pointer,
)

__all__ = [
    "DRAFT",
    "NOTHING",
    "SchemaFinding",
    "iter_schema_findings",
    "refine_schema",
    "schema_for",
    "validator_for",
]

DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: The schema no value matches.  Written so rather than as the boolean ``false`` schema, which some
#: tools integrators use cannot read (AsyncAPI's Modelina crashes on it); the two mean the same.
NOTHING: dict[str, Any] = {"not": {}}

#: What a protocol adds to a message class's published schema that its declaration cannot say (the
#: registry's names, accepted alternate spellings): class -> functions that amend the schema in place.
_REFINEMENTS: dict[type, list[Callable[[dict[str, Any]], None]]] = {}
_BUILT: set[type] = set()


def refine_schema(cls: type[Model], refinement: Callable[[dict[str, Any]], None]) -> None:
    """Have ``refinement`` amend ``cls``'s published schema (in place), after it is built from the declaration.

    Protocol packages register theirs when they are imported, before any schema is built; registering
    after ``cls``'s schema was built is a mistake, so it raises.
    """
    if cls in _BUILT:
        raise RuntimeError(f"the schema of {cls.__name__} was built before its refinement was registered")
    _REFINEMENTS.setdefault(cls, []).append(refinement)


def _typed_object(schema: dict[str, Any]) -> dict[str, Any]:
    # Strict validators (ajv's strictTypes) want each object keyword next to its type.
    return {"type": "object", **schema}


def _type_schema(tspec: TypeSpec) -> dict[str, Any]:
    kind = tspec.kind
    if kind is TypeKind.ENUM:
        return {"enum": [member.value for member in tspec.python_type]}
    if kind is TypeKind.MODEL:
        return _object_schema(tspec.python_type)
    if kind is TypeKind.ARRAY:
        assert tspec.items is not None
        return {"type": "array", "items": _type_schema(tspec.items)}
    if kind is TypeKind.ANY:
        return {}
    return {"type": kind.value}


def _field_schema(field: FieldSpec) -> dict[str, Any]:
    info = field.wire
    if info.comma_list:
        item = info.pattern.strip("^$") if info.pattern else "[^,]+"
        schema: dict[str, Any] = {"type": "string", "pattern": f"^(?:{item}(?:,{item})*)?$"}
    else:
        schema = _type_schema(field.type)
        if info.pattern:
            schema["pattern"] = info.pattern
        if info.minimum is not None:
            schema["minimum"] = info.minimum
        if info.maximum is not None:
            schema["maximum"] = info.maximum
        if info.min_items is not None:
            schema["minItems"] = info.min_items
        if info.forbidden_keys:
            schema["properties"] = {key: NOTHING for key in info.forbidden_keys}
    if info.description:
        schema["description"] = info.description
    if info.secret:
        schema["writeOnly"] = True  # a credential: sent, never echoed back
    return schema


def _at(path: tuple[str, ...], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` applied to the member at ``path`` (when the objects on the way are there)."""
    for key in reversed(path):
        schema = _typed_object({"properties": {key: schema}})
    return schema


def _rule_schema(rule: WireRule) -> dict[str, Any]:
    if isinstance(rule, OnlyWhen):
        selector = rule.selector[-1]
        return _at(rule.member[:-1], _typed_object({
            "if": _typed_object({"required": [selector], "properties": {selector: {"enum": list(rule.values)}}}),
            "else": _typed_object({"properties": {rule.member[-1]: NOTHING}}),
        }))
    members = {name: {"type": "string"} for name in rule.members}
    return _typed_object({
        "if": _at(rule.selector[:-1], _typed_object({"required": [rule.selector[-1]], "properties": {
            rule.selector[-1]: {"const": rule.value}}})),
        "then": _at(rule.target, _typed_object({
            "required": list(rule.members), "properties": members, "additionalProperties": NOTHING,
        })),
    })


def _object_schema(cls: type[Model]) -> dict[str, Any]:
    spec = model_spec(cls)
    nodes: dict[tuple[str, ...], dict[str, Any]] = {
        path: {"type": "object", "properties": {}, "required": []} for path in spec.objects
    }
    for path in spec.objects[1:]:
        nodes[path[:-1]]["properties"][path[-1]] = nodes[path]
        nodes[path[:-1]]["required"].append(path[-1])
    for path, value in spec.consts.items():
        nodes[path[:-1]]["properties"][path[-1]] = {"const": value}
        nodes[path[:-1]]["required"].append(path[-1])
    for field in spec.fields:
        parent = nodes[field.path[:-1]]
        parent["properties"][field.path[-1]] = _field_schema(field)
        if field.required:
            parent["required"].append(field.path[-1])
    for path in spec.forbidden:
        nodes[path[:-1]]["properties"][path[-1]] = NOTHING  # present at all: another kind of message
    for node in nodes.values():
        node["required"].sort()
        if not node["required"]:
            del node["required"]
        # Unknown members are allowed (and kept): vendors extend messages.
    root = nodes[()]
    if spec.rules:
        root["allOf"] = [_rule_schema(rule) for rule in spec.rules]
    if cls.__doc__:
        root = {"description": cls.__doc__.strip().splitlines()[0], **root}
    return root


@class_cache
def _schema(cls: type[Model]) -> dict[str, Any]:
    schema = {"$schema": DRAFT, "title": cls.__name__, **_object_schema(cls)}
    _BUILT.add(cls)
    for refinement in _REFINEMENTS.get(cls, ()):
        refinement(schema)
    return schema


def schema_for(cls: type[Model]) -> dict[str, Any]:
    """The JSON Schema of a model (a fresh copy; safe to modify)."""
    import copy

    return copy.deepcopy(_schema(cls))


# JSON Schema counts 30.0 as an integer and compares numbers by value; so do ccproto's models (docs/quirks.md
# N1, N3), so the validator keeps the standard integer type.  ``enum`` and ``const`` are replaced only
# because Python's ``True == 1`` would make jsonschema's own comparison need care; json_equal has none.


def _enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
    if not any(json_equal(instance, allowed, numbers_by_value=True) for allowed in enums):
        yield jsonschema.ValidationError(f"not one of {enums!r}")


def _const(validator: Any, const: Any, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
    if not json_equal(instance, const, numbers_by_value=True):
        yield jsonschema.ValidationError(f"must be {const!r}")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"does not match {pattern!r}")


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    validators={"enum": _enum, "const": _const, "pattern": _pattern},
)


@class_cache
def validator_for(cls: type[Model]) -> Any:
    """A compiled validator (built once per model) for ``cls``'s schema."""
    return _Validator(_schema(cls))


class SchemaFinding:
    """One schema violation: where, and what (never the offending value itself)."""

    __slots__ = ("detail", "pointer")

    def __init__(self, pointer: str, detail: str) -> None:
        self.pointer = pointer
        self.detail = detail

    def __repr__(self) -> str:
        return f"SchemaFinding({self.pointer!r}, {self.detail!r})"


def _describe(error: jsonschema.ValidationError) -> str:
    # jsonschema's own messages quote the instance, which may be a secret.
    keyword = error.validator
    expected = error.validator_value
    if keyword == "not" and expected == {}:  # NOTHING: jsonschema points at the member itself
        return "member not allowed here"
    if keyword == "not":  # a catch-all's exclusion (refine_schema)
        return "names a message another class takes"
    if keyword == "type":
        return f"expected {expected}"
    if keyword == "const":
        return f"must be {expected!r}"
    if keyword == "enum":
        return "expected one of " + ", ".join(repr(v) for v in expected)
    if keyword == "pattern":
        return f"does not match pattern {expected!r}"
    if keyword == "minItems":
        return f"must have at least {expected} item(s)"
    if keyword in ("minimum", "maximum"):
        return f"must be {'>=' if keyword == 'minimum' else '<='} {expected}"
    return f"violates {keyword!r}"


def _leaves(errors: Iterable[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    """The errors to report: an ``anyOf`` that failed is reported as its first branch's errors.

    ccproto's ``anyOf`` lists the canonical form first and accepted alternatives (``deprecated``) after it,
    so the first branch says what the message should have been (a missing ``result``, not a failed anyOf).
    """
    for error in errors:
        if error.validator == "anyOf" and error.context:
            first = [e for e in error.context if list(e.relative_schema_path)[:1] == [0]]
            yield from _leaves(first) if first else (error,)
        else:
            yield error


def iter_schema_findings(value: Any, cls: type[Model]) -> Iterator[SchemaFinding]:
    """Every schema violation of ``value`` against ``cls``'s schema, in document order."""
    found: list[SchemaFinding] = []
    required_done: set[str] = set()
    for error in _leaves(validator_for(cls).iter_errors(value)):
        parts = list(error.absolute_path)
        if error.validator == "required":
            # jsonschema raises one error per missing member without saying which: name them all once.
            where = pointer(parts)
            if where in required_done or not isinstance(error.instance, dict):
                continue
            required_done.add(where)
            for name in error.validator_value:
                if name not in error.instance:
                    found.append(SchemaFinding(pointer([*parts, name]), f"missing required member {name!r}"))
            continue
        found.append(SchemaFinding(pointer(parts), _describe(error)))
    found.sort(key=lambda f: f.pointer)
    seen: set[tuple[str, str]] = set()
    for finding in found:
        if (finding.pointer, finding.detail) not in seen:
            seen.add((finding.pointer, finding.detail))
            yield finding
