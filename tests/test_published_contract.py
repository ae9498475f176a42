"""The published contract (schemas/) judged by tools nobody on ccproto wrote, against ccproto's own verdicts.

The rule (docs/quirks.md, "The published contract"): a message validates against its published schema if and
only if ccproto accepts it without an error, and then against no other schema of its protocol.  The judges are
Ajv 8 in strict mode (Node.js, tools/interop/, pinned), check-jsonschema's meta-schema check, and a Python
Draft 2020-12 validator whose ``pattern`` runs on ``regress`` (an ECMA-262 regex engine): none of them uses
ccproto's code.  Messages are drawn both ways: from the schemas (hypothesis-jsonschema) and from ccproto's
strategies, valid and mutated.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.validators
import pytest
import regress
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from ccproto import cceb
from ccproto.bridge import codec as bridge_codec
from ccproto.bridge.models import ALL_MESSAGE_CLASSES as BRIDGE_CLASSES
from ccproto.cceb import codec as cceb_codec
from ccproto.cceb.models import ALL_MESSAGE_CLASSES as CCEB_CLASSES
from ccproto.cceb.models import REGISTRY as CCEB_REGISTRY
from ccproto.cceb.models import Action, UnknownNotification
from ccproto.core.convert import compile_pattern, decode_model, encode_model
from ccproto.core.errors import DecodeError, RemoteProtocolError
from ccproto.core.jsonio import _check_no_surrogates
from ccproto.core.model import Model
from ccproto.core.patterns import ECMA_WHITESPACE, PYTHON_WHITESPACE
from ccproto.processor import codec as processor_codec
from ccproto.processor.models import ALL_MESSAGE_CLASSES as PROCESSOR_CLASSES
from ccproto.processor.models import REGISTRY as PROCESSOR_REGISTRY
from ccproto.processor.models import (
    FailureResponse,
    ServiceInformation,
    UnknownConfirm,
    UnknownEvent,
    UnknownRequest,
    UnknownSuccess,
)
from ccproto.testing import Numbers, from_model, mutated_json
from ccproto.testing.slices.cceb.strategies import cceb_actions, cceb_unknown_notifications
from ccproto.testing.slices.processor.strategies import processor_failures, processor_unknown_messages
from node_interop import ROOT, ajv, asyncapi_check, asyncapi_summary, published_schemas, require_node

SCHEMAS = published_schemas()
CODECS: dict[str, Any] = {"bridge": bridge_codec, "processor": processor_codec, "cceb": cceb_codec}
CLASSES: dict[str, tuple[type[Model], ...]] = {
    "bridge": BRIDGE_CLASSES, "processor": (*PROCESSOR_CLASSES, ServiceInformation), "cceb": CCEB_CLASSES,
}
#: Messages per schema drawn from the schema itself (hypothesis-jsonschema: ~80 ms a draw), and from
#: ccproto's strategies (half as encoded, half mutated): at least 200 per schema in all, both ways.
FROM_SCHEMA, FROM_CCPROTO = 50, 200


def schema_name(cls: type[Model]) -> str:
    """``protocol/ClassName``, as :func:`published_schemas` keys it."""
    for protocol, classes in CLASSES.items():
        if cls in classes:
            return f"{protocol}/{cls.__name__}"
    raise KeyError(cls)


ALL_SCHEMA_CLASSES = [cls for classes in CLASSES.values() for cls in classes]


def test_every_published_schema_is_judged_here() -> None:
    assert sorted(SCHEMAS) == sorted(schema_name(cls) for cls in ALL_SCHEMA_CLASSES)


# -- ccproto's verdict, and the independent ones ------------------------------------------------------------


def ccproto_verdict(protocol: str, value: Any, cls: type[Model]) -> str | None:
    """The schema ccproto reads ``value`` by (that of the class it decodes to), or None when it refuses it."""
    if cls is ServiceInformation:  # not a message: a document a processor publishes (quirk P4)
        try:
            decode_model(value, ServiceInformation)
        except RemoteProtocolError:
            return None
        return schema_name(ServiceInformation)
    try:
        message = CODECS[protocol].decode_value(value).message
    except RemoteProtocolError:
        return None
    return schema_name(type(message))


def candidates(protocol: str, cls: type[Model]) -> list[str]:
    """The schemas a value drawn for ``cls`` is judged against: every message schema of its protocol."""
    if cls is ServiceInformation:
        return [schema_name(ServiceInformation)]
    return [schema_name(c) for c in CLASSES[protocol] if c is not ServiceInformation]


def _regress_pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and regress.Regex(pattern, flags="u").find(instance) is None:
        yield jsonschema.ValidationError(f"does not match {pattern!r} (ECMA-262)")


#: A standard Draft 2020-12 validator (python-jsonschema) with ECMA-262 regexes (regress), nothing of ccproto's.
EcmaValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, validators={"pattern": _regress_pattern})


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a string or key of ``value`` holds a lone surrogate (ccproto's own check, quirk H2)."""
    try:
        _check_no_surrogates(value)
    except DecodeError:
        return True
    return False


def ecma_matches(value: Any, names: list[str]) -> set[str]:
    """The schemas among ``names`` that the regress-based validator says ``value`` is valid against."""
    return {name for name in names if EcmaValidator(SCHEMAS[name]).is_valid(value)}


def disagreements(protocol: str, cls: type[Model], values: list[Any]) -> list[str]:
    """Where Ajv's verdicts break the rule for ``values`` (drawn for ``cls``), one line each."""
    names = candidates(protocol, cls)
    cases = [(name, value) for value in values for name in names]
    verdicts = ajv({name: SCHEMAS[name] for name in names}, cases).valid
    found = []
    for index, value in enumerate(values):
        mine = verdicts[index * len(names):(index + 1) * len(names)]
        matched = {name for name, valid in zip(names, mine, strict=True) if valid}
        accepted = ccproto_verdict(protocol, value, cls)
        expected = {accepted} if accepted is not None else set()
        if matched != expected:
            found.append(f"ccproto: {accepted or 'refuses'}; Ajv: {sorted(matched) or 'no schema'}; "
                         f"value: {json.dumps(value)[:400]}")
    return found


# -- drawing messages both ways -----------------------------------------------------------------------------


def _collect(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` draws of ``strategy`` (hypothesis's generation alone: nothing here shrinks)."""
    drawn: list[Any] = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


def ccproto_values(cls: type[Model]) -> st.SearchStrategy[Any]:
    """JSON values of ``cls`` as ccproto's strategies draw and encode them (the catch-alls with unknown names)."""
    unknown: dict[type[Model], Callable[[], st.SearchStrategy[Any]]] = {
        Action: lambda: cceb_actions(numbers=Numbers.EXACT),
        UnknownNotification: lambda: cceb_unknown_notifications(numbers=Numbers.EXACT),
        FailureResponse: lambda: processor_failures(numbers=Numbers.EXACT),
        **{c: (lambda c=c: processor_unknown_messages(numbers=Numbers.EXACT).filter(lambda m: type(m) is c))
           for c in (UnknownRequest, UnknownSuccess, UnknownConfirm, UnknownEvent)},
    }
    models = unknown[cls]() if cls in unknown else from_model(cls, numbers=Numbers.EXACT)
    return models.map(encode_model)


@pytest.mark.parametrize("cls", ALL_SCHEMA_CLASSES, ids=schema_name)
def test_schema_and_ccproto_agree_on_messages_drawn_both_ways(cls: type[Model]) -> None:
    require_node()
    protocol = schema_name(cls).split("/")[0]
    from_ccproto = ccproto_values(cls)
    values = [
        *_collect(from_schema(SCHEMAS[schema_name(cls)]), FROM_SCHEMA),
        *_collect(from_ccproto, FROM_CCPROTO // 2),
        *_collect(mutated_json(from_ccproto), FROM_CCPROTO // 2),
    ]
    assert len(values) >= 200
    found = disagreements(protocol, cls, values)
    assert not found, f"{len(found)} disagreement(s) of {len(values)}:\n" + "\n".join(found[:10])


@pytest.mark.parametrize("cls", ALL_SCHEMA_CLASSES, ids=schema_name)
def test_an_ecma_python_validator_gives_the_same_verdicts(cls: type[Model]) -> None:
    # The same rule without Node.js: python-jsonschema with regress (no ccproto code), on fewer draws.
    protocol = schema_name(cls).split("/")[0]
    from_ccproto = ccproto_values(cls)
    values = [*_collect(from_ccproto, 15), *_collect(mutated_json(from_ccproto), 15)]
    names = candidates(protocol, cls)
    for value in values:
        if _has_lone_surrogate(value):
            continue  # not I-JSON (quirk H2), and regress (Rust) cannot hold one
        accepted = ccproto_verdict(protocol, value, cls)
        assert ecma_matches(value, names) == ({accepted} if accepted else set()), json.dumps(value)[:400]


# -- the cases of issue 20, each decided (docs/quirks.md S1-S6, N3) ------------------------------------------


def judge(protocol: str, value: Any) -> tuple[str | None, set[str]]:
    """ccproto's verdict and the set of the protocol's schemas Ajv says ``value`` matches."""
    names = [schema_name(c) for c in CLASSES[protocol] if c is not ServiceInformation]
    verdicts = ajv({name: SCHEMAS[name] for name in names}, [(name, value) for name in names]).valid
    matched = {name for name, valid in zip(names, verdicts, strict=True) if valid}
    return ccproto_verdict(protocol, value, CLASSES[protocol][0]), matched


def test_case_1_an_unsupported_action_matches_no_schema() -> None:
    require_node()
    value = {"type": "action", "uuid": "00000000-0000-4000-8000-000000000001",
             "data": {"action": "R", "action_details": {}}}
    assert judge("cceb", value) == (None, set())
    value["data"]["action"] = "BlindTransferEvent"
    assert judge("cceb", value) == ("cceb/Action", {"cceb/Action"})
    assert SCHEMAS["cceb/Action"]["properties"]["data"]["properties"]["action"]["enum"] == list(CCEB_REGISTRY.actions())


@pytest.mark.parametrize("number", ["30.0", "2e0", "-0.0", "30", "3E1"])
def test_case_2_integral_numbers_are_integers_for_both(number: str) -> None:
    require_node()
    timeout = json.loads(f'{{"type": "phone_validation", "uuid": "00000000-0000-4000-8000-000000000001", '
                         f'"data": {{"state": "offering", "timeout": {number}}}}}')
    assert judge("cceb", timeout) == ("cceb/PhoneValidation", {"cceb/PhoneValidation"})
    assert cceb.decode(json.dumps(timeout)).timeout == int(float(number))  # type: ignore[union-attr]
    sample = (ROOT / "examples/captures/bridge-clean.jsonl").read_text().splitlines()[4]
    capabilities = json.loads(sample)["message"]
    assert capabilities["header"]["type"] == "cti.response"
    capabilities["body"]["channel-groups-max-per-agent"] = json.loads(number)
    assert judge("bridge", capabilities) == ("bridge/CapabilitiesResponse", {"bridge/CapabilitiesResponse"})


@pytest.mark.parametrize("number", ["30.5", "-1.0", "true", '"30"'])
def test_case_2_other_numbers_are_refused_by_both(number: str) -> None:
    require_node()
    timeout = json.loads(f'{{"type": "phone_validation", "uuid": "00000000-0000-4000-8000-000000000001", '
                         f'"data": {{"state": "offering", "timeout": {number}}}}}')
    assert judge("cceb", timeout) == (None, set())


@pytest.mark.parametrize("char", ["\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\ufeff", "\u3000", " "], ids=ascii)
def test_case_3_white_space_either_engine_sees_is_refused_in_a_target(char: str) -> None:
    require_node()
    request = {"header": {"type": "cti.request", "name": "cti.request.serverstatus", "target": f"Ac{char}me.CONTROL",
                          "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000001"}, "body": {}}
    assert judge("bridge", request) == (None, set())
    request["header"]["target"] = "Ac\u200bme.CONTROL"  # a zero-width space is white space to neither
    assert judge("bridge", request) == ("bridge/ServerStatusRequest", {"bridge/ServerStatusRequest"})


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, child in node.items():
            if key == "pattern" and isinstance(child, str):
                yield child
            else:
                yield from _patterns(child)
    elif isinstance(node, list):
        for child in node:
            yield from _patterns(child)


PATTERNS = sorted({pattern for schema in SCHEMAS.values() for pattern in _patterns(schema)})
#: Strings some pattern matches, to probe around (every pattern gets at least one: checked below).
BASES = ["Acme1.CONTROL", "6f1b0b2e-9a3f-4f5e-8c1d-000000000001", "voice", "voice,chat", " getCapabilities ",
         *PROCESSOR_REGISTRY.commands()]
#: Every code point below U+3100 (all of both engines' white space but U+FEFF), the surrogates, U+FEFF and
#: a spread of the rest of the BMP and of the astral planes.
SWEEP = sorted({*range(0x3100), *range(0xD800, 0xE000, 7), 0xFEFF, 0xFFFE, 0xFFFF,
                *range(0x3100, 0x10000, 13), *range(0x10000, 0x110000, 4099), 0x10FFFF})


def test_case_3_no_pattern_uses_a_class_the_engines_read_differently() -> None:
    for pattern in PATTERNS:
        for shorthand in ("\\s", "\\S", "\\d", "\\D", "\\w", "\\W", "\\b", "\\B"):
            assert shorthand not in pattern.replace("\\\\", ""), pattern
        assert "." not in pattern.replace("\\.", ""), pattern  # only an escaped dot
    assert {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} == PYTHON_WHITESPACE
    assert {"\ufeff"} == ECMA_WHITESPACE - PYTHON_WHITESPACE


def test_case_3_every_pattern_means_the_same_in_python_and_ecma_262() -> None:
    require_node()
    probes: list[tuple[str, str]] = []
    for pattern in PATTERNS:
        bases = [base for base in BASES if compile_pattern(pattern).search(base)]
        assert bases, pattern
        base = bases[0]
        middle = len(base) // 2
        for code in SWEEP:
            char = chr(code)
            for probe in (char + base, base[:middle] + char + base[middle:], base + char, char + base[1:]):
                probes.append((pattern, probe))
    # Lone surrogates next to each other would pair up in JavaScript: the bases are ASCII, so none do.
    ecma = ajv({}, patterns=probes).matches
    python = [compile_pattern(pattern).search(probe) is not None for pattern, probe in probes]
    differ = [(pattern, ascii(probe))
              for (pattern, probe), a, b in zip(probes, ecma, python, strict=True) if a != b]
    assert not differ, f"{len(differ)} probes of {len(probes)} differ, e.g. {differ[:5]}"
    # regress (ECMA-262 in Rust, check-jsonschema's engine) agrees too, on a share of the probes (those it can
    # take: a Rust string holds no lone surrogate).
    for (pattern, probe), expected in list(zip(probes, python, strict=True))[::97]:
        if _has_lone_surrogate(probe):
            continue
        assert (regress.Regex(pattern, flags="u").find(probe) is not None) == expected, (pattern, ascii(probe))


@pytest.mark.parametrize("capture", ["bridge-clean.jsonl", "processor-clean.jsonl", "cceb-clean.jsonl"])
def test_case_4_every_message_of_the_clean_samples_matches_exactly_its_schema(capture: str) -> None:
    require_node()
    records = [json.loads(line) for line in (ROOT / "examples" / "captures" / capture).read_text().splitlines()]
    messages = [record["message"] for record in records if isinstance(record.get("message"), dict)]
    protocol = capture.split("-")[0]
    assert messages
    found = disagreements(protocol, CLASSES[protocol][0], messages)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("protocol", "value"), [
    ("bridge", {"header": {"type": "cti.response", "name": "cti.request.serverstatus", "target": "Acme1.CONTROL",
                           "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000001", "cti.result": "SUCCESS"},
                "body": {}}),
    ("bridge", {"header": {"type": "cti.response", "name": "cti.request.dispose", "target": "Acme1.CONTROL",
                           "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000001", "cti.result": "FAILURE",
                           "error.message": "gone"}, "body": {}}),
    ("processor", {"command": " getCapabilities ", "result": "success", "data": {}}),
    ("processor", {"command": "\ufeffgetCapabilities", "data": {}}),
], ids=["cti.result", "error.message", "padded-success", "bom-padded-request"])
def test_case_4_accepted_quirks_validate_marked_deprecated(protocol: str, value: dict[str, Any]) -> None:
    require_node()
    accepted, matched = judge(protocol, value)
    assert accepted is not None
    assert matched == {accepted}
    assert CODECS[protocol].decode_value(value).warnings  # ccproto keeps its warning (an error under --strict)
    assert '"deprecated": true' in json.dumps(SCHEMAS[accepted])


@pytest.mark.parametrize(("protocol", "value"), [
    ("processor", {"command": "getCapabilities", "result": "success"}),
    ("processor", {"command": "prepareSession", "result": "confirm"}),
    ("cceb", {"type": "off_hook", "uuid": "00000000-0000-4000-8000-000000000001", "data": {}}),
    ("cceb", {"type": "hello_reply", "uuid": "00000000-0000-4000-8000-000000000001", "data": {"resumed": 1}}),
], ids=["known-success", "prepareSession-confirm-without-members", "off_hook-without-state", "bad-hello_reply"])
def test_case_5_catch_alls_do_not_match_known_messages(protocol: str, value: dict[str, Any]) -> None:
    require_node()
    assert judge(protocol, value) == (None, set())


def test_case_5_catch_alls_take_unknown_names() -> None:
    require_node()
    assert judge("processor", {"command": "x-later", "result": "success"}) == (
        "processor/UnknownSuccess", {"processor/UnknownSuccess"})
    event = {"name": "x-later", "data": {}}
    assert judge("processor", event) == ("processor/UnknownEvent", {"processor/UnknownEvent"})
    assert judge("cceb", {"type": "x-later", "uuid": "00000000-0000-4000-8000-000000000001", "data": {}}) == (
        "cceb/UnknownNotification", {"cceb/UnknownNotification"})


def _booleans(node: Any, where: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, child in node.items():
            if isinstance(child, bool) and key not in ("deprecated", "writeOnly", "readOnly", "const", "uniqueItems"):
                yield f"{where}/{key}"
            yield from _booleans(child, f"{where}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            if isinstance(child, bool):
                yield f"{where}/{index}"
            yield from _booleans(child, f"{where}/{index}")


def test_case_6_every_schema_compiles_under_ajv_strict_mode() -> None:
    require_node()
    complaints = {name: found for name, found in ajv(SCHEMAS).compile.items() if found}
    assert complaints == {}


def test_case_6_check_jsonschema_accepts_every_schema_under_its_meta_schema() -> None:
    tool = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(tool), "--check-metaschema", *sorted(map(str, ROOT.glob("schemas/*/*.schema.json")))],
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_case_7_no_schema_has_a_boolean_sub_schema() -> None:
    # Modelina crashes on `false`; {"not": {}} says the same (core.schema.NOTHING).
    for name, schema in SCHEMAS.items():
        assert list(_booleans(schema)) == [], name


def test_case_7_the_asyncapi_document_is_3_1_clean_and_generates_models() -> None:
    require_node()
    document = ROOT / "schemas" / "cceb.asyncapi.yaml"
    assert document.read_text(encoding="utf-8").startswith('asyncapi: "3.1.0"')
    done = asyncapi_check(document)
    summary = asyncapi_summary(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary["diagnostics"] == []
    assert summary["models"]["typescript"] >= len(CCEB_CLASSES)
    assert summary["models"]["python"] >= len(CCEB_CLASSES)


#: Subprocesses, sockets or long runs: in the full run only (tests/conftest.py).
pytestmark = pytest.mark.slow
