"""Nothing lost (issue 9): decode -> encode gives back an equal JSON value.

For every record of every sample capture, and for generated messages enriched with unknown extension
members, big integers, awkward floats, non-BMP characters and empty containers, decoding a text and
encoding the model gives a JSON value equal to the one received (:func:`~ccproto.core.jsonio.json_equal`,
plus the sign of ``-0.0``, which ``==`` cannot see).  Every check runs on the fast path (orjson parsing and
writing, the codecs' compiled dispatch and functions) and on the exact path (orjson hidden, ``decode_value``
on the standard parser's value, the reference cattrs converter), and the two must agree.  Decoding what was
encoded gives an equal model and the same text again.

The only values decoding legitimately changes are the documented normalisations of docs/quirks.md
(B1, the bridge's alternate response-header spellings, and P1, a padded registered processor command);
for those the documented normal form is what must come back, and the decoder must have said so with the
quirk's warning.  ``DOCUMENTED_NORMALISATIONS`` lists the capture records where that happens.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccproto import bridge, cceb, processor
from ccproto.bridge.streams import read_bridge_streams
from ccproto.capture import BadRecord, Record, detect_protocol, read_capture
from ccproto.core import compiled, jsonio
from ccproto.core.convert import StructureError, converter
from ccproto.core.errors import ProtocolError, ProtocolWarning
from ccproto.core.jsonio import json_equal
from ccproto.core.model import ExactMembersWhen, FieldSpec, Model, TypeKind, TypeSpec, model_spec
from ccproto.testing import strategies as ccst
from ccproto.testing.slices.bridge.strategies import bridge_messages
from ccproto.testing.slices.cceb.strategies import cceb_messages
from ccproto.testing.slices.processor.strategies import processor_messages

CAPTURES = Path(__file__).resolve().parent.parent / "examples" / "captures"

CODECS: dict[str, Any] = {"bridge": bridge, "processor": processor, "cceb": cceb}

EXAMPLES = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# -- comparing JSON values ----------------------------------------------------------------------------------


def same_json(a: Any, b: Any) -> bool:
    """``json_equal`` (1 is not 1.0 is not True; key order ignored) and the same text once keys are sorted.

    The text comparison adds what ``==`` on floats cannot tell: ``-0.0`` from ``0.0``.
    """
    return json_equal(a, b) and json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@contextlib.contextmanager
def orjson_hidden(hidden: bool) -> Iterator[None]:
    """Run the body as if orjson were not installed (``hidden``) or as it is (as tests/test_core_compiled.py)."""
    if not hidden:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonio, "_orjson", None)
        yield


# -- the documented normalisations (docs/quirks.md) ---------------------------------------------------------

#: B1: the serverstatus response's header spellings, accepted on every response and written canonically.
ALTERNATE_HEADER_SPELLINGS = {"cti.result": "result", "error.message": "errorMessage"}


def documented_normal_form(protocol: str, value: Any) -> tuple[Any, set[str]]:
    """What decode -> encode must give for a received value, by docs/quirks.md, and the warnings that say so.

    Written from the documentation, not from the codecs' ``normalise``, so the two readings are compared.
    """
    if not isinstance(value, dict):
        return value, set()
    if protocol == "bridge":
        header = value.get("header")
        if not isinstance(header, dict) or header.get("type") != "cti.response":
            return value, set()
        renames = {alt: canonical for alt, canonical in ALTERNATE_HEADER_SPELLINGS.items()
                   if alt in header and canonical not in header}
        if not renames:
            return value, set()  # with both spellings the canonical one wins, the other is an unknown member
        header = {renames.get(key, key): item for key, item in header.items()}
        return {**value, "header": header}, {"alternate-spelling"}
    if protocol == "processor":
        command = value.get("command")
        if isinstance(command, str) and command.strip() != command and processor.REGISTRY.has_command(command.strip()):
            return {**value, "command": command.strip()}, {"command-whitespace"}
    return value, set()


# -- one round trip, every way ------------------------------------------------------------------------------


class Outcome(NamedTuple):
    """What one mode (orjson in use or hidden) made of a text."""

    message: Any
    warnings: tuple[ProtocolWarning, ...]
    text: str
    value: Any


def round_trip_one_mode(protocol: str, text: str, received: Any, expected: Any) -> Outcome:
    """Decode ``text`` every way, check each gives the same model, and that encoding it gives ``expected``."""
    codec = CODECS[protocol]
    decoded = codec.decode_text(text)
    message = decoded.message
    plain = codec.decode(text)
    exact = codec.decode_value(jsonio.loads(text))  # the standard parser and the exact dispatch
    cls = type(message)
    assert type(plain) is cls
    assert type(exact.message) is cls
    assert plain == message
    assert exact.message == message
    assert exact.warnings == decoded.warnings
    assert same_json(decoded.value, received)  # Decoded.value is the value as received
    assert same_json(exact.value, received)
    # The structuring step on its own: the reference converter, and the compiled function where it answers.
    assert converter.structure(expected, cls) == message
    try:
        compiled_message = compiled.structure_function(cls)(expected)
    except (compiled.Fallback, StructureError):
        pass
    else:
        assert compiled_message == message

    value = codec.encode_value(message)
    encoded = codec.encode(message)
    assert same_json(value, expected), jsonio.first_difference(value, expected)
    assert same_json(jsonio.loads(encoded), expected), jsonio.first_difference(jsonio.loads(encoded), expected)
    assert same_json(converter.unstructure(message, cls), expected)
    # Deterministic, and what was written decodes to the same model, which writes the same text.
    assert codec.encode(message) == encoded
    again = codec.decode(encoded)
    assert type(again) is cls
    assert again == message
    assert codec.encode(again) == encoded
    assert same_json(codec.encode_value(again), value)
    return Outcome(message, decoded.warnings, encoded, value)


def check_lossless(protocol: str, text: str, received: Any, expected: Any) -> Outcome:
    """The round trip with orjson in use and with it hidden; both modes give the same model, value and text."""
    outcomes = []
    for hidden in (False, True):
        with orjson_hidden(hidden):
            outcomes.append(round_trip_one_mode(protocol, text, received, expected))
    fast, slow = outcomes
    assert type(fast.message) is type(slow.message)
    assert fast.message == slow.message
    assert fast.warnings == slow.warnings
    assert fast.text == slow.text
    assert same_json(fast.value, slow.value)
    return fast


def rejection(protocol: str, text: str) -> ProtocolError | None:
    """The error every way of decoding ``text`` raises (all the same), or ``None`` when it decodes."""
    codec = CODECS[protocol]
    calls: list[Callable[[], Any]] = [
        lambda: codec.decode_text(text),
        lambda: codec.decode(text),
        lambda: codec.decode_value(jsonio.loads(text)),
    ]
    seen: list[tuple[type[BaseException], str, str] | None] = []
    first: ProtocolError | None = None
    for hidden in (False, True):
        with orjson_hidden(hidden):
            for call in calls:
                try:
                    call()
                except ProtocolError as exc:
                    seen.append((type(exc), exc.code, exc.pointer))
                    first = first or exc
                else:
                    seen.append(None)
    assert len(set(seen)) == 1, seen  # every path, with and without orjson, decides alike
    return first


# -- 1. the sample captures ---------------------------------------------------------------------------------

#: Per capture file: how many records hold a message the codec decodes, and which ones it rejects (the
#: faulty captures' invalid messages).  A regression that rejects more (or fewer) changes these.
CAPTURE_EXPECTATIONS: dict[str, tuple[int, frozenset[int]]] = {
    "bridge-clean.jsonl": (16, frozenset()),
    "bridge-faulty.jsonl": (15, frozenset({6, 9})),
    "bridge-stream.bin": (15, frozenset({6, 11})),
    "cceb-clean.jsonl": (35, frozenset()),
    "cceb-desktop.har": (31, frozenset({17})),
    "cceb-faulty.jsonl": (33, frozenset({9, 11, 12, 20, 24, 26, 28})),
    "processor-clean.jsonl": (22, frozenset()),
    "processor-faulty.jsonl": (17, frozenset({7, 14, 19})),
}

#: The capture records decode -> encode changes, each by a normalisation docs/quirks.md documents.
DOCUMENTED_NORMALISATIONS: dict[tuple[str, int], str] = {
    # B1: the serverstatus response spelt "cti.result"; written back as "result".
    ("bridge-clean.jsonl", 2): "alternate-spelling",
    # P1: the getCapabilities success's command " getCapabilities "; written back trimmed.
    ("processor-clean.jsonl", 2): "command-whitespace",
}

#: The raw bridge stream's two directions, read as one capture.
STREAM_FILE = "bridge-stream.bin"
STREAM_PARTS = ("bridge-stream.client.bin", "bridge-stream.server.bin")


class Sample(NamedTuple):
    """One record of a capture that carries a message."""

    file: str
    number: int
    protocol: str
    #: The text to decode: the record's raw text, or its JSON value written compactly.
    text: str
    #: The JSON value as received (parsed by the standard library).
    received: Any


def _records(file: str) -> list[Record | BadRecord]:
    if file == STREAM_FILE:
        client, server = ((CAPTURES / part).read_bytes() for part in STREAM_PARTS)
        return list(read_bridge_streams([client], [server], file=file))
    return list(read_capture(io.BytesIO((CAPTURES / file).read_bytes()), file=file))


def _samples(file: str) -> list[Sample]:
    samples = []
    for record in _records(file):
        assert isinstance(record, Record), record  # the sample captures have no unreadable record
        if record.close is not None:
            continue
        if record.raw is not None:
            text, received = record.raw, jsonio.loads(record.raw)
        else:
            received = record.message
            text = json.dumps(received, ensure_ascii=False, separators=(",", ":"))
        protocol = record.protocol or detect_protocol(received)
        assert protocol in CODECS, record
        samples.append(Sample(file, record.number, protocol, text, received))
    return samples


SAMPLES: dict[str, list[Sample]] = {file: _samples(file) for file in CAPTURE_EXPECTATIONS}
ALL_SAMPLES = [sample for samples in SAMPLES.values() for sample in samples]


#: Sample captures with nothing to round-trip: CCT's SOAP texts are only read (which operation, which fault), never
#: decoded into models or encoded (its payloads are not public: docs/cct.md).
NOT_ENCODED = {"cct-clean.har", "cct-faulty.har"}


def test_every_sample_capture_is_covered() -> None:
    files = {path.name for path in CAPTURES.iterdir() if path.is_file()}
    covered = (set(CAPTURE_EXPECTATIONS) - {STREAM_FILE}) | set(STREAM_PARTS) | NOT_ENCODED
    assert files == covered


@pytest.mark.parametrize("file", sorted(CAPTURE_EXPECTATIONS))
def test_valid_records_per_capture(file: str) -> None:
    count, rejected = CAPTURE_EXPECTATIONS[file]
    found = {sample.number for sample in SAMPLES[file] if rejection(sample.protocol, sample.text) is not None}
    assert found == rejected
    assert len(SAMPLES[file]) - len(found) == count


@pytest.mark.parametrize("sample", ALL_SAMPLES, ids=[f"{s.file}#{s.number}" for s in ALL_SAMPLES])
def test_capture_record_round_trips(sample: Sample) -> None:
    error = rejection(sample.protocol, sample.text)
    if error is not None:
        # An invalid message of a faulty capture: exactly those listed are skipped.
        assert sample.number in CAPTURE_EXPECTATIONS[sample.file][1], f"rejected: {error.code} at {error.pointer!r}"
        return
    expected, quirk_codes = documented_normal_form(sample.protocol, sample.received)
    outcome = check_lossless(sample.protocol, sample.text, sample.received, expected)
    # A normalised value is one the decoder warned about, with the documented quirk's code.
    assert quirk_codes <= {warning.code for warning in outcome.warnings}
    if (sample.file, sample.number) in DOCUMENTED_NORMALISATIONS:
        assert not json_equal(expected, sample.received)
        assert quirk_codes == {DOCUMENTED_NORMALISATIONS[sample.file, sample.number]}
    else:
        assert not quirk_codes


def test_documented_normalisations_are_exactly_these() -> None:
    changed = {
        (sample.file, sample.number)
        for sample in ALL_SAMPLES
        if not json_equal(documented_normal_form(sample.protocol, sample.received)[0], sample.received)
    }
    assert changed == set(DOCUMENTED_NORMALISATIONS)


# -- 2. generated messages, enriched ------------------------------------------------------------------------

BIG_INTEGERS = (2**64 + 1, -(2**63) - 1, 10**40, 2**53 + 1)
AWKWARD_FLOATS = (0.1, 1e300, -0.0, 5e-324)
NON_BMP = ("\U0001f600", "\U0010ffff", "a\U0001d11eb", "\U00010000\U0001f600")

#: Members that pick the message (or its kind) somewhere in one of the protocols: never added as extensions,
#: so the enriched message stays the message it was (B1's alternate spellings included).
DISCRIMINATORS = frozenset(
    {"header", "body", "type", "name", "result", "command", "uuid", "data", *ALTERNATE_HEADER_SPELLINGS}
)

#: Extension member names: prefixed, plain, non-BMP, empty, and ones a JSON pointer must escape.
EXTENSION_NAMES = st.sampled_from(["x-vendor", "vendorExtension", "x-\U0001f600", "\U0010ffff", "", "a/b~c", "~1"]) | (
    ccst.text(max_size=6).map(lambda name: "x-" + name)
)
_SPECIAL_LEAVES = st.sampled_from([*BIG_INTEGERS, *AWKWARD_FLOATS, *NON_BMP]) | st.sampled_from([{}, []]).map(
    lambda empty: type(empty)()
)
EXTENSION_VALUES = st.recursive(
    _SPECIAL_LEAVES | ccst.json_values(max_leaves=3, numbers=ccst.Numbers.EXACT),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(EXTENSION_NAMES, children, max_size=3),
    max_leaves=6,
)


class Places(NamedTuple):
    """Where an encoded message can take more: objects (with the names they must not get), strings, integers."""

    #: Objects where the model keeps unknown members in ``extra``.
    objects: list[tuple[dict[str, Any], frozenset[str]]]
    #: Open objects (``Mapping`` fields): their members are the field's value, not ``extra``.
    open_objects: list[tuple[dict[str, Any], frozenset[str]]]
    #: Free-form string fields, as (container, key).
    strings: list[tuple[Any, Any]]
    #: Integer fields without an upper bound, as (container, key, minimum).
    integers: list[tuple[Any, Any, int | None]]


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def places(cls: type[Model], value: dict[str, Any], found: Places | None = None) -> Places:
    """Every object of ``value`` (an encoded ``cls``) that allows more members, its free-form strings and
    its unbounded integers.

    The model's own objects keep unknown members in ``extra`` (docs/quirks.md B14); a nested model's
    objects too; an open object (a ``Mapping`` field) holds any member but its ``forbidden_keys``, except
    the target of an ``ExactMembersWhen`` rule (a provisioning deletion's ids), which may hold exactly its ids.
    """
    found = found if found is not None else Places([], [], [], [])
    spec = model_spec(cls)
    forbidden: dict[tuple[str, ...], set[str]] = {}
    for path in spec.forbidden:
        forbidden.setdefault(path[:-1], set()).add(path[-1])
    for path in spec.objects:
        taken = spec.known[path] | forbidden.get(path, set()) | DISCRIMINATORS
        found.objects.append((_at(value, path), frozenset(taken)))
    exact_targets = {rule.target for rule in spec.rules if isinstance(rule, ExactMembersWhen)}
    for field in spec.fields:
        parent = _at(value, field.path[:-1])
        if field.path[-1] in parent and field.path not in exact_targets:
            _typed_places(field, field.type, parent, field.path[-1], found)
    return found


def _typed_places(field: FieldSpec, tspec: TypeSpec, container: Any, key: Any, found: Places) -> None:
    item = container[key]
    if tspec.kind is TypeKind.MODEL:
        places(tspec.python_type, item, found)
    elif tspec.kind is TypeKind.ARRAY and not field.wire.comma_list:
        assert tspec.items is not None
        for index in range(len(item)):
            _typed_places(field, tspec.items, item, index, found)
    elif tspec.kind is TypeKind.OBJECT:
        found.open_objects.append((item, frozenset(field.wire.forbidden_keys)))
    elif tspec.kind is TypeKind.STR and field.wire.pattern is None and not field.wire.comma_list:
        found.strings.append((container, key))
    elif tspec.kind is TypeKind.INT and field.wire.maximum is None:
        found.integers.append((container, key, field.wire.minimum))


def _names_outside(taken: frozenset[str]) -> st.SearchStrategy[str]:
    return EXTENSION_NAMES.filter(lambda name: name not in taken)


def enrich(
    cls: type[Model], value: dict[str, Any], draw: Callable[[st.SearchStrategy[Any]], Any], *, extras: bool
) -> None:
    """Add drawn members to open objects (and, with ``extras``, to every object keeping unknown members in
    ``extra``) and non-BMP text to free-form strings."""
    where = places(cls, value)
    for obj, taken in (*where.open_objects, *(where.objects if extras else ())):
        for name in draw(st.lists(_names_outside(taken), max_size=2, unique=True)):
            if name not in obj:  # never replace what the message already holds
                obj[name] = draw(EXTENSION_VALUES)
    for container, key in where.strings:
        container[key] += draw(st.sampled_from(("", *NON_BMP)))
    for container, key, minimum in where.integers:
        big = [number for number in BIG_INTEGERS if minimum is None or number >= minimum]
        container[key] = draw(st.sampled_from([container[key], *big]))


#: Extension members holding every special value (as the issue lists them).
EVERY_SPECIAL_MEMBER: dict[str, Any] = {
    **{f"x-int-{index}": number for index, number in enumerate(BIG_INTEGERS)},
    **{f"x-float-{index}": number for index, number in enumerate(AWKWARD_FLOATS)},
    "x-\U0001f600": "\U0001f600\U0010ffff",
    "\U0010ffff": list(NON_BMP),
    "": "",
    "a/b~c": {"~0": 0},
    "x-empty-object": {},
    "x-empty-array": [],
    "x-nested": {"a": {"b": [{}, [], {"c": [10**40, -0.0, {"\U0001f600": {}}]}]}, "d": []},
}

#: Members the fast path can carry whole (no float, integers within 64 bits, shallow): put in open objects
#: only, they keep a message on the compiled functions and orjson, so those are what is tested.
PLAIN_MEMBERS: dict[str, Any] = {
    "x-int": 2**53 + 1,
    "x-int-min": -(2**63),
    "x-\U0001f600": "\U0001f600\U0010ffff",
    "\U0010ffff": list(NON_BMP),
    "": "",
    "a/b~c": {"~0": 0},
    "x-empty-object": {},
    "x-empty-array": [],
    "x-nested": {"a": {"b": [{}, [], {"c": [True, None, {"\U0001f600": {}}]}]}, "d": []},
}


def enrich_everywhere(cls: type[Model], value: dict[str, Any], *, extras: bool) -> None:
    """Every special value in every open object (and, with ``extras``, as an unknown member of every object
    that keeps them); :data:`PLAIN_MEMBERS` in open objects without ``extras``; non-BMP in every free-form
    string; a big integer in every integer field without an upper bound."""
    where = places(cls, value)
    placed = [(obj, taken, EVERY_SPECIAL_MEMBER if extras else PLAIN_MEMBERS) for obj, taken in where.open_objects]
    if extras:
        placed += [(obj, taken, EVERY_SPECIAL_MEMBER) for obj, taken in where.objects]
    for obj, taken, members in placed:
        for name, item in members.items():
            if name not in taken and name not in obj:
                obj[name] = json.loads(json.dumps(item))  # a fresh copy for each place
    for container, key in where.strings:
        container[key] += NON_BMP[0] + NON_BMP[1]
    for container, key, _ in where.integers:
        # Beyond 64 bits only with the unknown members: the other variant is for the fast path (orjson).
        container[key] = 2**64 + 1 if extras else 2**53 + 1


def texts(value: Any) -> dict[str, str]:
    """The three ways a peer may write a value: compact, ASCII-escaped, pretty."""
    return {
        "compact": json.dumps(value, separators=(",", ":"), ensure_ascii=False),
        "ascii": json.dumps(value, separators=(",", ":"), ensure_ascii=True),
        "pretty": json.dumps(value, indent=2, ensure_ascii=False),
    }


def check_enriched(protocol: str, message: Any, enriched: dict[str, Any]) -> None:
    for style, text in texts(enriched).items():
        if style == "ascii":
            assert text.isascii()  # non-BMP characters as surrogate-pair escapes
        outcome = check_lossless(protocol, text, enriched, enriched)
        assert type(outcome.message) is type(message)


MESSAGES: dict[str, st.SearchStrategy[Any]] = {
    "bridge": bridge_messages(numbers=ccst.Numbers.EXACT),
    "processor": processor_messages(numbers=ccst.Numbers.EXACT),
    "cceb": cceb_messages(numbers=ccst.Numbers.EXACT),
}
#: Messages without unknown members: unless enriched with some, the compiled functions and orjson carry them.
PLAIN_MESSAGES: dict[str, st.SearchStrategy[Any]] = {
    "bridge": bridge_messages(with_extra=False, numbers=ccst.Numbers.EXACT),
    "processor": processor_messages(with_extra=False, numbers=ccst.Numbers.EXACT),
    "cceb": cceb_messages(with_extra=False, numbers=ccst.Numbers.EXACT),
}


@pytest.mark.parametrize("protocol", sorted(CODECS))
def test_generated_messages_with_extensions_round_trip(protocol: str) -> None:
    codec = CODECS[protocol]

    @EXAMPLES
    @given(st.one_of(MESSAGES[protocol], PLAIN_MESSAGES[protocol]), st.booleans(), st.data())
    def check(message: Any, extras: bool, data: st.DataObject) -> None:
        enriched = codec.encode_value(message)
        enrich(type(message), enriched, data.draw, extras=extras)
        check_enriched(protocol, message, enriched)

    check()


def _simplest_with_items(cls: type[Model]) -> Any:
    """The simplest instance of ``cls`` with one (simplest) item in each array of models, so theirs are reached."""
    instance = ccst.simplest(cls)
    changes: dict[str, Any] = {}
    for field in model_spec(cls).fields:
        if field.type.kind is TypeKind.MODEL and getattr(instance, field.attr) is not None:
            changes[field.attr] = _simplest_with_items(field.type.python_type)
        elif (field.type.kind is TypeKind.ARRAY and field.type.items is not None
              and field.type.items.kind is TypeKind.MODEL):
            items = getattr(instance, field.attr)
            if items is not None:
                changes[field.attr] = tuple(_simplest_with_items(field.type.items.python_type)
                                            for _ in range(max(1, len(items))))
    if cls is cceb.Action:
        changes["action"] = sorted(cceb.SUPPORTED_ACTIONS)[0]  # simplest's "A" is no supported action
    return attrs.evolve(instance, **changes) if changes else instance


def _message_classes() -> list[tuple[str, type[Model]]]:
    classes: list[tuple[str, type[Model]]] = [("bridge", cls) for cls in bridge.ALL_MESSAGE_CLASSES]
    classes += [("processor", cls) for cls in processor.REGISTRY.message_classes()]
    classes += [("processor", cls) for cls in (processor.FailureResponse, processor.UnknownRequest,
                                               processor.UnknownSuccess, processor.UnknownConfirm,
                                               processor.UnknownEvent)]
    classes += [("cceb", cls) for cls in cceb.ALL_MESSAGE_CLASSES]
    return list(dict.fromkeys(classes))


MESSAGE_CLASSES = _message_classes()


#: Runs a test once per message class of every protocol.
EVERY_MESSAGE_CLASS = pytest.mark.parametrize(
    ("protocol", "cls"), MESSAGE_CLASSES, ids=[f"{protocol}.{cls.__name__}" for protocol, cls in MESSAGE_CLASSES]
)


def enriched_message(protocol: str, cls: type[Model], *, extras: bool) -> tuple[Model, Any]:
    """The simplest ``cls`` message (with items in its lists), and its JSON value enriched everywhere."""
    message = _simplest_with_items(cls)
    enriched = CODECS[protocol].encode_value(message)
    enrich_everywhere(cls, enriched, extras=extras)
    return message, enriched


@EVERY_MESSAGE_CLASS
def test_every_message_class_keeps_every_special_value(protocol: str, cls: type[Model]) -> None:
    message, enriched = enriched_message(protocol, cls, extras=True)
    assert enriched != CODECS[protocol].encode_value(message)  # there was somewhere to put them
    check_enriched(protocol, message, enriched)


@EVERY_MESSAGE_CLASS
def test_every_message_class_keeps_plain_values_on_the_fast_path(protocol: str, cls: type[Model]) -> None:
    message, enriched = enriched_message(protocol, cls, extras=False)
    check_enriched(protocol, message, enriched)
    # No unknown member and no float: the compiled functions answer both ways (the fast path was tested).
    decoded = compiled.structure_function(cls)(enriched)
    assert same_json(compiled.unstructure_function(cls)(decoded), enriched)


def test_enrichment_reaches_nested_models_and_open_objects() -> None:
    # A team-status event: the event's own objects, the team, each member (nested models in an array).
    member = ccst.simplest(processor.TeamMember)
    event = attrs.evolve(ccst.simplest(processor.MembersAddedEvent), team=attrs.evolve(
        ccst.simplest(processor.MembersAddedEvent).team, members=(member, member)))
    value = processor.encode_value(event)
    where = places(type(event), value)
    assert any(obj is value["data"]["team"]["members"][1] for obj, _ in where.objects)
    # An action's details are open but never get a reserved field.
    action_value = cceb.encode_value(_simplest_with_items(cceb.Action))
    details = action_value["data"]["action_details"]
    taken = next(taken for obj, taken in places(cceb.Action, action_value).open_objects if obj is details)
    assert {"tenantGuid", "destinationAgentGuid"} <= taken
    # A provisioning deletion's ids are not an open object.
    provisioning = cceb.encode_value(ccst.simplest(cceb.Provisioning))
    found = places(cceb.Provisioning, provisioning)
    assert all(obj is not provisioning["data"]["event"] for obj, _ in (*found.objects, *found.open_objects))
    # The envelope's members are never added to the objects keeping unknown members.
    assert all("data" in taken and "uuid" in taken for _, taken in found.objects)


# -- the documented normalisations, on generated messages ---------------------------------------------------


def _quirky_bridge(value: dict[str, Any], draw: Callable[[st.SearchStrategy[Any]], Any]) -> dict[str, Any]:
    """A response written with B1's alternate spellings: instead of, or beside, the canonical ones."""
    header = value["header"]
    if header.get("type") != "cti.response":
        return value
    for alt, canonical in ALTERNATE_HEADER_SPELLINGS.items():
        how = draw(st.sampled_from(["keep", "alternate", "both"] if canonical in header else ["keep", "both"]))
        if how == "alternate":
            header = {alt if key == canonical else key: item for key, item in header.items()}
        elif how == "both":
            header[alt] = draw(st.sampled_from(["SUCCESS", "FAILURE", "", "\U0001f600"])) if alt == "cti.result" else (
                draw(ccst.text(max_size=5))
            )
    return {**value, "header": header}


def _quirky_processor(value: dict[str, Any], draw: Callable[[st.SearchStrategy[Any]], Any]) -> dict[str, Any]:
    """A message whose command is padded with whitespace (P1)."""
    command = value.get("command")
    if not isinstance(command, str):
        return value
    padding = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0"])
    return {**value, "command": draw(padding) + command + draw(padding)}


@pytest.mark.parametrize("protocol", ["bridge", "processor"])
def test_generated_messages_with_documented_quirks_come_back_in_normal_form(protocol: str) -> None:
    codec = CODECS[protocol]
    quirky = _quirky_bridge if protocol == "bridge" else _quirky_processor

    @EXAMPLES
    @given(MESSAGES[protocol], st.data())
    def check(message: Any, data: st.DataObject) -> None:
        canonical = codec.encode_value(message)
        received = quirky(json.loads(json.dumps(canonical)), data.draw)
        expected, quirk_codes = documented_normal_form(protocol, received)
        for text in texts(received).values():
            outcome = check_lossless(protocol, text, received, expected)
            assert quirk_codes <= {warning.code for warning in outcome.warnings}
            if protocol == "processor" and quirk_codes:
                assert json_equal(expected, canonical)  # trimmed: the message as it was before the padding

    check()
