"""Project invariants: layering, generated artefacts up to date, tasks.py's installs (the docs: test_docs.py)."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccproto.core.docgen import replace_section, schema_files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import generate  # tools/generate.py: the one list of published artefacts

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "ccproto"

#: Layer of each subpackage; a module may import only its own layer and lower ones (ARCHITECTURE.md).
LAYERS = {
    "core": 0, "transports": 1, "bridge": 2, "processor": 2, "cceb": 2, "cct": 2, "protocols": 3, "capture": 4,
    "testing": 5,
    "cli": 6, "__main__": 6,
}
#: The I/O modules (ARCHITECTURE.md): real transports, the reference peers served on them, the command line.
IO_MODULES = (
    "transports/", "bridge/tcp.py", "processor/ws.py", "cceb/ws.py", "testing/live.py", "cli.py", "capture/cluster.py",
)
PROTOCOLS = {"bridge", "processor", "cceb", "cct"}


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


#: Dask and what it brings (the ``dask`` extra): one module imports them.
DASK_MODULES = {"dask", "distributed", "fsspec"}


def test_only_the_cluster_module_imports_dask() -> None:
    importers = {path.relative_to(SRC).as_posix() for path in SRC.rglob("*.py")
                 if {name.split(".")[0] for name in _imports(path)} & DASK_MODULES}
    assert importers == {"capture/cluster.py"}


def test_importing_the_capture_layer_does_not_import_dask() -> None:
    code = ("import sys, ccproto.capture, ccproto.capture.validator, ccproto.cli\n"
            "assert not {'dask', 'distributed', 'fsspec', 'ccproto.capture.cluster'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("protocol", sorted(generate.SCHEMAS))
def test_published_schemas_are_generated_from_the_models(protocol: str) -> None:
    folder = ROOT / "schemas" / protocol
    wanted = schema_files(generate.SCHEMAS[protocol])
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.schema.json")}
    assert on_disk == wanted, "schemas/ is stale: run `python3 tasks.py schemas`"


def test_every_protocol_publishes_schemas_and_docs() -> None:
    assert set(generate.SCHEMAS) == {"bridge", "processor", "cceb"}
    assert set(generate.DOCS) == {"docs/bridge.md", "docs/processor.md", "docs/cceb.md", "docs/cct.md"}
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


def test_replace_section_needs_the_markers() -> None:
    with pytest.raises(ValueError, match="no section"):
        replace_section("nothing here", "x", "y")


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


def _tasks() -> Any:
    spec = importlib.util.spec_from_file_location("ccproto_tasks", ROOT / "tasks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """tasks.py with its venv in tmp_path and `run` recording the commands instead of running them."""
    module = _tasks()
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text("")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "constraints.txt").write_text("attrs==1\n")
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "PY", python)
    monkeypatch.setattr(module, "BIN", python.parent)
    monkeypatch.setattr(module, "STAMP", tmp_path / "stamp")
    monkeypatch.setattr(module, "CONSTRAINTS", tmp_path / "constraints.txt")
    module.commands = []
    monkeypatch.setattr(module, "run", lambda *args, check=True: module.commands.append([str(a) for a in args]) or 0)
    return module


def _installed(tasks: Any) -> list[str]:
    """The pip targets `setup` installed since the last call (`.`, `.[dev]`, ...)."""
    targets = [command[-1] for command in tasks.commands if "pip" in command]
    tasks.commands.clear()
    return targets


def test_demo_installs_ccproto_alone_and_test_the_dev_extra(tasks: Any) -> None:
    tasks.demo()
    assert sum(command[0].endswith("ccproto") for command in tasks.commands) == len(tasks.SAMPLES)  # then validates
    assert _installed(tasks) == ["."]
    tasks.setup("dev")
    assert _installed(tasks) == [".[dev]"]


@pytest.mark.parametrize(
    ("steps", "installs"),
    [
        (["", ""], ["."]),                        # demo twice: installed once
        (["dev", ""], [".[dev]"]),                # demo after test: dev holds everything demo needs
        (["", "dev", "", "dev"], [".", ".[dev]"]),
        (["dev,bench", "dev", ""], [".[bench,dev]"]),
        (["dev", "dev,fuzz", "dev,bench", "dev,fuzz"], [".[dev]", ".[dev,fuzz]", ".[bench,dev]"]),
    ],
)
def test_setup_installs_only_what_is_missing(tasks: Any, steps: list[str], installs: list[str]) -> None:
    for extras in steps:
        tasks.setup(extras)
    assert _installed(tasks) == installs


def test_setup_installs_again_when_the_pins_change(tasks: Any) -> None:
    tasks.setup("dev")
    (tasks.ROOT / "constraints.txt").write_text("attrs==2\n")
    tasks.setup("")
    assert _installed(tasks) == [".[dev]", "."]
    tasks.setup("dev")  # the new pins were installed without the dev extra
    assert _installed(tasks) == [".[dev]"]


def test_setup_reads_an_older_stamp_as_nothing_installed(tasks: Any) -> None:
    tasks.STAMP.write_bytes(b"the raw inputs an older tasks.py wrote")
    tasks.setup("")
    assert _installed(tasks) == ["."]


# ---- hand-written parts replaced by the standard library (issue 21) ------------------------------------------

_CREATE = "cti.request.createsession"


@pytest.mark.parametrize(
    ("name", "known", "meant"),
    [
        ("cti.request. createsession", ("cti.request.dispose", _CREATE), _CREATE),
        ("cti.request.createsesion", ("cti.request.dispose", _CREATE), _CREATE),  # a typo: not found before
        ("cti.request.reboot", ("cti.request.dispose", "cti.request.serverstatus"), None),  # a shared prefix only
        ("getCapabilites", ("getCapabilities", "prepareSession"), "getCapabilities"),
        ("presense", ("presence", "provisioning"), "presence"),
        ("BlindTransfer", ("BlindTransferEvent", "CancelTransferEvent"), "BlindTransferEvent"),
        ("acme.reboot", ("getCapabilities", "report.calljourney"), None),
        ("", ("a",), None),
    ],
)
def test_similar_name_suggests_typos_as_well(name: str, known: tuple[str, ...], meant: str | None) -> None:
    from ccproto.core.decoding import similar_name

    assert similar_name(name, known) == meant
    assert similar_name(name, iter(known)) == meant  # any iterable, read once


@given(st.lists(st.text("abcdefgh._", min_size=1, max_size=12), min_size=1, max_size=8, unique=True), st.data())
def test_similar_name_prefers_the_same_name_in_other_case_or_spacing(known: list[str], data: st.DataObject) -> None:
    from ccproto.core.decoding import similar_name

    target = data.draw(st.sampled_from(known))
    assert similar_name(target, known) == target
    spaced = " " + target.upper().replace(".", " .") + "\t"
    meant = similar_name(spaced, known)
    assert meant is not None
    assert "".join(meant.split()).lower() == "".join(spaced.split()).lower()


#: Run ``python -m ccproto`` with only the packages of an install without extras importable (tasks.py demo).
_WITHOUT_EXTRAS = """
import importlib.abc, runpy, sys
EXTRAS = {"hypothesis", "orjson", "websockets", "yaml", "trustme", "pytest", "hypothesis_jsonschema", "regress"}
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in EXTRAS:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Missing())
sys.argv = ["ccproto", *sys.argv[1:]]
runpy.run_module("ccproto", run_name="__main__")
"""


def test_demo_needs_no_extra(tasks: Any) -> None:
    """What `demo` installs (ccproto alone) is enough: every sample gives its status with no extra importable."""
    import subprocess

    for sample, expected in tasks.SAMPLES.items():
        done = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRAS, "validate", *sample], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        assert done.returncode == expected, (sample, done.stderr)
        assert "Traceback" not in done.stderr
    blocked = _WITHOUT_EXTRAS.replace('runpy.run_module("ccproto", run_name="__main__")', "import orjson")
    broken = subprocess.run([sys.executable, "-c", blocked], cwd=ROOT, capture_output=True, text=True, check=False)
    assert "ModuleNotFoundError: No module named 'orjson'" in broken.stderr  # the blocker works


# -- one protocol, one place (issue 23) -----------------------------------------------------------------------------

#: Modules outside a protocol's package and testing slice that still name protocols, each with why.  The goal is an
#: empty table: a new protocol then touches no module here.
NAMES_PROTOCOLS_YET = {
    # The registry: one line per built-in protocol is the point.
    "protocols.py": "the registry",
    # Per-protocol modules of the layers above, named after their protocol (issue 23 goes on: into the slices).
}
_PROTOCOL_LITERALS = {"bridge", "processor", "cceb", "cct"}


def _names_a_protocol(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in _PROTOCOL_LITERALS:
            return True
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if len(parts) > 1 and parts[0] == "ccproto" and parts[1] in _PROTOCOL_LITERALS:
                return True
        if isinstance(node, ast.Import) and any(
            alias.name.split(".")[1:2] and alias.name.split(".")[1] in _PROTOCOL_LITERALS
            for alias in node.names if alias.name.startswith("ccproto.")
        ):
            return True
    return False


def _own(relative: str) -> bool:
    """A module of a protocol's package or of a protocol's testing slice."""
    first = relative.split("/")[0]
    in_slice = relative.startswith("testing/slices/") and relative != "testing/slices/__init__.py"
    return first in _PROTOCOL_LITERALS or in_slice


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_outside_a_protocol_names_one(path: Path) -> None:
    relative = path.relative_to(SRC).as_posix()
    if _own(relative):
        return
    names = _names_a_protocol(path)
    if relative in NAMES_PROTOCOLS_YET:
        assert names, f"{relative} names no protocol any more: remove it from NAMES_PROTOCOLS_YET"
    else:
        assert not names, (
            f"{relative} names a protocol (a string 'bridge'/'processor'/'cceb' or an import of a protocol package): "
            "look it up in ccproto.protocols or move it into the protocol's package or testing slice"
        )


def test_the_protocol_name_literal_lists_the_built_in_protocols() -> None:
    # The one Literal type checkers see is written beside the registry's own list: they must not drift apart.
    from typing import get_args

    from ccproto.protocols import BUILT_IN, ProtocolName

    assert get_args(ProtocolName) == BUILT_IN
