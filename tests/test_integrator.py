"""Issue 21's acceptance test: what a new integrator does, from the wheel, with nothing of this tree but the wheel.

The wheel is built and installed with ``ccproto[testing,websockets]`` into a new venv (offline: the dependencies
are this interpreter's packages, linked; see ``wheel_build``).  There, an integrator's pytest module
conformance-tests a live ``ccproto serve processor`` through the pytest plugin, with hypothesis's default
settings (no profile, no ``settings=``): a fixture starts the server, reads its ``listening on`` line, and
stops it with SIGINT.  And ``mypy --strict`` over an integrator's typed module catches a misspelled protocol
name on its line, while the correct module passes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wheel_build import build_wheel, new_venv, pip_install, run

INTEGRATOR_TESTS = '''\
"""Our Interaction Processor passes ccproto's conformance suite (here the server is ``ccproto serve``)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from ccproto.testing import LiveAdapter
from ccproto.testing.pytest_plugin import conformance_test

CCPROTO = os.path.join(os.path.dirname(sys.executable), "ccproto")


@pytest.fixture(scope="module")
def processor_url() -> Iterator[str]:
    server = subprocess.Popen([CCPROTO, "serve", "processor", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        for line in server.stdout:
            found = re.search(r"listening on (ws://\\S+)", line)
            if found:
                break
        else:
            pytest.fail("ccproto serve never said where it listens")
        yield found[1]  # its output is not read any further: a server must not stall on that
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) is not None


@pytest.fixture
def our_processor(processor_url: str) -> Callable[[], LiveAdapter]:
    return LiveAdapter.factory(processor_url)


test_our_processor = conformance_test("processor", "server", adapter="our_processor")
'''

TYPED = '''\
from ccproto.testing import LiveAdapter, run_conformance


def check(url: str) -> None:
    run_conformance("{protocol}", "server", LiveAdapter.factory(url))
'''


@pytest.fixture(scope="module")
def integrator_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv where ``ccproto[testing,websockets]`` was installed from the wheel, extras resolved by pip."""
    wheel = build_wheel(tmp_path_factory.mktemp("dist"))
    python = new_venv(tmp_path_factory.mktemp("venv"), tmp_path_factory.mktemp("dependencies"))
    # With its dependencies, as an integrator installs it: pip finds them installed (the links), so from no index.
    pip_install(python, f"ccproto[testing,websockets] @ {wheel.as_uri()}", no_deps=False)
    return python


def test_the_extras_are_installed_from_the_wheel(integrator_python: Path, tmp_path: Path) -> None:
    code = (
        "import importlib.metadata as m, ccproto, hypothesis, websockets;"
        " print(ccproto.__file__); print(sorted(m.distribution('ccproto').metadata.get_all('Provides-Extra')))"
    )
    result = run(integrator_python, "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    module, extras = result.stdout.splitlines()[-2:]
    assert module.startswith(str(integrator_python.parents[1])), module  # the wheel's, not src/
    assert "'testing'" in extras, extras
    assert "'websockets'" in extras, extras


def test_an_integrator_conformance_tests_a_live_server_with_default_settings(
    integrator_python: Path, tmp_path: Path
) -> None:
    (tmp_path / "test_our_processor.py").write_text(INTEGRATOR_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # theirs: nothing of ours (no profile, no settings)
    result = run(integrator_python, "-m", "pytest", "-p", "no:cacheprovider", "-v", cwd=tmp_path, timeout=1200)
    assert result.returncode == 0, result.stdout
    assert re.search(r"test_our_processor\.py::test_our_processor PASSED", result.stdout), result.stdout
    # A conformance run writes no example database (hypothesis may still cache other things under .hypothesis/).
    assert not (tmp_path / ".hypothesis" / "examples").exists()


def test_mypy_catches_a_misspelled_protocol_in_an_integrators_module(
    integrator_python: Path, tmp_path: Path
) -> None:
    (tmp_path / "misspelled.py").write_text(TYPED.format(protocol="procesor"))
    (tmp_path / "correct.py").write_text(TYPED.format(protocol="processor"))
    mypy = ("-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(tmp_path / ".mypy_cache"))
    wrong = run(integrator_python, *mypy, "misspelled.py", cwd=tmp_path, timeout=600)
    assert wrong.returncode == 1, wrong.stdout
    assert wrong.stdout.startswith('misspelled.py:5: error: Argument 1 to "run_conformance" has incompatible type'
                                   ' "Literal[\'procesor\']"'), wrong.stdout
    assert len(wrong.stdout.splitlines()) == 1, wrong.stdout  # nothing else: ccproto's own types are complete
    right = run(integrator_python, *mypy, "correct.py", cwd=tmp_path, timeout=600)
    assert right.returncode == 0, right.stdout


#: Subprocesses, sockets or long runs: in the full run only (tests/conftest.py).
pytestmark = pytest.mark.slow
