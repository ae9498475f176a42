"""The strict converter: no coercion, JSON-pointer errors, extras kept, strict encoding."""

from __future__ import annotations

import copy
import enum
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto.core.convert import StructureError, converter, decode_model, encode_model
from ccproto.core.errors import LocalProtocolError, RemoteProtocolError, SchemaViolationError
from ccproto.core.model import Model, model, model_spec, pointer, wire
from ccproto.core.redact import REDACTED

CANARY = "hunter2-canary"


class Color(enum.Enum):
    RED = "red"
    ONE = "1"


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


@model
class Item(Model):
    name: str = wire("name")
    qty: int | None = wire("qty", default=None, minimum=0)


@model
class Inner(Model):
    code: str = wire("code", pattern=r"^[A-Z]{3}$")


@model
class Sample(Model):
    """A test-only message using every kind of field."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = (("header",), ("body",))
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {("header", "type"): "sample"}

    request_id: str = wire("header", "requestId")
    agent_id: str = wire("body", "agentId")
    count: int = wire("body", "count", minimum=0, maximum=100)
    flag: bool = wire("body", "flag")
    ratio: float = wire("body", "ratio")
    color: Color = wire("body", "color")
    tags: tuple[str, ...] = wire("body", "tags")
    items: tuple[Item, ...] = wire("body", "items")
    inner: Inner = wire("body", "inner")
    props: Mapping[str, Any] = wire("body", "props")
    payload: Any = wire("body", "payload")
    media: tuple[str, ...] = wire("body", "media", comma_list=True)
    nick: str | None = wire("body", "nick", default=None, pattern=r"^[a-z]+$")
    level: Level | None = wire("body", "level", default=None)
    maybe: Any | None = wire("body", "maybe", default=None)
    odd: int | None = wire("body", "we/ird~key", default=None)
    pin: str | None = wire("body", "ccprotoConvertTestPin", secret=True, default=None)


def valid_value() -> dict[str, Any]:
    return {
        "header": {"type": "sample", "requestId": "r-1"},
        "body": {
            "agentId": "agent-7",
            "count": 5,
            "flag": False,
            "ratio": 0.5,
            "color": "red",
            "tags": ["a", "b"],
            "items": [{"name": "x"}, {"name": "y", "qty": 2}],
            "inner": {"code": "ABC"},
            "props": {"k": [1, {"z": None}]},
            "payload": {"any": "thing"},
            "media": "voice,chat",
        },
    }


def with_member(path: str, member: Any) -> dict[str, Any]:
    """A valid value with the member at ``path`` (a "/"-separated path of plain keys) replaced."""
    value = valid_value()
    *parents, last = path.strip("/").split("/")
    target: Any = value
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = member
    else:
        target[last] = member
    return value


def without_member(path: str) -> dict[str, Any]:
    value = valid_value()
    *parents, last = path.strip("/").split("/")
    target: Any = value
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    del target[last]
    return value


def assert_rejected(value: Any, ptr: str, cls: type[Model] = Sample) -> SchemaViolationError:
    with pytest.raises(SchemaViolationError.Remote) as info:
        decode_model(value, cls)
    assert info.value.pointer == ptr
    # The converter itself raises a StructureError with the same pointer.
    with pytest.raises(StructureError) as raw:
        converter.structure(value, cls)
    assert raw.value.pointer == ptr
    return info.value


def sample(**changes: Any) -> Sample:
    return attrs.evolve(decode_model(valid_value(), Sample), **changes)


# -- the valid value ---------------------------------------------------------------------------


def test_valid_value_decodes() -> None:
    message = decode_model(valid_value(), Sample)
    assert message.request_id == "r-1"
    assert message.agent_id == "agent-7"
    assert message.count == 5
    assert message.flag is False
    assert message.ratio == 0.5
    assert message.color is Color.RED
    assert message.tags == ("a", "b")
    assert message.items == (Item(name="x"), Item(name="y", qty=2))
    assert message.inner == Inner(code="ABC")
    assert message.props == {"k": [1, {"z": None}]}
    assert message.payload == {"any": "thing"}
    assert message.media == ("voice", "chat")
    assert message.nick is None
    assert message.level is None
    assert message.maybe is None
    assert message.odd is None
    assert message.extra == {}
    assert encode_model(message) == valid_value()


def test_decode_error_is_remote_schema_violation_by_default() -> None:
    error = assert_rejected(with_member("body/count", "5"), "/body/count")
    assert isinstance(error, RemoteProtocolError)
    assert error.code == "schema-violation"
    with pytest.raises(SchemaViolationError.Local):
        decode_model(with_member("body/count", "5"), Sample, error=SchemaViolationError.Local)


def test_decode_passes_context_to_the_error() -> None:
    with pytest.raises(SchemaViolationError) as info:
        decode_model(with_member("body/flag", 1), Sample, state="READY", hint="send FAILURE")
    assert info.value.state == "READY"
    assert info.value.hint == "send FAILURE"


# -- primitive strictness ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["false", "true", 0, 1, None, 0.0, [], {}])
def test_bool_field_rejects_non_booleans(bad: Any) -> None:
    assert_rejected(with_member("body/flag", bad), "/body/flag")


@pytest.mark.parametrize("good", [True, False])
def test_bool_field_accepts_booleans(good: bool) -> None:
    assert decode_model(with_member("body/flag", good), Sample).flag is good


@pytest.mark.parametrize("bad", ["17", 1.5, 1e400, True, False, None, [17]])
def test_int_field_rejects_non_integers(bad: Any) -> None:
    assert_rejected(with_member("body/count", bad), "/body/count")


@pytest.mark.parametrize("bad", [5, None, ["a"], True, 1.5, {"a": "b"}])
def test_str_field_rejects_non_strings(bad: Any) -> None:
    assert_rejected(with_member("body/agentId", bad), "/body/agentId")


@pytest.mark.parametrize("good", [1, 1.5, 0, -3, 1e300, 2**70])
def test_float_field_accepts_numbers(good: float) -> None:
    result = decode_model(with_member("body/ratio", good), Sample).ratio
    assert result == good
    assert type(result) is type(good)


@pytest.mark.parametrize("bad", [True, False, "1.5", None, [1.5]])
def test_float_field_rejects_non_numbers(bad: Any) -> None:
    assert_rejected(with_member("body/ratio", bad), "/body/ratio")


def test_primitive_hooks_do_not_coerce() -> None:
    for value, cls in [("false", bool), (1, bool), ("17", int), (1.5, int), (True, int), (5, str), (True, float)]:
        with pytest.raises(StructureError):
            converter.structure(value, cls)
    assert converter.structure(False, bool) is False
    assert converter.structure(3, float) == 3


def test_enum_field() -> None:
    assert decode_model(with_member("body/color", "1"), Sample).color is Color.ONE
    assert decode_model(with_member("body/level", 2), Sample).level is Level.HIGH


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ("body/color", 1),  # the member is "1", not 1
        ("body/color", "RED"),  # the name, not the value
        ("body/color", "blue"),
        ("body/color", None),
        ("body/color", ["red"]),
        ("body/level", "1"),
        ("body/level", 1.5),
        ("body/level", True),
        ("body/level", 3),
        ("body/level", None),
        ("body/level", {}),
    ],
)
def test_enum_field_rejects_wrong_type_and_unknown_values(path: str, bad: Any) -> None:
    assert_rejected(with_member(path, bad), "/" + path)


@pytest.mark.parametrize("bad", ["abc", {"a": "b"}, {}, 5, None])
@pytest.mark.parametrize("path", ["body/tags", "body/items"])
def test_tuple_fields_reject_non_arrays(path: str, bad: Any) -> None:
    assert_rejected(with_member(path, bad), "/" + path)


def test_tuple_item_errors_carry_index() -> None:
    assert_rejected(with_member("body/tags", ["a", 2, "c"]), "/body/tags/1")
    assert_rejected(with_member("body/items", [{"name": "a"}, "b"]), "/body/items/1")
    assert_rejected(with_member("body/items", [{"name": "a"}, {"name": "b", "qty": "2"}]), "/body/items/1/qty")
    assert_rejected(with_member("body/items", [{"name": "a"}, {"name": "b"}, {"qty": 1}]), "/body/items/2/name")
    assert_rejected(with_member("body/items", [{"name": "a", "qty": -1}]), "/body/items/0/qty")


def test_empty_arrays_are_fine() -> None:
    message = decode_model(with_member("body/items", []), Sample)
    assert message.items == ()
    assert decode_model(with_member("body/tags", []), Sample).tags == ()


@pytest.mark.parametrize("bad", [[1], "x", None, 1, True])
def test_mapping_field_rejects_non_objects(bad: Any) -> None:
    assert_rejected(with_member("body/props", bad), "/body/props")


@pytest.mark.parametrize("good", [None, 0, "s", [1, [None]], {"a": {"b": []}}, 1.5, False])
def test_any_field_accepts_any_json(good: Any) -> None:
    assert decode_model(with_member("body/payload", good), Sample).payload == good


def test_required_any_field_null_round_trips() -> None:
    # A required Any field holds any JSON value, null included; what decodes must re-encode.
    value = with_member("body/payload", None)
    message = decode_model(value, Sample)
    assert encode_model(message) == value


def test_non_json_values_are_rejected_in_any_fields() -> None:
    assert_rejected(with_member("body/payload", {"a": [1, {2, 3}]}), "/body/payload/a/1")
    assert_rejected(with_member("body/props", {"a/b": {"c~d": object()}}), "/body/props/a~1b/c~0d")
    assert_rejected(with_member("body/props", {1: "x"}), "/body/props")


# -- optional members --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["body/nick", "body/level", "body/we/ird~key", "body/ccprotoConvertTestPin"])
def test_optional_member_rejects_null_but_may_be_absent(path: str) -> None:
    body_key = path.removeprefix("body/")
    value = valid_value()
    value["body"][body_key] = None
    assert_rejected(value, pointer(["body", body_key]))
    assert getattr(decode_model(valid_value(), Sample), _attr_for(body_key)) is None


def test_optional_any_member_rejects_null() -> None:
    # wire(): "JSON null is never accepted" for an optional member; None means absent.
    assert_rejected(with_member("body/maybe", None), "/body/maybe")


def test_optional_item_member_rejects_null() -> None:
    assert_rejected(with_member("body/items", [{"name": "a", "qty": None}]), "/body/items/0/qty")


def _attr_for(key: str) -> str:
    return next(f.attr for f in model_spec(Sample).fields if f.path[-1] == key)


def test_optional_members_present() -> None:
    value = valid_value()
    value["body"].update({"nick": "bob", "level": 1, "maybe": [None], "we/ird~key": 3, "ccprotoConvertTestPin": "1"})
    message = decode_model(value, Sample)
    assert (message.nick, message.level, message.maybe, message.odd, message.pin) == ("bob", Level.LOW, [None], 3, "1")
    assert encode_model(message) == value


# -- missing members, constants and objects ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/body/agentId",
        "/header/requestId",
        "/header/type",
        "/body/inner",
        "/body/media",
        "/body/payload",
        "/body",
        "/header",
    ],
)
def test_missing_required_member_is_reported_with_its_pointer(path: str) -> None:
    error = assert_rejected(without_member(path), path)
    assert "missing" in error.detail


def test_missing_in_nested_model() -> None:
    assert_rejected(with_member("body/inner", {}), "/body/inner/code")


@pytest.mark.parametrize("bad", ["other", "Sample", 1, None, ["sample"]])
def test_constant_must_match_exactly(bad: Any) -> None:
    assert_rejected(with_member("header/type", bad), "/header/type")


@pytest.mark.parametrize("bad", [[], "x", None, 1])
def test_wire_object_must_be_an_object(bad: Any) -> None:
    assert_rejected(with_member("body", bad), "/body")
    assert_rejected(with_member("body/inner", bad), "/body/inner")


@pytest.mark.parametrize("bad", [[], "x", None, 1])
def test_model_value_must_be_an_object(bad: Any) -> None:
    assert_rejected(bad, "")


# -- constraints -------------------------------------------------------------------------------


@pytest.mark.parametrize(("good", "bad"), [(0, -1), (100, 101)])
def test_minimum_and_maximum(good: int, bad: int) -> None:
    assert decode_model(with_member("body/count", good), Sample).count == good
    error = assert_rejected(with_member("body/count", bad), "/body/count")
    assert str(good) in error.detail


@pytest.mark.parametrize("bad", ["ABCD", "AB", "abc", "", "A1C"])
def test_pattern_in_nested_model(bad: str) -> None:
    assert_rejected(with_member("body/inner", {"code": bad}), "/body/inner/code")


@pytest.mark.parametrize("bad", ["Bob", "bob1", ""])
def test_pattern_on_optional_field(bad: str) -> None:
    assert_rejected(with_member("body/nick", bad), "/body/nick")


def test_pattern_dollar_does_not_allow_a_trailing_newline() -> None:
    # JSON Schema patterns are ECMA 262: "$" is the end of the string, so "bob\n" does not match ^[a-z]+$.
    assert_rejected(with_member("body/nick", "bob\n"), "/body/nick")


# -- comma lists -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("", ()),
        ("a", ("a",)),
        ("a,b", ("a", "b")),
        ("a, b", ("a", " b")),
        (" a ,b ", (" a ", "b ")),
        ("voice,chat,email", ("voice", "chat", "email")),
    ],
)
def test_comma_list_round_trip(text: str, items: tuple[str, ...]) -> None:
    value = with_member("body/media", text)
    message = decode_model(value, Sample)
    assert message.media == items
    assert encode_model(message) == value


@pytest.mark.parametrize("bad", ["a,,b", ",", ",a", "a,", ",,"])
def test_comma_list_rejects_empty_items(bad: str) -> None:
    assert_rejected(with_member("body/media", bad), "/body/media")


@pytest.mark.parametrize("bad", [["a", "b"], 1, None, True])
def test_comma_list_must_be_a_string(bad: Any) -> None:
    assert_rejected(with_member("body/media", bad), "/body/media")


@pytest.mark.parametrize("bad_items", [("a", ""), ("",), ("a,b",), ("ok", ",")])
def test_encode_rejects_bad_comma_list_items(bad_items: tuple[str, ...]) -> None:
    with pytest.raises(SchemaViolationError.Local) as info:
        encode_model(sample(media=bad_items))
    assert info.value.pointer == "/body/media"


def test_encode_empty_comma_list() -> None:
    assert encode_model(sample(media=()))["body"]["media"] == ""


# -- pointers ----------------------------------------------------------------------------------


def test_pointer_escapes_slash_and_tilde_in_declared_keys() -> None:
    value = valid_value()
    value["body"]["we/ird~key"] = "3"
    assert_rejected(value, "/body/we~1ird~0key")
    value["body"]["we/ird~key"] = 3
    assert decode_model(value, Sample).odd == 3


def test_pointer_helper() -> None:
    assert pointer([]) == ""
    assert pointer(["a", 0, "b/c", "d~e", "~1"]) == "/a/0/b~1c/d~0e/~01"


# -- extras ------------------------------------------------------------------------------------


def test_unknown_members_kept_at_every_level() -> None:
    value = valid_value()
    value["top"] = 1
    value["header"]["x-trace"] = {"id": [1, 2]}
    value["body"]["a/b~c"] = None
    value["body"]["inner"]["note"] = "n"
    value["body"]["items"][1]["more"] = [True]
    original = copy.deepcopy(value)
    message = decode_model(value, Sample)
    assert message.extra == {"/top": 1, "/header/x-trace": {"id": [1, 2]}, "/body/a~1b~0c": None}
    assert message.inner.extra == {"/note": "n"}
    assert message.items[1].extra == {"/more": [True]}
    assert message.items[0].extra == {}
    encoded = encode_model(message)
    assert encoded == original
    assert value == original  # decoding did not modify its input


def test_unknown_members_inside_mapping_and_any_are_not_extras() -> None:
    value = valid_value()
    value["body"]["props"]["unknown"] = 1
    message = decode_model(value, Sample)
    assert message.extra == {}
    assert message.props["unknown"] == 1


def test_extra_makes_models_unequal() -> None:
    plain = decode_model(valid_value(), Sample)
    value = valid_value()
    value["body"]["x"] = 1
    assert decode_model(value, Sample) != plain


json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=8,
)
#: Unknown keys, including the characters a JSON pointer must escape.
extra_keys = st.text(alphabet="ab/~0 ", min_size=1, max_size=5).map(lambda k: "x" + k)
extras = st.dictionaries(extra_keys, json_values, max_size=3)
no_comma = st.text(st.characters(codec="utf-8", exclude_characters=","), min_size=1, max_size=6)


@st.composite
def sample_values(draw: st.DrawFn) -> dict[str, Any]:
    items = draw(
        st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=5)}, optional={"qty": st.integers(min_value=0)}).flatmap(
                lambda d: extras.map(lambda e: {**e, **d})
            ),
            max_size=3,
        )
    )
    body: dict[str, Any] = {
        "agentId": draw(st.text(max_size=10)),
        "count": draw(st.integers(0, 100)),
        "flag": draw(st.booleans()),
        "ratio": draw(st.integers() | st.floats(allow_nan=False, allow_infinity=False)),
        "color": draw(st.sampled_from(["red", "1"])),
        "tags": draw(st.lists(st.text(max_size=4), max_size=3)),
        "items": items,
        "inner": {**draw(extras), "code": draw(st.from_regex(r"\A[A-Z]{3}\Z"))},
        "props": draw(st.dictionaries(st.text(max_size=4), json_values, max_size=3)),
        # null for a required Any field is covered by test_required_any_field_null_round_trips.
        "payload": draw(json_values.filter(lambda v: v is not None)),
        "media": ",".join(draw(st.lists(no_comma, max_size=3))),
    }
    optional = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "nick": st.from_regex(r"\A[a-z]+\Z"),
                "level": st.sampled_from([1, 2]),
                "maybe": json_values.filter(lambda v: v is not None),
                "we/ird~key": st.integers(),
                "ccprotoConvertTestPin": st.text(max_size=5),
            },
        )
    )
    body.update(optional)
    return {
        **draw(extras),
        "header": {**draw(extras), "type": "sample", "requestId": draw(st.text(max_size=6))},
        "body": {**draw(extras), **body},
    }


@settings(max_examples=150, deadline=None)
@given(value=sample_values())
def test_decode_encode_round_trip(value: dict[str, Any]) -> None:
    original = copy.deepcopy(value)
    message = decode_model(value, Sample)
    encoded = encode_model(message)
    assert_strictly_equal(encoded, original)
    # Every extra is keyed by the pointer of where it was found.
    for ptr, item in message.extra.items():
        assert resolve(original, ptr) == item
    assert decode_model(encoded, Sample) == message


def resolve(value: Any, ptr: str) -> Any:
    for part in ptr[1:].split("/"):
        value = value[part.replace("~1", "/").replace("~0", "~")]
    return value


def assert_strictly_equal(left: Any, right: Any) -> None:
    """Equality that also tells 1 from 1.0 from True, and lists from tuples."""
    assert type(left) is type(right), (left, right)
    if isinstance(left, dict):
        assert left.keys() == right.keys()
        for key in left:
            assert_strictly_equal(left[key], right[key])
    elif isinstance(left, list):
        assert len(left) == len(right)
        for a, b in zip(left, right, strict=True):
            assert_strictly_equal(a, b)
    else:
        assert left == right or (left != left and right != right)


# -- strict encoding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "ptr"),
    [
        ({"count": "17"}, "/body/count"),
        ({"count": 1.5}, "/body/count"),
        ({"count": True}, "/body/count"),
        ({"count": 101}, "/body/count"),
        ({"flag": 0}, "/body/flag"),
        ({"agent_id": 5}, "/body/agentId"),
        ({"ratio": "0.5"}, "/body/ratio"),
        ({"color": "red"}, "/body/color"),
        ({"tags": ("a", 1)}, "/body/tags/1"),
        ({"nick": "NotLower"}, "/body/nick"),
        ({"inner": Inner(code="toolong")}, "/body/inner/code"),
        ({"items": (Item(name="a"), Item(name="b", qty=-1))}, "/body/items/1/qty"),
        ({"props": {"a": {1, 2}}}, "/body/props/a"),
        ({"odd": "3"}, "/body/we~1ird~0key"),
    ],
)
def test_encode_rejects_invalid_field_values(changes: dict[str, Any], ptr: str) -> None:
    with pytest.raises(SchemaViolationError.Local) as info:
        encode_model(sample(**changes))
    assert isinstance(info.value, LocalProtocolError)
    assert info.value.pointer == ptr


def test_encode_rejects_a_non_model_where_a_model_belongs() -> None:
    with pytest.raises(SchemaViolationError.Local):
        encode_model(sample(inner={"code": "ABC"}))


def test_encode_passes_context_to_the_error() -> None:
    with pytest.raises(SchemaViolationError.Local) as info:
        encode_model(sample(count="17"), state="READY")
    assert info.value.state == "READY"


@pytest.mark.parametrize(
    "ptr",
    ["/body/agentId", "/header/type", "/header", "/body", "/body/inner", "/body/media"],
)
def test_encode_rejects_extra_colliding_with_a_declared_member(ptr: str) -> None:
    with pytest.raises(SchemaViolationError.Local) as info:
        encode_model(sample(extra={ptr: "x"}))
    assert info.value.pointer == ptr


def test_encode_rejects_extra_at_the_place_of_an_absent_optional_member() -> None:
    # nick is None (absent): an extra at /body/nick still collides with the declared member and
    # would otherwise come back as the field's value, not as an extra.
    message = sample(extra={"/body/nick": "bob"})
    with pytest.raises(SchemaViolationError.Local) as info:
        encode_model(message)
    assert info.value.pointer == "/body/nick"


@pytest.mark.parametrize("ptr", ["/nowhere/x", "/body/agentId/x", "/body/nope/deeper", "/header/type/x"])
def test_encode_rejects_extra_without_a_containing_object(ptr: str) -> None:
    with pytest.raises(SchemaViolationError.Local) as info:
        encode_model(sample(extra={ptr: 1}))
    assert info.value.pointer == ptr


def test_encode_rejects_extra_with_bad_pointer_or_value() -> None:
    for extra in ({"": 1}, {"no-slash": 1}, {"/x": {1, 2}}):
        with pytest.raises(SchemaViolationError.Local):
            encode_model(sample(extra=extra))


def test_encode_extra_in_nested_model() -> None:
    message = sample(inner=Inner(code="ABC", extra={"/note": 1}))
    assert encode_model(message)["body"]["inner"] == {"code": "ABC", "note": 1}
    with pytest.raises(SchemaViolationError.Local) as info:
        encode_model(sample(inner=Inner(code="ABC", extra={"/code": "DEF"})))
    assert info.value.pointer == "/body/inner/code"


def test_encode_does_not_emit_absent_optionals() -> None:
    body = encode_model(sample())["body"]
    assert not {"nick", "level", "maybe", "we/ird~key", "ccprotoConvertTestPin"} & body.keys()


# -- secrets in repr ---------------------------------------------------------------------------


def test_secret_field_is_not_in_repr() -> None:
    message = sample(pin=CANARY)
    assert CANARY not in repr(message)
    assert CANARY not in str(message)
    assert "agent-7" in repr(message)  # other fields are shown
    assert message.pin == CANARY


def test_secret_keys_in_extra_are_redacted_in_repr() -> None:
    value = valid_value()
    value["body"]["password"] = CANARY + "1"
    value["body"]["ccprotoConvertTestPin"] = CANARY + "2"
    value["header"]["misc"] = {"token": CANARY + "3", "shown": "visible-value"}
    value["body"]["items"][0]["sessionKey"] = CANARY + "4"
    value["list"] = [{"password": CANARY + "5"}]
    message = decode_model(value, Sample)
    assert message.extra["/body/password"] == CANARY + "1"
    text = repr(message)
    assert CANARY not in text
    assert REDACTED in text
    assert "visible-value" in text
    assert "/body/password" in text


def test_secret_extra_in_a_nested_model_is_redacted() -> None:
    inner = Inner(code="ABC", extra={"/password": CANARY, "/note": "shown"})
    assert CANARY not in repr(inner)
    assert "shown" in repr(inner)


def test_secret_field_registers_its_key() -> None:
    from ccproto.core.redact import is_secret_key

    assert is_secret_key("ccprotoConvertTestPin")
    assert not is_secret_key("agentId")


# -- bad declarations --------------------------------------------------------------------------


def test_field_without_wire_is_rejected() -> None:
    @model
    class NoWire(Model):
        name: str = wire("name")
        plain: str = attrs.field()

    with pytest.raises(TypeError, match="wire"):
        model_spec(NoWire)


def test_bare_annotation_without_wire_is_rejected() -> None:
    @model
    class Bare(Model):
        plain: int

    with pytest.raises(TypeError, match="plain"):
        model_spec(Bare)


def test_optional_with_non_optional_type_is_rejected() -> None:
    @model
    class BadOptional(Model):
        name: str = wire("name", default=None)

    with pytest.raises(TypeError, match="optional"):
        model_spec(BadOptional)


def test_nullable_type_without_optional_is_rejected() -> None:
    @model
    class BadNullable(Model):
        name: str | None = wire("name")

    with pytest.raises(TypeError, match="optional"):
        model_spec(BadNullable)


def test_path_both_object_and_value_is_rejected() -> None:
    @model
    class Both(Model):
        outer: str = wire("a")
        inner: str = wire("a", "b")

    with pytest.raises(TypeError, match="both an object and a value"):
        model_spec(Both)


def test_path_both_wire_object_and_value_is_rejected() -> None:
    @model
    class Both(Model):
        WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = (("body",),)
        body: str = wire("body")

    with pytest.raises(TypeError):
        model_spec(Both)


def test_duplicate_path_is_rejected() -> None:
    @model
    class Twice(Model):
        one: str = wire("a", "b")
        two: int = wire("a", "b")

    with pytest.raises(TypeError, match="twice"):
        model_spec(Twice)


def test_comma_list_needs_tuple_of_str() -> None:
    @model
    class BadComma(Model):
        items: str = wire("items", comma_list=True)

    with pytest.raises(TypeError, match="comma_list"):
        model_spec(BadComma)


def test_unsupported_types_are_rejected() -> None:
    @model
    class BadUnion(Model):
        value: int | str = wire("value")

    with pytest.raises(TypeError):
        model_spec(BadUnion)

    @model
    class BadTuple(Model):
        value: tuple[int, str] = wire("value")

    with pytest.raises(TypeError):
        model_spec(BadTuple)


def test_wire_needs_a_key() -> None:
    with pytest.raises(TypeError):
        wire()
