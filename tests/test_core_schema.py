"""JSON Schema derived from the models: valid 2020-12, agrees with the converter, leaks no secrets."""

from __future__ import annotations

import copy
import enum
import json
from collections.abc import Mapping
from typing import Any, ClassVar

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto.bridge.models import ALL_MESSAGE_CLASSES
from ccproto.core.convert import StructureError, converter, decode_model, encode_model
from ccproto.core.model import Model, model, wire
from ccproto.core.schema import DRAFT, iter_schema_findings, schema_for, validator_for

CANARY = "hunter2-canary"
SECRET_KEY = "ccprotoSchemaTestSecret"


class Mode(enum.Enum):
    AUTO = "auto"
    MANUAL = "manual"


class Priority(enum.Enum):
    LOW = 1
    HIGH = 2


@model
class Entry(Model):
    """An entry of a list."""

    label: str = wire("label")
    weight: int | None = wire("weight", default=None, minimum=1, maximum=9)


@model
class Probe(Model):
    """A test-only message with every kind of field."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = (("header",), ("body",), ("body", "empty"))
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {("header", "type"): "probe", ("header", "version"): 2}

    request_id: str = wire("header", "requestId", pattern=r"^[0-9a-f]{4}$")
    name: str = wire("body", "name", description="A name")
    count: int = wire("body", "count", minimum=0, maximum=10)
    enabled: bool = wire("body", "enabled")
    ratio: float = wire("body", "ratio")
    mode: Mode = wire("body", "mode")
    tags: tuple[str, ...] = wire("body", "tags")
    entries: tuple[Entry, ...] = wire("body", "entries")
    entry: Entry = wire("body", "entry")
    props: Mapping[str, Any] = wire("body", "props")
    anything: Any = wire("body", "anything")
    media: tuple[str, ...] = wire("body", "media", comma_list=True, pattern=r"^[^,]+$")
    plain_list: tuple[str, ...] = wire("body", "plainList", comma_list=True)
    secret: str = wire("body", SECRET_KEY, secret=True)
    nick: str | None = wire("body", "nick", default=None)
    priority: Priority | None = wire("body", "priority", default=None)
    odd: int | None = wire("body", "we/ird~key", default=None)


MODELS: list[type[Model]] = [Probe, Entry, *ALL_MESSAGE_CLASSES]


def valid_probe() -> dict[str, Any]:
    return {
        "header": {"type": "probe", "version": 2, "requestId": "00af"},
        "body": {
            "empty": {},
            "name": "n",
            "count": 3,
            "enabled": True,
            "ratio": 1.5,
            "mode": "auto",
            "tags": ["t"],
            "entries": [{"label": "a"}, {"label": "b", "weight": 3}],
            "entry": {"label": "c"},
            "props": {"k": "v"},
            "anything": [1, "two", None],
            "media": "voice,chat",
            "plainList": "",
            SECRET_KEY: "s3cret",
        },
    }


def converter_accepts(value: Any, cls: type[Model] = Probe) -> bool:
    try:
        converter.structure(value, cls)
    except StructureError:
        return False
    return True


# -- the schema itself -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_schema_is_valid_draft_2020_12(cls: type[Model]) -> None:
    schema = schema_for(cls)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT
    assert schema["title"] == cls.__name__
    assert schema["type"] == "object"
    json.dumps(schema)  # plain JSON


def test_schema_for_returns_a_fresh_copy() -> None:
    schema = schema_for(Probe)
    schema["properties"].clear()
    schema["title"] = "changed"
    again = schema_for(Probe)
    assert again["title"] == "Probe"
    assert "body" in again["properties"]
    assert validator_for(Probe).is_valid(valid_probe())
    assert not validator_for(Probe).is_valid({})


def test_schema_shape() -> None:
    schema = schema_for(Probe)
    assert schema["description"] == "A test-only message with every kind of field."
    assert schema["required"] == ["body", "header"]
    header = schema["properties"]["header"]
    assert header["properties"]["type"] == {"const": "probe"}
    assert header["properties"]["version"] == {"const": 2}
    assert header["required"] == ["requestId", "type", "version"]
    body = schema["properties"]["body"]
    assert "nick" not in body["required"]
    assert "priority" not in body["required"]
    assert {"name", "count", "empty", "media", SECRET_KEY} <= set(body["required"])
    assert body["properties"]["name"] == {"type": "string", "description": "A name"}
    assert body["properties"]["count"] == {"type": "integer", "minimum": 0, "maximum": 10}
    assert body["properties"]["mode"] == {"enum": ["auto", "manual"]}
    assert body["properties"]["priority"] == {"enum": [1, 2]}
    assert body["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert body["properties"]["anything"] == {}
    assert body["properties"][SECRET_KEY]["writeOnly"] is True
    assert body["properties"]["empty"] == {"type": "object", "properties": {}}
    assert body["properties"]["entries"]["items"]["required"] == ["label"]


def test_validator_is_cached() -> None:
    assert validator_for(Probe) is validator_for(Probe)


# -- agreement with the converter --------------------------------------------------------------


def test_valid_value_passes_both() -> None:
    value = valid_probe()
    assert converter_accepts(value)
    assert validator_for(Probe).is_valid(value)
    assert list(iter_schema_findings(value, Probe)) == []


def _set(path: tuple[str | int, ...], member: Any) -> dict[str, Any]:
    value = valid_probe()
    target: Any = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = member
    return value


def _drop(path: tuple[str, ...]) -> dict[str, Any]:
    value = valid_probe()
    target: Any = value
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return value


INVALID: list[tuple[str, Any]] = [
    ("int as string", _set(("body", "count"), "3")),
    ("int as 1.5", _set(("body", "count"), 1.5)),
    ("int as infinity", _set(("body", "count"), float("inf"))),
    ("int as bool", _set(("body", "count"), True)),
    ("int below minimum", _set(("body", "count"), -1)),
    ("int above maximum", _set(("body", "count"), 11)),
    ("bool as string", _set(("body", "enabled"), "true")),
    ("bool as int", _set(("body", "enabled"), 1)),
    ("float as bool", _set(("body", "ratio"), True)),
    ("float as string", _set(("body", "ratio"), "1.5")),
    ("str as int", _set(("body", "name"), 5)),
    ("str as null", _set(("body", "name"), None)),
    ("str as list", _set(("body", "name"), ["a"])),
    ("enum unknown", _set(("body", "mode"), "AUTO")),
    ("enum wrong type", _set(("body", "mode"), 1)),
    ("int enum as string", _set(("body", "priority"), "1")),
    ("int enum as bool", _set(("body", "priority"), True)),
    ("array as string", _set(("body", "tags"), "abc")),
    ("array as object", _set(("body", "tags"), {"a": "b"})),
    ("array item type", _set(("body", "tags"), ["a", 1])),
    ("model item missing member", _set(("body", "entries"), [{"label": "a"}, {}])),
    ("model item bound", _set(("body", "entries"), [{"label": "a", "weight": 0}])),
    ("nested model not object", _set(("body", "entry"), "c")),
    ("mapping as list", _set(("body", "props"), [1])),
    ("optional null", _set(("body", "nick"), None)),
    ("optional int enum null", _set(("body", "priority"), None)),
    ("weird key type", _set(("body", "we/ird~key"), "1")),
    ("pattern mismatch", _set(("header", "requestId"), "00AF")),
    ("const mismatch", _set(("header", "type"), "other")),
    ("const wrong type", _set(("header", "version"), "2")),
    ("comma list empty item", _set(("body", "media"), "a,,b")),
    ("comma list trailing comma", _set(("body", "media"), "a,")),
    ("comma list not string", _set(("body", "media"), ["a"])),
    ("plain comma list empty item", _set(("body", "plainList"), ",")),
    ("missing member", _drop(("body", "name"))),
    ("missing const", _drop(("header", "version"))),
    ("missing object", _drop(("body", "empty"))),
    ("wire object not object", _set(("body", "empty"), [])),
    ("missing body", _drop(("body",))),
    ("secret wrong type", _set(("body", SECRET_KEY), 7)),
    ("not an object", [valid_probe()]),
]


@pytest.mark.parametrize("value", [v for _, v in INVALID], ids=[name for name, _ in INVALID])
def test_invalid_values_are_rejected_by_both(value: Any) -> None:
    assert not converter_accepts(value)
    assert not validator_for(Probe).is_valid(value)
    assert list(iter_schema_findings(value, Probe))


@pytest.mark.parametrize("text", ["1.0", "1e0", "10e-1", "1E+0", "0.1e1"])
def test_an_integral_float_is_an_integer_for_both(text: str) -> None:
    # JSON Schema counts 1.0 as an integer (docs/quirks.md N3): so does the converter, which reads it as 1.
    number = json.loads(text)
    assert type(number) is float
    validator = validator_for(Probe)
    for value in (_set(("body", "count"), number), _set(("body", "entries"), [{"label": "a", "weight": number * 3}])):
        assert validator.is_valid(value)
        assert converter_accepts(value)
    decoded = decode_model(_set(("body", "count"), number), Probe)
    assert type(decoded.count) is int
    assert decoded.count == 1
    assert encode_model(decoded)["body"]["count"] == 1  # written back as the integer: equal by value (N1)
    # A float-typed ("number") field takes both.
    assert validator.is_valid(_set(("body", "ratio"), 1))
    assert converter_accepts(_set(("body", "ratio"), 1))


def test_minus_zero_is_the_integer_zero() -> None:
    value = _set(("body", "entries"), [{"label": "a", "weight": -0.0}])
    assert not validator_for(Probe).is_valid(value)  # weight's minimum is 1: 0 and -0.0 are both below it
    assert not converter_accepts(value)


def test_validator_agrees_on_integer_valued_enum_given_a_float() -> None:
    # Priority.LOW is 1: 1.0 is that member for both (N3); 1.5 is no member for either.
    assert converter_accepts(_set(("body", "priority"), 1.0))
    assert validator_for(Probe).is_valid(_set(("body", "priority"), 1.0))
    assert decode_model(_set(("body", "priority"), 1.0), Probe).priority is Priority.LOW
    assert not converter_accepts(_set(("body", "priority"), 1.5))
    assert not validator_for(Probe).is_valid(_set(("body", "priority"), 1.5))


# Anything JSON, for members that should be something else.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=6,
)


valid_entries = st.fixed_dictionaries(
    {"label": st.text(max_size=4)}, optional={"weight": st.integers(1, 9), "x-more": json_values}
)
valid_bodies = st.fixed_dictionaries(
    {
        "empty": st.just({}),
        "name": st.text(max_size=5),
        "count": st.integers(0, 10),
        "enabled": st.booleans(),
        "ratio": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
        "mode": st.sampled_from(["auto", "manual"]),
        "tags": st.lists(st.text(max_size=3), max_size=3),
        "entries": st.lists(valid_entries, max_size=3),
        "entry": valid_entries,
        "props": st.dictionaries(st.text(max_size=3), json_values, max_size=3),
        "anything": json_values,
        "media": st.lists(st.text(alphabet="ab ", min_size=1, max_size=3), max_size=3).map(",".join),
        "plainList": st.lists(st.text(alphabet="ab ", min_size=1, max_size=3), max_size=3).map(",".join),
        SECRET_KEY: st.text(max_size=5),
    },
    optional={
        "nick": st.text(max_size=5),
        "priority": st.sampled_from([1, 2]),
        "we/ird~key": st.integers(),
        "x-unknown": json_values,
    },
)
valid_headers = st.fixed_dictionaries(
    {"type": st.just("probe"), "version": st.just(2), "requestId": st.from_regex(r"\A[0-9a-f]{4}\Z")},
    optional={"x-trace": json_values},
)

#: Places a mutation may hit (keys that are absent are added).
MUTABLE_PATHS: list[tuple[str, ...]] = [
    ("header",),
    ("body",),
    *(("header", key) for key in ("type", "version", "requestId")),
    *(("body", key) for key in (
        "empty", "name", "count", "enabled", "ratio", "mode", "tags", "entries", "entry", "props", "anything",
        "media", "plainList", SECRET_KEY, "nick", "priority", "we/ird~key",
    )),
    ("body", "entry", "label"),
    ("body", "entry", "weight"),
]  # fmt: skip
DELETE = object()
#: Values close to valid ones: wrong JSON type, off-by-one bounds, bad comma lists, ...
tricky_values = st.sampled_from(
    [DELETE, None, True, False, 0, 1, 2, 3, -1, 9, 10, 11, 1.0, 2.0, 0.5, "", "1", "auto", "AUTO", "probe", "a,,b",
     "a,", ",", "a, b", "00af", "00AF", [], {}, ["a"], {"label": "x"}, [{"label": "x"}], [{}]]
)  # fmt: skip


@st.composite
def probe_values(draw: st.DrawFn) -> Any:
    """Probe values that are valid about half the time, and otherwise broken in one or two places."""
    value: dict[str, Any] = {"header": draw(valid_headers), "body": draw(valid_bodies)}
    mutations = draw(
        st.lists(st.tuples(st.sampled_from(MUTABLE_PATHS), tricky_values | json_values), min_size=1, max_size=2)
        | st.just([])
    )
    for path, member in mutations:
        target: Any = value
        for key in path[:-1]:
            if not isinstance(target, dict) or not isinstance(target.get(key), dict):
                break
            target = target[key]
        else:
            if member is DELETE:
                target.pop(path[-1], None)
            else:
                target[path[-1]] = member
    return value


@settings(max_examples=200, deadline=None)
@given(value=probe_values())
def test_converter_accepts_implies_validator_accepts(value: Any) -> None:
    if converter_accepts(value):
        findings = list(iter_schema_findings(value, Probe))
        assert validator_for(Probe).is_valid(value), findings
        assert findings == []


@settings(max_examples=100, deadline=None)
@given(value=probe_values())
def test_findings_exist_exactly_when_validator_rejects(value: Any) -> None:
    findings = list(iter_schema_findings(value, Probe))
    assert bool(findings) == (not validator_for(Probe).is_valid(value))
    for finding in findings:
        assert finding.pointer == "" or finding.pointer.startswith("/")


@settings(max_examples=100, deadline=None)
@given(value=probe_values())
def test_schema_rejection_implies_converter_rejection(value: Any) -> None:
    # The other direction: what the schema rejects, the converter rejects too.
    if not validator_for(Probe).is_valid(value):
        assert not converter_accepts(value)


# -- findings --------------------------------------------------------------------------------


def test_findings_report_every_violation_with_pointers() -> None:
    value = valid_probe()
    value["header"]["requestId"] = "XYZ"
    value["body"]["count"] = 1.5
    value["body"]["mode"] = "other"
    value["body"]["entries"] = [{"label": "a"}, {"label": 1}, {"weight": 12}]
    value["body"]["we/ird~key"] = "x"
    del value["body"]["name"]
    findings = list(iter_schema_findings(value, Probe))
    pointers = sorted(f.pointer for f in findings)
    assert pointers == sorted(
        [
            "/header/requestId",
            "/body/count",
            "/body/mode",
            "/body/entries/1/label",
            "/body/entries/2/label",
            "/body/entries/2/weight",
            "/body/we~1ird~0key",
            "/body/name",
        ]
    )
    by_pointer = {f.pointer: f.detail for f in findings}
    assert by_pointer["/body/name"] == "missing required member 'name'"
    assert by_pointer["/body/count"] == "expected integer"
    assert by_pointer["/body/mode"] == "expected one of 'auto', 'manual'"
    assert by_pointer["/header/requestId"] == "does not match pattern '^[0-9a-f]{4}$'"
    assert by_pointer["/body/entries/2/weight"] == "must be <= 9"
    assert by_pointer["/body/entries/2/label"] == "missing required member 'label'"
    assert "SchemaFinding" in repr(findings[0])


def test_findings_name_each_missing_member() -> None:
    value = valid_probe()
    for key in ("name", "count", "enabled"):
        del value["body"][key]
    del value["header"]["type"]
    findings = list(iter_schema_findings(value, Probe))
    assert sorted(f.pointer for f in findings) == ["/body/count", "/body/enabled", "/body/name", "/header/type"]
    assert sorted(f.detail for f in findings) == [
        "missing required member 'count'",
        "missing required member 'enabled'",
        "missing required member 'name'",
        "missing required member 'type'",
    ]


def test_findings_for_const_and_root() -> None:
    findings = list(iter_schema_findings(_set(("header", "version"), 3), Probe))
    assert [(f.pointer, f.detail) for f in findings] == [("/header/version", "must be 2")]
    findings = list(iter_schema_findings([], Probe))
    assert [(f.pointer, f.detail) for f in findings] == [("", "expected object")]


def _secret_placements() -> list[Any]:
    placements: list[Any] = []
    for member in (CANARY, 7, [CANARY], {"x": CANARY}, None, True, 1.5):
        placements.append(_set(("body", SECRET_KEY), member))
    # Right type, with other violations around it.
    value = _set(("body", SECRET_KEY), CANARY)
    value["body"]["count"] = "3"
    value["header"]["requestId"] = CANARY
    value["body"]["x-other"] = {"password": CANARY}
    placements.append(value)
    # The canary in a secret-named extra and as the value of a bridge secret.
    value = _set(("body", SECRET_KEY), [CANARY, {"password": CANARY}])
    del value["body"]["name"]
    placements.append(value)
    return placements


@pytest.mark.parametrize("value", _secret_placements())
def test_findings_never_contain_a_secret_value(value: Any) -> None:
    findings = list(iter_schema_findings(value, Probe))
    if value["body"][SECRET_KEY] != CANARY:
        assert any(f.pointer == f"/body/{SECRET_KEY}" for f in findings)
    for finding in findings:
        assert CANARY not in finding.detail
        assert CANARY not in finding.pointer
        assert CANARY not in repr(finding)


def test_bridge_secret_not_in_findings() -> None:
    from ccproto.bridge.models import CreateSessionRequest

    value = {
        "header": {"type": "cti.request", "name": "cti.request.createsession", "target": "x", "requestId": 5},
        "body": {"agentId": 1, "agentPassword": [CANARY], "sessionId": "s", "destination": "d"},
    }
    findings = list(iter_schema_findings(copy.deepcopy(value), CreateSessionRequest))
    pointers = {f.pointer for f in findings}
    assert {"/body/agentPassword", "/body/agentId", "/header/requestId", "/header/target"} <= pointers
    assert all(CANARY not in f.detail for f in findings)


def test_a_refinement_registered_after_the_schema_was_built_is_refused() -> None:
    from ccproto.core.schema import refine_schema

    schema_for(Probe)  # built (and cached) now
    with pytest.raises(RuntimeError, match="built before its refinement"):
        refine_schema(Probe, lambda schema: None)


def test_portable_pattern_helpers() -> None:
    import re

    from ccproto.core.patterns import NOT_WHITESPACE, char_class, literal

    assert char_class("ab\x1c") == "[\\x1c\\x61-\\x62]"
    assert char_class(" ", negated=True) == "[^\\x20]"
    with pytest.raises(ValueError, match="BMP"):
        char_class("\U0001f600")
    assert literal("report.teamstatus(1)") == "report\\.teamstatus\\(1\\)"
    assert re.fullmatch(literal("a-b/c"), "a-b/c")
    assert re.fullmatch(f"{NOT_WHITESPACE}+", "a\u200bb")
    assert not re.fullmatch(f"{NOT_WHITESPACE}+", "a\ufeffb")
