"""The wheel an integrator installs: what it holds, and that it works installed on its own.

The rest of the suite runs against the editable install, which reads ``src/``
and the repository's ``schemas/``.  These tests build the wheel offline with the
build backend ``[build-system]`` names, check its contents against the tree, then
install it with pip into a new virtual environment that has no view of ``src/``
and run there what an integrator runs: the console script, and the example
conformance module with the pytest plugin loaded through the wheel's own entry
point.  The dependencies (attrs, cattrs, jsonschema, hypothesis, pytest) are
links to this interpreter's packages, so nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from wheel_build import build_wheel, clean_env, new_venv, pip_install, run

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "ccproto"
SCHEMAS = ROOT / "schemas"
EXAMPLE = ROOT / "examples" / "conformance" / "test_reference_peers.py"
SAMPLE = ROOT / "examples" / "captures" / "cceb-clean.jsonl"


def _env() -> dict[str, str]:
    return clean_env()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this tree, built by hatchling's PEP 517 hook (no network, no build isolation)."""
    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with the wheel installed by pip and this interpreter's packages as its dependencies."""
    python = new_venv(tmp_path_factory.mktemp("venv"), tmp_path_factory.mktemp("dependencies"))
    pip_install(python, str(wheel))
    return python


# -- what the wheel holds ------------------------------------------------------------------------------


def test_the_wheel_ships_every_module_of_the_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in SRC.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                name = "ccproto/" + path.relative_to(SRC).as_posix()
                assert name in names, name
                assert archive.read(name) == path.read_bytes(), name
    assert "ccproto/py.typed" in names
    # Nothing else: no tests, benchmarks, fuzzers or tools.
    assert {name.split("/")[0] for name in names} == {"ccproto", wheel.name.split("-py3")[0] + ".dist-info"}


def test_the_wheel_ships_the_published_schemas_as_they_are(wheel: Path) -> None:
    shipped = 0
    with zipfile.ZipFile(wheel) as archive:
        for path in SCHEMAS.rglob("*"):
            if path.is_file():
                name = "ccproto/schemas/" + path.relative_to(SCHEMAS).as_posix()
                assert archive.read(name) == path.read_bytes(), name
                shipped += 1
        assert shipped == len([n for n in archive.namelist() if n.startswith("ccproto/schemas/")])
    assert shipped > 50


def test_the_wheel_declares_the_entry_points_and_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        info = wheel.name.split("-py3")[0] + ".dist-info"
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
    assert "[pytest11]\nccproto = ccproto.testing.pytest_plugin" in entry_points
    assert "[console_scripts]\nccproto = ccproto.cli:main" in entry_points
    assert "[hypothesis]\n_ = ccproto.testing._hypothesis:_hypothesis_setup_hook" in entry_points
    requires = re.findall(r"^Requires-Dist: (.*)$", metadata, re.MULTILINE)
    unconditional = {re.split(r"[<>=; ]", r)[0] for r in requires if "extra ==" not in r}
    assert unconditional == {"attrs", "cattrs", "jsonschema"}
    assert any(r.startswith("hypothesis") and "extra == 'testing'" in r for r in requires), requires


# -- the wheel installed on its own ---------------------------------------------------------------------


def test_the_installed_wheel_is_what_imports(installed: Path, tmp_path: Path) -> None:
    """``ccproto`` and its distribution come from the new venv, not from ``src/``."""
    code = (
        "import importlib.metadata as m, ccproto, sys;"
        " print(ccproto.__file__); print(m.distribution('ccproto').locate_file('ccproto'));"
        " print(any(p.rstrip('/').endswith('/src') for p in sys.path))"
    )
    result = run(installed, "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    module, distribution, src_on_path = result.stdout.split()
    home = str(installed.parents[1])
    assert module.startswith(home), module
    assert distribution.startswith(home), distribution
    assert src_on_path == "False"


def test_the_installed_console_script_validates_a_capture(installed: Path, tmp_path: Path) -> None:
    script = installed.parent / ("ccproto.exe" if os.name == "nt" else "ccproto")
    clean = subprocess.run(
        [str(script), "validate", str(SAMPLE)], cwd=tmp_path, env=_env(), capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    faulty = subprocess.run(
        [str(script), "validate", str(SAMPLE.with_name("cceb-faulty.jsonl"))], cwd=tmp_path, env=_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert faulty.returncode == 1, faulty.stdout + faulty.stderr


def test_the_example_conformance_module_passes_with_the_plugin_from_the_wheel(
    installed: Path, tmp_path: Path
) -> None:
    """An integrator's test directory: the example module, a profile in their conftest, no ``-p`` flag."""
    shutil.copy(EXAMPLE, tmp_path / "test_reference_peers.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(
        "from hypothesis import settings\n\nsettings.register_profile('few', max_examples=3, database=None)\n"
    )
    result = run(
        installed, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--trace-config", "--hypothesis-profile=few",
        cwd=tmp_path, timeout=180,
    )
    assert result.returncode == 0, result.stdout
    registered = re.search(r"PLUGIN registered: <module 'ccproto\.testing\.pytest_plugin' from '([^']+)'>",
                           result.stdout)
    assert registered is not None, result.stdout
    assert registered[1].startswith(str(installed.parents[1])), registered[1]
    assert len(re.findall(r"::test_\w+ PASSED", result.stdout)) == 6, result.stdout


#: Subprocesses, sockets or long runs: in the full run only (tests/conftest.py).
pytestmark = pytest.mark.slow
