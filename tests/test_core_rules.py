"""Rules across members (OnlyWhen, ExactMembersWhen), forbidden keys of open objects, the YAML writer, registries."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ccproto.core.convert import decode_model, encode_model
from ccproto.core.docgen import to_yaml
from ccproto.core.errors import SchemaViolationError
from ccproto.core.model import ExactMembersWhen, JsonValue, Model, OnlyWhen, model, model_spec, wire
from ccproto.core.registry import declare, put
from ccproto.core.schema import iter_schema_findings, validator_for
from ccproto.testing import from_model, json_values


class Mode(enum.Enum):
    ON = "on"
    OFF = "off"


@model
class Gadget(Model):
    WIRE_RULES: ClassVar[tuple[Any, ...]] = (
        OnlyWhen(("data", "level"), ("data", "mode"), ("on",)),
        ExactMembersWhen(("data", "mode"), "off", ("data", "detail"), ("why",)),
    )

    mode: Mode = wire("data", "mode")
    level: int | None = wire("data", "level", default=None)
    detail: Mapping[str, JsonValue] = wire("data", "detail", forbidden_keys=("secretThing",))


def gadget(**data: Any) -> dict[str, Any]:
    return {"data": data}


@pytest.mark.parametrize(
    ("value", "pointer"),
    [
        pytest.param(gadget(mode="off", level=1, detail={"why": "x"}), "/data/level", id="only-when"),
        pytest.param(gadget(mode="off", detail={}), "/data/detail/why", id="exact-missing"),
        pytest.param(gadget(mode="off", detail={"why": 1}), "/data/detail/why", id="exact-type"),
        pytest.param(gadget(mode="off", detail={"why": "x", "more": 1}), "/data/detail/more", id="exact-extra"),
        pytest.param(gadget(mode="on", detail={"secretThing": 1}), "/data/detail/secretThing", id="forbidden-key"),
    ],
)
def test_rules_are_enforced_by_converter_and_schema_at_the_same_pointer(value: dict[str, Any], pointer: str) -> None:
    with pytest.raises(SchemaViolationError) as caught:
        decode_model(value, Gadget)
    assert caught.value.pointer == pointer
    assert pointer in {f.pointer for f in iter_schema_findings(value, Gadget)}


@pytest.mark.parametrize(
    "value",
    [
        gadget(mode="on", level=3, detail={"anything": [1]}),
        gadget(mode="on", detail={}),
        gadget(mode="off", detail={"why": "maintenance"}),
    ],
)
def test_values_obeying_the_rules_pass_both(value: dict[str, Any]) -> None:
    assert encode_model(decode_model(value, Gadget)) == value
    assert validator_for(Gadget).is_valid(value)


def test_encoding_a_model_that_breaks_a_rule_is_a_local_error() -> None:
    with pytest.raises(SchemaViolationError.Local) as caught:
        encode_model(Gadget(mode=Mode.OFF, level=2, detail={"why": "x"}))
    assert caught.value.pointer == "/data/level"


@given(from_model(Gadget))
def test_strategies_obey_the_rules_by_construction(instance: Gadget) -> None:
    value = encode_model(instance)
    assert validator_for(Gadget).is_valid(value)
    assert decode_model(value, Gadget) == instance


def test_rules_must_fit_declared_fields() -> None:
    @model
    class Broken(Model):
        WIRE_RULES: ClassVar[tuple[Any, ...]] = (OnlyWhen(("data", "nothing"), ("data", "mode"), ("on",)),)
        mode: str = wire("data", "mode")

    with pytest.raises(TypeError, match="does not fit"):
        model_spec(Broken)


def test_forbidden_keys_need_an_open_object() -> None:
    @model
    class Broken(Model):
        name: str = wire("name", forbidden_keys=("x",))

    with pytest.raises(TypeError, match="forbidden_keys"):
        model_spec(Broken)


@given(st.dictionaries(st.text(max_size=5), json_values(), max_size=4))
def test_yaml_writer_reads_back_equal(value: dict[str, Any]) -> None:
    assert yaml.safe_load(to_yaml({"root": value, "list": [value, [], {}, "yes", "null"]})) == {
        "root": value, "list": [value, [], {}, "yes", "null"],
    }


def test_yaml_writer_quotes_keys_yaml_would_misread() -> None:
    text = to_yaml({"yes": 1, "$ref": "x", "plain_key": True, "on": None})
    assert yaml.safe_load(text) == {"yes": 1, "$ref": "x", "plain_key": True, "on": None}
    assert "plain_key: true" in text


def test_put_refuses_a_taken_name_unless_replacing() -> None:
    table: dict[str, Any] = {}
    put(table, "a", Gadget, replace=False)
    put(table, "a", Gadget, replace=False)  # the same class again is fine

    @model
    class Other(Model):
        pass

    with pytest.raises(ValueError, match="already registered"):
        put(table, "a", Other, replace=False)
    put(table, "a", Other, replace=True)
    assert table["a"] is Other
    with pytest.raises(ValueError, match="non-empty"):
        put(table, " a", Other, replace=False)


def test_declare_fixes_constants_once() -> None:
    class Base(Model):
        KIND: ClassVar[str] = ""

    class Thing(Base):
        pass

    built = declare(Thing, Base, {("kind",): "thing"}, KIND="thing")
    assert built.KIND == "thing"
    assert declare(built, Base, {("kind",): "thing"}, KIND="thing") is built
    with pytest.raises(TypeError, match="other constants"):
        declare(built, Base, {("kind",): "other"}, KIND="other")
    with pytest.raises(TypeError, match="must subclass"):
        declare(Gadget, Base, {}, KIND="x")
