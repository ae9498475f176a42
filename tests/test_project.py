"""Project invariants: layering, generated artefacts up to date, README examples that run."""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

from ccproto.core.docgen import replace_section, schema_files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import generate  # tools/generate.py: the one list of published artefacts

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "ccproto"

#: Layer of each subpackage; a module may import only its own layer and lower ones (ARCHITECTURE.md).
LAYERS = {
    "core": 0, "bridge": 1, "processor": 1, "cceb": 1, "capture": 2, "transports": 2, "testing": 3, "cli": 4,
    "__main__": 4,
}
#: The I/O modules (ARCHITECTURE.md): real transports, the reference peers served on them, the command line.
IO_MODULES = ("transports/", "testing/live.py", "cli.py")
PROTOCOLS = {"bridge", "processor", "cceb"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _layer_of(module_path: Path) -> str:
    relative = module_path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_lower_layers_never_import_higher_ones(path: Path) -> None:
    own = _layer_of(path)
    if own == "__init__":
        return  # the package root imports nothing but its version
    for name in _imports(path):
        if not name.startswith("ccproto.") or name == "ccproto":
            continue
        target = name.split(".")[1]
        assert LAYERS[target] <= LAYERS[own], f"{path.relative_to(SRC)} ({own}) imports {name} ({target})"
        if own in PROTOCOLS and target in PROTOCOLS:
            assert target == own, f"protocol package {own} imports another protocol: {name}"


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_library_does_no_io_reads_no_clock_starts_no_thread(path: Path) -> None:
    banned = {"socket", "threading", "asyncio", "time", "selectors", "subprocess"}
    allowed_io = {"cli", "capture"}  # reading capture files and printing is their job
    imported = {name.split(".")[0] for name in _imports(path)}
    relative = path.relative_to(SRC).as_posix()
    if relative.startswith(IO_MODULES):
        # The I/O modules run event loops and read the clock, but start no thread or process either.
        banned = {"threading", "subprocess", "selectors"}
    assert not imported & banned, f"{path.relative_to(SRC)} imports {imported & banned}"
    if _layer_of(path) not in allowed_io:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?<![\w.])open\(|\.open\(", text), f"{path.relative_to(SRC)} opens files"


@pytest.mark.parametrize("protocol", sorted(generate.SCHEMAS))
def test_published_schemas_are_generated_from_the_models(protocol: str) -> None:
    folder = ROOT / "schemas" / protocol
    wanted = schema_files(generate.SCHEMAS[protocol])
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.schema.json")}
    assert on_disk == wanted, "schemas/ is stale: run `python3 tasks.py schemas`"


def test_every_protocol_publishes_schemas_and_docs() -> None:
    assert set(generate.SCHEMAS) == {"bridge", "processor", "cceb"}
    assert set(generate.DOCS) == {"docs/bridge.md", "docs/processor.md", "docs/cceb.md"}
    assert set(generate.DOCUMENTS) == {"cceb.asyncapi.yaml"}


@pytest.mark.parametrize("name", sorted(generate.DOCUMENTS))
def test_published_documents_are_generated(name: str) -> None:
    on_disk = (ROOT / "schemas" / name).read_text(encoding="utf-8")
    assert on_disk == generate.DOCUMENTS[name](), "schemas/ is stale: run `python3 tasks.py schemas`"


def test_asyncapi_document_reads_back_and_uses_the_published_schemas() -> None:
    import yaml  # an independent YAML parser: the emitter's output must mean what it was given

    document = yaml.safe_load((ROOT / "schemas" / "cceb.asyncapi.yaml").read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        published = json.loads((ROOT / "schemas" / "cceb" / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert schema == published
    messages = document["components"]["messages"]
    # The seed's 19 message ids: the two acks, hello, hello_reply, action and the 14 notifications.
    assert len(messages) == 19
    assert {"uuid_ack_action", "uuid_ack_response", "hello", "hello_reply", "action"} <= set(messages)
    for message in messages.values():
        ref = message["payload"]["schema"]["$ref"]
        assert ref.removeprefix("#/components/schemas/") in schemas
    for name, operation in document["operations"].items():
        target = operation["messages"][0]["$ref"].rsplit("/", 1)[1]
        assert target in document["channels"]["ws_v1"]["messages"], name
        assert operation["action"] in ("send", "receive")


@pytest.mark.parametrize("doc", sorted(generate.DOCS))
def test_docs_generated_sections_are_current(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    regenerated = text
    for name, make in generate.DOCS[doc].items():
        regenerated = replace_section(regenerated, name, make())
    assert regenerated == text, f"{doc} is stale: run `python3 tasks.py docs`"


@pytest.mark.parametrize(
    "doc", ["docs/processor.md", "docs/cceb.md", "docs/validate.md", "docs/testing.md", "docs/transports.md"]
)
def test_docs_python_examples_run(doc: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / doc).read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, doc, "exec"), {})


def test_replace_section_needs_the_markers() -> None:
    with pytest.raises(ValueError, match="no section"):
        replace_section("nothing here", "x", "y")


def test_readme_python_examples_run() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_readme_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^python3 tasks\.py (\w+)", section, re.MULTILINE)
    assert commands == ["demo", "test"]


def test_every_quirk_constant_is_documented() -> None:
    quirks = (ROOT / "docs" / "quirks.md").read_text(encoding="utf-8")
    for name in ("ALTERNATE_RESPONSE_HEADER_KEYS", "misspelled_name", "GUID_PATTERN", "CONTROL_TARGET_PATTERN",
                 "MEDIA_TYPE_PATTERN", "AGENT_NAME_MISSING", "PHASE_TRANSITIONS",
                 "trimmed_command", "COMMAND_WHITESPACE", "ServiceInformation", "EXCHANGE_TRANSITIONS",
                 "REPORT_TRANSITIONS", "message_class_for", "observe_invalid", "confirmable",
                 "envelope.py", "UUID_PATTERN", "SUPPORTED_ACTIONS", "RESERVED_ACTION_FIELDS", "CONTACT_ID_SUBSTITUTES",
                 "SESSION_LIFETIME", "AUTH_FAILURE_CLOSE_CODE", "OffHookState", "PROVISIONING_EVENT_TYPE",
                 "PROVISIONING_DELETION_IDS", "OFF_HOOK_TRANSITIONS", "PHONE_VALIDATION_TRANSITIONS",
                 "UNKNOWN_NOTIFICATION", "is_resumable", "CcebConnectionChecker", "read_bridge_streams",
                 "connection_name", "BINARY_FRAME", "looks_like_har", "CaptureValidator", "SUSPECT_NAME_PARTS",
                 "MAX_TRACKED_SESSIONS", "validate_message", "ANSWER_TIMEOUT", "demand_answers", "invalid_request",
                 "harness_settings", "RECONNECT_WAITS", "Capture", "open_bridge", "_peer_closed", "serve_peer",
                 "LiveCapture", "Recording", "LiveAdapter", "_live_settings", "_conformance_parser",
                 "loads_fast", "dumps_plain", "FAST_DEPTH_BOUND", "depth_bound", "PLAIN_DEPTH",
                 "DUPLICATE_KEY", "_unique_object", "allow_duplicate_keys", "_read_limits", "LONE_SURROGATE",
                 "_check_no_surrogates", "json_error", "_evict", "open_session", "get_timer",
                 "JOINED_PHASE_TRANSITIONS", "JOINED_TRANSITIONS", "_history_explains", "_sweep", "_FILE_SHIFT",
                 "_relocated", "no_repeated_key", "loads_object_fast", "opens_connection", "join"):
        assert name in quirks
