"""What an integrator would use instead of ccproto, modelling the same benchmark messages (benchmark only).

Three rivals decode and encode the messages of :mod:`messages` (``agentinfo``, ``failure``, ``action``,
``team10``/``team50``), each accepting and rejecting the same inputs as ccproto there:

* ``json + jsonschema``: ``json.loads`` then a ``Draft202012Validator`` built once from the published
  schema (``schemas/<protocol>/<Class>.schema.json``) of the class the message's shape names;
* ``pydantic v2``: strict models and one discriminated union (a ``TypeAdapter``) per protocol;
* ``msgspec``: ``Struct`` types, a tagged union where the protocol has a top-level tag (CCEB ``type``) and a
  probe-then-decode dispatch where it has none (bridge, processor).

Each protocol's union holds the benchmark's message types of that protocol, plus one cheap second type
where the protocol would otherwise have only one (bridge ``FailureResponse``, CCEB ``Ack``), so that every
rival pays for a real dispatch.  Every decoder, validator and adapter is built once per protocol (cached):
the callables :attr:`Rival.decoder` and :attr:`Rival.encoder` return are what the benchmark times.

:func:`check_agreement` checks the rivals (and ccproto) against :mod:`messages` before anything is timed.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import jsonschema.validators
import msgspec
import pydantic
import referencing
import referencing.jsonschema
from msgspec import UNSET, Meta, Raw, Struct, UnsetType
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter

__all__ = ["RIVALS", "Rival", "check_agreement"]

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

# -- the rules, as the published schemas state them -----------------------------------------------------------

#: Bridge ``header.requestId`` and CCEB ``uuid``: a GUID (8-4-4-4-12 hex digits, either case).
GUID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
#: Bridge ``header.target``: ``{Processor_Name}.CONTROL``.
CONTROL_TARGET = r"^\S+\.CONTROL$"
#: CCEB ``data.action``: an Avro record name.
ACTION_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: CCEB ``data.action_details`` members the schema forbids (``false``): the CCEB sets them itself.
RESERVED_ACTION_DETAILS = frozenset({
    "irInstance", "tenantGuid", "agentGuid", "isSystemAction", "isRelocate", "source",
    "destinationAgentGuid", "secondAgentGuid",
})
#: The header names a bridge ``FAILURE`` response may carry (those of queries and requests).
BridgeRequestName = Literal[
    "cti.query.capabilities", "cti.query.agentinfo", "cti.request.validateagentcredentials",
    "cti.request.serverstatus", "cti.request.createsession", "cti.request.dispose",
]
MemberType = Literal["Agent", "Supervisor", "TeamLead"]
MemberStatus = Literal["ready", "not_ready", "ACW"]


def ecma_pattern(pattern: str) -> str:
    """``pattern`` for Python's ``re.search`` with JSON Schema's (ECMA-262's) final ``$``: end of string.

    Python's ``$`` also matches before a final newline (``"Acme1.CONTROL\\n"`` would pass); ``\\Z`` does not.
    pydantic-core's default engine (Rust ``regex``) already reads ``$`` as end of text, so it keeps ``$``.
    """
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern


def _reserved_free(details: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` when ``action_details`` holds a member the schema forbids."""
    if not RESERVED_ACTION_DETAILS.isdisjoint(details):
        found = sorted(RESERVED_ACTION_DETAILS.intersection(details))
        raise ValueError(f"action_details must not hold {', '.join(found)} (the CCEB sets them)")


# -- the rival type --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rival:
    """A library an integrator could use instead of ccproto: per protocol, a decode and an encode callable."""

    name: str
    #: protocol -> decode(text) (raises on invalid input); the same callable each time (built once).
    decoder: Callable[[str], Callable[[str], object]]
    #: protocol -> encode(decoded object) (JSON text or UTF-8 bytes); the same callable each time.
    encoder: Callable[[str], Callable[[object], bytes | str]]


# == 1. json + jsonschema ======================================================================================

#: Each protocol's schema classes in the union (the first is the default for a shape no rule picks).
_SCHEMA_CLASSES: dict[str, tuple[str, ...]] = {
    "bridge": ("AgentInfoResponse", "FailureResponse"),
    "processor": ("FailureResponse", "TeamAddedEvent"),
    "cceb": ("Action", "Ack"),
}


def _keyword_pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """The ``pattern`` keyword with ECMA-262's final ``$`` (the library's own uses ``re.search`` as is)."""
    if isinstance(instance, str) and _compiled_pattern(pattern).search(instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _compiled_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_pattern(pattern))


#: Draft 2020-12 with the one keyword fixed; everything else is the library's.
_Draft202012 = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _keyword_pattern})


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number out of range: {text}")
    return number


#: ``json.loads`` refusing what is not JSON (NaN, Infinity) or overflows a double, as ccproto does.  The
#: hooks only run on such literals and on floats (none of the benchmark messages has one); the decoder is built
#: once, since ``json.loads(text, **hooks)`` would build a new one per call (+1.4 us).
_json_loads = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite).decode


@functools.cache
def _js_validators(protocol: str) -> dict[str, Any]:
    """Class name -> validator, built once per protocol.

    No published schema uses ``$ref`` today; every schema file of the protocol is registered anyway (under
    its file name) so a cross-file ``$ref`` would resolve the day one appears.
    """
    schemas = {path.name: json.loads(path.read_text("utf-8")) for path in sorted((SCHEMAS / protocol).glob("*.json"))}
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        (name, referencing.Resource.from_contents(schema, default_specification=referencing.jsonschema.DRAFT202012))
        for name, schema in schemas.items()
    )
    validators = {}
    for cls in _SCHEMA_CLASSES[protocol]:
        schema = schemas[f"{cls}.schema.json"]
        _Draft202012.check_schema(schema)
        validators[cls] = _Draft202012(schema, registry=registry)
    return validators


def _js_bridge_class(value: Any) -> str:
    header = value.get("header") if type(value) is dict else None
    if type(header) is dict and header.get("type") == "cti.response" and header.get("result") == "FAILURE":
        return "FailureResponse"
    return "AgentInfoResponse"  # its validator words what is wrong with anything else


def _js_processor_class(value: Any) -> str:
    # ccproto's dispatch: a ``command`` makes a request or response, else a ``name`` makes an event.
    if type(value) is dict and "command" not in value and "name" in value:
        return "TeamAddedEvent"
    return "FailureResponse"


def _js_cceb_class(value: Any) -> str:
    return "Ack" if type(value) is dict and value.get("type") == "ack" else "Action"


_JS_PICK: dict[str, Callable[[Any], str]] = {
    "bridge": _js_bridge_class, "processor": _js_processor_class, "cceb": _js_cceb_class,
}


@functools.cache
def _js_check(protocol: str) -> Callable[[Any], None]:
    """Validate a JSON value of ``protocol`` against the schema its shape picks; raise the first error."""
    validators = {cls: validator.validate for cls, validator in _js_validators(protocol).items()}
    pick = _JS_PICK[protocol]

    def check(value: Any) -> None:
        validators[pick(value)](value)

    return check


@functools.cache
def _js_decoder(protocol: str) -> Callable[[str], object]:
    check = _js_check(protocol)
    loads = _json_loads

    def decode(text: str) -> object:
        value = loads(text)
        check(value)
        return value

    return decode


@functools.cache
def _js_encoder(protocol: str) -> Callable[[object], bytes | str]:
    check = _js_check(protocol)
    dumps = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False)

    def encode(value: object) -> str:
        check(value)
        return dumps(value)

    return encode


# == 2. pydantic v2 ============================================================================================


class _PdModel(BaseModel):
    """Strict (no coercion), open (unknown members kept and written back), fields by name or wire alias."""

    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


# Optional members that must not be null are typed without ``None`` and default to ``None``: pydantic does not
# validate defaults, so an absent member is None (and unset: not written back), a ``null`` one is rejected.
# Patterns run on pydantic-core's Rust engine, where ``$`` is end of text (as in JSON Schema).

_PdGuid = Annotated[str, Field(pattern=GUID)]
_PdTarget = Annotated[str, Field(pattern=CONTROL_TARGET)]


class PdAgentInfoHeader(_PdModel):
    type: Literal["cti.response"]
    name: Literal["cti.query.agentinfo"]
    result: Literal["SUCCESS"]
    target: _PdTarget
    request_id: _PdGuid = Field(alias="requestId")


class PdAgentInfoBody(_PdModel):
    switch_agent_id: str = Field(alias="switch-agent-id")
    first_name: str = Field(default=None, alias="first-name")  # type: ignore[assignment]
    last_name: str = Field(default=None, alias="last-name")  # type: ignore[assignment]
    full_name: str = Field(default=None, alias="full-name")  # type: ignore[assignment]
    cti_specific: dict[str, Any] = Field(default=None, alias="cti-specific")  # type: ignore[arg-type]


class PdAgentInfoResponse(_PdModel):
    """Bridge ``cti.response`` to ``cti.query.agentinfo`` (``SUCCESS``)."""

    header: PdAgentInfoHeader
    body: PdAgentInfoBody


class PdBridgeFailureHeader(_PdModel):
    type: Literal["cti.response"]
    result: Literal["FAILURE"]
    target: _PdTarget
    request_id: _PdGuid = Field(alias="requestId")
    name: BridgeRequestName
    error_message: str = Field(alias="errorMessage")


class PdBridgeFailureResponse(_PdModel):
    """Bridge ``FAILURE`` response to any query or request (free-form body)."""

    header: PdBridgeFailureHeader
    body: dict[str, Any]


def _pd_bridge_tag(value: Any) -> str | None:
    """The bridge's tag is nested (``header.type`` + ``header.result``): a callable discriminator.

    pydantic calls it with the parsed JSON object when validating and with the model when serialising.
    """
    if type(value) is dict:
        header = value.get("header")
        if type(header) is not dict:
            return None  # no header: no member of the union (pydantic reports the tag as not found)
        if header.get("type") == "cti.response" and header.get("result") == "FAILURE":
            return "failure"
        return "agentinfo"
    if isinstance(value, PdBridgeFailureResponse):
        return "failure"
    return "agentinfo" if isinstance(value, PdAgentInfoResponse) else None


PdBridgeMessage = Annotated[
    Annotated[PdAgentInfoResponse, Tag("agentinfo")] | Annotated[PdBridgeFailureResponse, Tag("failure")],
    Discriminator(_pd_bridge_tag),
]


class PdFailure(_PdModel):
    code: str
    message: str
    context: str = Field(default=None)  # type: ignore[assignment]


class PdProcessorFailureResponse(_PdModel):
    """Processor ``result: failure`` response, echoing its ``original`` request."""

    command: str
    result: Literal["failure"]
    failure: PdFailure
    original: dict[str, Any]


class PdTeamMember(_PdModel):
    member_id: str = Field(alias="memberId")
    member_type: MemberType = Field(alias="memberType")
    member_name: str = Field(alias="memberName")
    status: MemberStatus
    reason: str


class PdTeamWithMembers(_PdModel):
    team_id: str = Field(alias="teamId")
    team_name: str = Field(alias="teamName")
    members: list[PdTeamMember]


class PdTeamEventData(_PdModel):
    agent_id: str = Field(alias="agentId")
    team: PdTeamWithMembers


class PdTeamAddedEvent(_PdModel):
    """Processor ``report.teamstatus.teamadded`` event.

    The schema forbids a ``command`` member; the union's discriminator sends any object with one to the
    failure response (as ccproto's dispatch does), so an event never sees it.
    """

    name: Literal["report.teamstatus.teamadded"]
    data: PdTeamEventData


def _pd_processor_tag(value: Any) -> str | None:
    """No one top-level tag (``command``+``result`` or ``name``): a callable discriminator by member presence."""
    if type(value) is dict:
        if "command" in value:
            return "failure"
        return "teamadded" if "name" in value else None
    if isinstance(value, PdProcessorFailureResponse):
        return "failure"
    return "teamadded" if isinstance(value, PdTeamAddedEvent) else None


PdProcessorMessage = Annotated[
    Annotated[PdProcessorFailureResponse, Tag("failure")] | Annotated[PdTeamAddedEvent, Tag("teamadded")],
    Discriminator(_pd_processor_tag),
]


def _pd_reserved_free(details: dict[str, Any]) -> dict[str, Any]:
    _reserved_free(details)
    return details


class PdActionData(_PdModel):
    action: str = Field(pattern=ACTION_NAME)
    action_details: Annotated[dict[str, Any], pydantic.AfterValidator(_pd_reserved_free)]


class PdAction(_PdModel):
    """CCEB ``action``."""

    type: Literal["action"]
    uuid: _PdGuid
    data: PdActionData


class PdAck(_PdModel):
    """CCEB ``ack``."""

    type: Literal["ack"]
    uuid: _PdGuid


PdCcebMessage = Annotated[PdAction | PdAck, Field(discriminator="type")]

_PD_UNIONS: dict[str, Any] = {"bridge": PdBridgeMessage, "processor": PdProcessorMessage, "cceb": PdCcebMessage}


@functools.cache
def _pd_adapter(protocol: str) -> TypeAdapter[Any]:
    return TypeAdapter(_PD_UNIONS[protocol])


@functools.cache
def _pd_decoder(protocol: str) -> Callable[[str], object]:
    decode: Callable[[str], object] = _pd_adapter(protocol).validate_json
    return decode


@functools.cache
def _pd_encoder(protocol: str) -> Callable[[object], bytes | str]:
    return functools.partial(_pd_adapter(protocol).dump_json, by_alias=True, exclude_unset=True)


# == 3. msgspec ================================================================================================

# Structs ignore unknown members (accepted, as ccproto does, but not kept: they are not written back).
# Optional members that must not be null: ``T | UnsetType = UNSET`` (absent -> UNSET, not written; null ->
# rejected).  Patterns run on Python's ``re`` (``search``), so a final ``$`` becomes ``\Z`` (ecma_pattern).

_MsGuid = Annotated[str, Meta(pattern=ecma_pattern(GUID))]
_MsTarget = Annotated[str, Meta(pattern=ecma_pattern(CONTROL_TARGET))]


class MsAgentInfoHeader(Struct, frozen=True, rename="camel"):
    type: Literal["cti.response"]
    name: Literal["cti.query.agentinfo"]
    result: Literal["SUCCESS"]
    target: _MsTarget
    request_id: _MsGuid


class MsAgentInfoBody(Struct, frozen=True, rename="kebab"):
    switch_agent_id: str
    first_name: str | UnsetType = UNSET
    last_name: str | UnsetType = UNSET
    full_name: str | UnsetType = UNSET
    cti_specific: dict[str, Any] | UnsetType = UNSET


class MsAgentInfoResponse(Struct, frozen=True):
    """Bridge ``cti.response`` to ``cti.query.agentinfo`` (``SUCCESS``)."""

    header: MsAgentInfoHeader
    body: MsAgentInfoBody


class MsBridgeFailureHeader(Struct, frozen=True, rename="camel"):
    type: Literal["cti.response"]
    result: Literal["FAILURE"]
    target: _MsTarget
    request_id: _MsGuid
    name: BridgeRequestName
    error_message: str


class MsBridgeFailureResponse(Struct, frozen=True):
    """Bridge ``FAILURE`` response to any query or request (free-form body)."""

    header: MsBridgeFailureHeader
    body: dict[str, Any]


class MsFailure(Struct, frozen=True):
    code: str
    message: str
    context: str | UnsetType = UNSET


class MsProcessorFailureResponse(Struct, frozen=True):
    """Processor ``result: failure`` response, echoing its ``original`` request."""

    command: str
    result: Literal["failure"]
    failure: MsFailure
    original: dict[str, Any]


class MsTeamMember(Struct, frozen=True, rename="camel"):
    member_id: str
    member_type: MemberType
    member_name: str
    status: MemberStatus
    reason: str


class MsTeamWithMembers(Struct, frozen=True, rename="camel"):
    team_id: str
    team_name: str
    members: list[MsTeamMember]


class MsTeamEventData(Struct, frozen=True, rename="camel"):
    agent_id: str
    team: MsTeamWithMembers


class MsTeamAddedEvent(Struct, frozen=True):
    """Processor ``report.teamstatus.teamadded`` event (the dispatch never gives it an object with ``command``)."""

    name: Literal["report.teamstatus.teamadded"]
    data: MsTeamEventData


class MsActionData(Struct, frozen=True):
    action: Annotated[str, Meta(pattern=ecma_pattern(ACTION_NAME))]
    action_details: dict[str, Any]

    def __post_init__(self) -> None:
        # msgspec cannot forbid keys of a dict declaratively; __post_init__ runs on decode (ValueError ->
        # msgspec.ValidationError) and costs one set test.
        _reserved_free(self.action_details)


# CCEB: the protocol has a top-level tag, ``type``: a msgspec tagged union (one pass, msgspec dispatches).
class MsAction(Struct, frozen=True, tag_field="type", tag="action"):
    """CCEB ``action``."""

    uuid: _MsGuid
    data: MsActionData


class MsAck(Struct, frozen=True, tag_field="type", tag="ack"):
    """CCEB ``ack``."""

    uuid: _MsGuid


# Bridge and processor have no top-level tag, and msgspec refuses an untagged union of Structs.  Chosen: a
# probe.  Decode a small probe Struct first (the parser skips every other member without building it, and only
# the tag members are read), then decode the chosen type with its own Decoder, which words any error.  Measured
# against the alternatives (decode per call, us): msgspec.json.decode to builtins + pick + msgspec.convert(...,
# strict=True): agentinfo 2.6 vs 2.0, team10 4.9 vs 2.9, team50 19.0 vs 13.4 (building the dicts costs more
# than the skipping pass); a bridge header union tagged by ``result`` with a ``Raw`` body decoded afterwards:
# 2.0 vs 2.0, no faster and more machinery.  The probe costs one skipping pass (team50: 2.7 of 13.4 us).


class _MsBridgeHeaderProbe(Struct):
    type: Any = None
    result: Any = None


class _MsBridgeProbe(Struct):
    # Both union members require an object ``header``: the probe does too (rejects a missing one).
    header: _MsBridgeHeaderProbe


class _MsProcessorProbe(Struct):
    # Presence is all ccproto's dispatch asks (``command`` -> request/response, else ``name`` -> event):
    # ``Raw`` members are never parsed into values; an absent one is the empty ``Raw()``.
    command: Raw = Raw()
    name: Raw = Raw()


@functools.cache
def _ms_decoder(protocol: str) -> Callable[[str], object]:
    if protocol == "cceb":
        cceb: Callable[[str], object] = msgspec.json.Decoder(MsAction | MsAck).decode
        return cceb
    if protocol == "bridge":
        bridge_probe = msgspec.json.Decoder(_MsBridgeProbe).decode
        agentinfo = msgspec.json.Decoder(MsAgentInfoResponse).decode
        bridge_failure = msgspec.json.Decoder(MsBridgeFailureResponse).decode

        def decode_bridge(text: str) -> object:
            header = bridge_probe(text).header
            if header.result == "FAILURE" and header.type == "cti.response":
                return bridge_failure(text)
            return agentinfo(text)  # its decoder words what is wrong with anything else

        return decode_bridge
    if protocol == "processor":
        processor_probe = msgspec.json.Decoder(_MsProcessorProbe).decode
        processor_failure = msgspec.json.Decoder(MsProcessorFailureResponse).decode
        team_added = msgspec.json.Decoder(MsTeamAddedEvent).decode

        def decode_processor(text: str) -> object:
            probe = processor_probe(text)
            if probe.command:
                return processor_failure(text)
            if probe.name:
                return team_added(text)
            raise msgspec.ValidationError("Object missing required field `command` (a response) or `name` (an event)")

        return decode_processor
    raise KeyError(protocol)


@functools.cache
def _ms_encoder(protocol: str) -> Callable[[object], bytes | str]:
    if protocol not in _PD_UNIONS:
        raise KeyError(protocol)
    encode: Callable[[object], bytes] = msgspec.json.Encoder().encode
    return encode


# == the rivals ================================================================================================

RIVALS: tuple[Rival, ...] = (
    Rival("json + jsonschema", _js_decoder, _js_encoder),
    Rival("pydantic v2", _pd_decoder, _pd_encoder),
    Rival("msgspec", _ms_decoder, _ms_encoder),
)


def _ccproto() -> Rival:
    """ccproto itself, as a :class:`Rival` (imported on first use)."""
    from ccproto import bridge, cceb, processor

    codecs: dict[str, Any] = {"bridge": bridge, "processor": processor, "cceb": cceb}

    def decoder(protocol: str) -> Callable[[str], object]:
        decode: Callable[[str], object] = codecs[protocol].decode
        return decode

    def encoder(protocol: str) -> Callable[[object], bytes | str]:
        encode: Callable[[object], bytes | str] = codecs[protocol].encode
        return encode

    return Rival("ccproto", decoder, encoder)


# -- agreement -------------------------------------------------------------------------------------------------


def _same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values are equal, keys in any order (``1``, ``1.0`` and ``true`` all differ)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same_json(a[key], b[key]) for key in a)
    if type(a) is list:
        return len(a) == len(b) and all(map(_same_json, a, b))
    return bool(a == b)


def _messages() -> Any:
    """The benchmark's messages module (``bench/messages.py``, next to this file)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import messages

    return messages


def check_agreement() -> list[str]:
    """For every rival and every message in bench/messages.py: the valid text decodes, re-encodes to an
    equal JSON value (compare with json.loads, keys in any order), and every INVALID text is rejected.
    Also checks ccproto itself the same way.  Returns a list of human-readable disagreements (empty = all agree)."""
    from ccproto.core.errors import ProtocolError

    messages = _messages()
    # What counts as a rejection: the libraries' own errors (pydantic's and msgspec's are ValueErrors, as are
    # json's).  Anything else (a TypeError, a KeyError...) is a bug in a dispatch, reported as such.
    rejections = (ValueError, jsonschema.ValidationError, ProtocolError)
    problems: list[str] = []
    for rival in (_ccproto(), *RIVALS):
        for protocol in sorted(set(messages.PROTOCOL.values())):
            if rival.decoder(protocol) is not rival.decoder(protocol) or (
                rival.encoder(protocol) is not rival.encoder(protocol)
            ):
                problems.append(f"{rival.name}: {protocol}: the decoder/encoder is not built once")
        for name, text in messages.MESSAGES.items():
            protocol = messages.PROTOCOL[name]
            decode, encode = rival.decoder(protocol), rival.encoder(protocol)
            where = f"{rival.name}: {name}"
            try:
                decoded = decode(text)
            except Exception as exc:
                problems.append(f"{where}: the valid text is rejected: {type(exc).__name__}: {exc}")
            else:
                try:
                    written = encode(decoded)
                except Exception as exc:
                    problems.append(f"{where}: encoding the decoded message fails: {type(exc).__name__}: {exc}")
                else:
                    if not _same_json(json.loads(written), json.loads(text)):
                        problems.append(f"{where}: re-encodes to a different JSON value: {written!r}")
            for label, bad in messages.INVALID.get(name, {}).items():
                try:
                    decode(bad)
                except rejections:
                    continue
                except Exception as exc:
                    problems.append(f"{where}: {label!r} is rejected by an unexpected {type(exc).__name__}: {exc}")
                else:
                    problems.append(f"{where}: {label!r} is accepted")
    return problems


if __name__ == "__main__":
    found = check_agreement()
    print("\n".join(found) if found else "all agree")
    sys.exit(1 if found else 0)
