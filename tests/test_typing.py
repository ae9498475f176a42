"""What type checkers and readers see: lazy names typed, protocol and role names checked, docstrings true.

The mypy tests run ``python -m mypy --strict`` in a subprocess on small modules written as an integrator
would write them: the misuses must be errors on exactly the lines marked ``# error``, the correct uses none.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ccproto
import ccproto.testing
from ccproto.bridge import models as bridge_models
from ccproto.cceb import models as cceb_models
from ccproto.core.model import Model, model_spec
from ccproto.processor import models as processor_models

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "ccproto"


# -- the lazy names and their TYPE_CHECKING twins ------------------------------------------------------------


def _type_checking_imports(path: Path) -> dict[str, str]:
    """``name -> module`` of every ``from MODULE import NAME as NAME`` under ``if TYPE_CHECKING:`` in ``path``."""
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.dump(statement)
                for alias in statement.names:
                    # `as` the same name: an explicit re-export under mypy --strict (no implicit re-export).
                    assert alias.asname == alias.name, alias.name
                    assert statement.module is not None
                    found[alias.name] = statement.module
    return found


def test_every_lazy_name_of_ccproto_testing_is_re_exported_for_type_checkers() -> None:
    imports = _type_checking_imports(SRC / "testing" / "__init__.py")
    assert imports == ccproto.testing._EXPORTS


def test_every_lazy_name_of_ccproto_is_re_exported_for_type_checkers() -> None:
    imports = _type_checking_imports(SRC / "__init__.py")
    assert set(imports) == ccproto._LAZY
    assert set(imports.values()) == {"ccproto.capture.validator"}  # where __getattr__ loads them from


def test_the_lazy_names_still_load_on_first_use() -> None:
    code = (
        "import sys, ccproto, ccproto.testing;"
        " assert 'ccproto.capture.validator' not in sys.modules;"
        " assert 'ccproto.testing.conformance' not in sys.modules;"
        " ccproto.validate_capture; ccproto.testing.run_conformance;"
        " assert 'ccproto.capture.validator' in sys.modules and 'ccproto.testing.conformance' in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


# -- mypy --strict on an integrator's module --------------------------------------------------------------------

MISUSES = '''\
from ccproto import validate_capture
from ccproto.bridge import ControlChannel
from ccproto.cceb import Ack
from ccproto.testing import PeerAdapter, machine_for, reference_peer, run_conformance
from ccproto.transports import Expired, MessageStream


def make() -> PeerAdapter:
    return PeerAdapter(reference_peer("cceb", "server"))


run_conformance("cebb", "server", make)  # error: misspelled protocol
run_conformance("cceb", "sever", make)  # error: misspelled role
run_conformance("cceb", "server", 42)  # error: not an adapter factory
machine_for("processer", "client", make)  # error: misspelled protocol
reference_peer("bridge", "servers")  # error: misspelled role
validate_capture(42)  # error: not a capture


async def talk(stream: MessageStream[ControlChannel]) -> int:
    await stream.send(Ack(uuid="00000000-0000-0000-0000-000000000000"))  # error: a CCEB message on a bridge
    event = await stream.receive()
    if event is None or isinstance(event, Expired):
        return 0
    return event  # error: a bridge message, not Any


from ccproto.testing.pytest_plugin import conformance_test  # noqa: E402

test_cceb = conformance_test("ceeb", "server")  # error: misspelled protocol
test_processor = conformance_test("processor", "clients")  # error: misspelled role
'''

CORRECT = '''\
from pathlib import Path

from ccproto import validate_capture
from ccproto.bridge import BridgeMessage, ControlChannel, ServerStatusRequest
from ccproto.core.roles import Role
from ccproto.testing import PeerAdapter, machine_for, reference_peer, run_conformance
from ccproto.testing.pytest_plugin import conformance_test
from ccproto.transports import Expired, MessageStream


def make() -> PeerAdapter:
    return PeerAdapter(reference_peer("cceb", "server"))


def check() -> None:
    run_conformance("cceb", "server", make)
    run_conformance("processor", Role.CLIENT, make)
    machine_for("bridge", "client", make)
    conformance_test("cceb", "server", adapter="my_adapter")
    print(validate_capture(Path("capture.jsonl")).findings)


async def talk(stream: MessageStream[ControlChannel]) -> BridgeMessage | None:
    await stream.send(ServerStatusRequest(target="Acme1.CONTROL", request_id="00000000-0000-0000-0000-000000000001"))
    event = await stream.receive()
    if event is None or isinstance(event, Expired):
        return None
    return event
'''


def run_mypy(*paths: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` on ``paths`` as an integrator runs it (no config of ours: ``cwd`` holds none)."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--show-error-codes",
         "--cache-dir", str(cwd / ".mypy_cache"), *map(str, paths)],
        cwd=cwd, capture_output=True, text=True, timeout=600, check=False,
    )


def error_lines(output: str, name: str) -> set[int]:
    """The line numbers of ``name``'s errors in mypy's output (notes left out)."""
    return {int(line) for line in re.findall(rf"^{re.escape(name)}:(\d+): error:", output, re.MULTILINE)}


def marked_lines(source: str) -> set[int]:
    return {number for number, line in enumerate(source.splitlines(), 1) if "# error" in line}


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One mypy run over both modules (it analyses ccproto once; each module's errors are told apart by name)."""
    home = tmp_path_factory.mktemp("typed")
    (home / "misuses.py").write_text(MISUSES)
    (home / "correct.py").write_text(CORRECT)
    return run_mypy(home / "misuses.py", home / "correct.py", cwd=home), home


def test_mypy_finds_every_misuse_on_its_line(mypy_output: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, _ = mypy_output
    assert result.returncode == 1, result.stdout + result.stderr
    assert error_lines(result.stdout, "misuses.py") == marked_lines(MISUSES), result.stdout


def test_mypy_names_the_misspelled_literal(mypy_output: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, _ = mypy_output
    expected = 'misuses.py:12: error: Argument 1 to "run_conformance" has incompatible type "Literal[\'cebb\']"'
    assert expected in result.stdout, result.stdout


def test_mypy_accepts_the_correct_module(mypy_output: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, _ = mypy_output
    assert error_lines(result.stdout, "correct.py") == set(), result.stdout


# -- docstrings name attributes that exist ---------------------------------------------------------------------

_NAMED = re.compile(r"``(\.?)([A-Za-z_][A-Za-z_0-9]*)``")
# A wire member is written as one: "the ``type`` member", "``name``, ``target`` and ``requestId`` members".
_FOLLOWED_BY_MEMBER = re.compile(r"(?:\s*(?:,|and|or)?\s*``[^`]+``)*\s+(?:member|members|object)\b")

MESSAGE_CLASSES = [
    cls
    for module in (bridge_models, processor_models, cceb_models)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Model) and cls.__module__ == module.__name__
]


def _wire_names(cls: type[Model]) -> set[str]:
    """Every member name on the wire of ``cls`` and of its subclasses (a base's docstring speaks for them)."""
    names: set[str] = set()
    stack: list[type[Any]] = [cls]
    while stack:
        klass = stack.pop()
        spec = model_spec(klass)
        for field in spec.fields:
            names.update(field.wire.path)
        for key in spec.consts:
            names.update(key)
        for path in getattr(klass, "WIRE_OBJECTS", ()):
            names.update(path)
        stack.extend(klass.__subclasses__())
    return names


def docstring_problems(cls: type[Any], wire_names: set[str]) -> list[str]:
    """What the docstring of ``cls`` says wrongly about its attributes.

    ``.name`` must be an attribute; a bare ``name`` that is a wire member but no attribute must be called a
    member (it reads as an attribute otherwise: "a ``type`` and a ``uuid``" sent readers to ``.type``).
    """
    doc = cls.__doc__ or ""
    problems = []
    for found in _NAMED.finditer(doc):
        dot, name = found.groups()
        if hasattr(cls, name):
            continue
        if dot:
            problems.append(f"{cls.__qualname__}: ``.{name}`` is no attribute")
        elif name in wire_names and not _FOLLOWED_BY_MEMBER.match(doc, found.end()):
            problems.append(f"{cls.__qualname__}: ``{name}`` is a wire member, not an attribute: say 'member'")
    return problems


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: f"{cls.__module__.split('.')[1]}.{cls.__name__}")
def test_message_docstrings_name_only_attributes_that_exist(cls: type[Model]) -> None:
    assert docstring_problems(cls, _wire_names(cls)) == []


def test_the_docstring_check_catches_the_reported_mistake() -> None:
    """The docstring the issue reported: ``Presence(...).type`` raised ``AttributeError``."""

    class Reported:  # the attributes of a CCEB message: ``uuid`` and ``message_type``, no ``type``
        """Base of every CCEB message: a ``type`` and a ``uuid``."""

        uuid = ""
        message_type = ""

    assert docstring_problems(Reported, _wire_names(cceb_models.CcebMessage)) == [
        "test_the_docstring_check_catches_the_reported_mistake.<locals>.Reported: ``type`` is a wire member, not an"
        " attribute: say 'member'"
    ]

    class Dotted:
        """Read ``.type``."""

    assert docstring_problems(Dotted, set()) == [
        "test_the_docstring_check_catches_the_reported_mistake.<locals>.Dotted: ``.type`` is no attribute"
    ]


# -- st.from_type knows the messages as soon as hypothesis is imported (its entry point) ------------------------


def _python(code: str) -> subprocess.CompletedProcess[str]:
    # -W: .example() warns that it is meant for interactive use, which is what these lines stand for.
    return subprocess.run(
        [sys.executable, "-W", "ignore::UserWarning", "-c", code], capture_output=True, text=True, timeout=120,
        check=False,
    )


def test_from_type_works_without_importing_ccproto_testing() -> None:
    result = _python(
        "import sys\n"
        "from hypothesis import strategies as st\n"
        "from ccproto import bridge, cceb, processor\n"
        "assert 'ccproto.testing.strategies' not in sys.modules  # the hook defers the costly module\n"
        "hello = st.from_type(cceb.Hello).example()\n"
        "assert isinstance(hello, cceb.Hello), hello\n"
        "assert isinstance(st.from_type(cceb.CcebMessage).example(), cceb.CcebMessage)\n"
        "assert isinstance(st.from_type(bridge.BridgeMessage).example(), bridge.BridgeMessage)\n"
        "assert isinstance(st.from_type(processor.ProcessorMessage).example(), processor.ProcessorMessage)\n"
        # The package ccproto.testing (its lazy __init__) holds the hook; the strategies are the generic module and
        # each protocol's, found through its slice (which names its peers); nothing else of it is loaded.
        "loaded = {name for name in sys.modules if name.startswith('ccproto.testing.')}\n"
        "slices = {f'ccproto.testing.slices.{p}{m}' for p in ('bridge', 'processor', 'cceb')\n"
        "          for m in ('', '.peers', '.strategies')}\n"
        "slices |= {'ccproto.testing.slices.cct', 'ccproto.testing.slices.cct.strategies'}  # no peers\n"
        "assert loaded == {'ccproto.testing._hypothesis', 'ccproto.testing.strategies', 'ccproto.testing.slices',\n"
        "                  'ccproto.testing.peers', 'ccproto.testing.peers.base', *slices}, loaded\n"
    )
    assert result.returncode == 0, result.stderr


def test_the_entry_point_is_installed() -> None:
    import importlib.metadata

    hooks = [entry for entry in importlib.metadata.entry_points(group="hypothesis") if entry.dist is not None
             and entry.dist.name == "ccproto"]
    assert [entry.value for entry in hooks] == ["ccproto.testing._hypothesis:_hypothesis_setup_hook"]


def test_the_hook_registers_exactly_what_the_strategies_module_registers() -> None:
    from ccproto.testing import _hypothesis, strategies

    assert set(_hypothesis.registered_types()) == set(strategies.TYPE_STRATEGIES)


def test_the_hook_never_breaks_importing_hypothesis() -> None:
    # A broken installation: the models cannot be imported.  Hypothesis must still import, without strategies.
    result = _python(
        "import sys\n"
        "sys.modules['ccproto.cceb.models'] = None  # importing it raises ImportError\n"
        "from hypothesis import strategies as st\n"
        "from ccproto.testing._hypothesis import _hypothesis_setup_hook\n"
        "_hypothesis_setup_hook()\n"
        "print('imported')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"
