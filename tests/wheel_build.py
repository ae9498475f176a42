"""Building this tree's wheel offline and installing it in a new virtual environment (test_wheel, test_integrator).

The wheel is built with the build backend ``[build-system]`` names (hatchling's PEP 517 hook, no network, no
build isolation) and installed with pip into a new venv that has no view of ``src/``.  The dependencies are
links to this interpreter's packages (a ``.pth`` file naming a directory of symlinks), so nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def clean_env() -> dict[str, str]:
    """This environment without what would put the tree or other plugins on the new interpreter's path."""
    env = dict(os.environ)
    for name in (
        "PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
        "COVERAGE_PROCESS_START", "VIRTUAL_ENV", "MYPYPATH", "HYPOTHESIS_NO_PLUGINS",
    ):
        env.pop(name, None)
    env["COLUMNS"] = "200"
    return env


def build_wheel(out: Path) -> Path:
    """The wheel of this tree, built into ``out``."""
    result = subprocess.run(
        [sys.executable, "-c", "import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    return out / result.stdout.split()[-1]


def new_venv(home: Path, dependencies: Path) -> Path:
    """A new venv at ``home`` whose dependencies are this interpreter's packages (linked into ``dependencies``).

    Left out: the editable install of ccproto (its metadata would declare the entry points whatever the wheel
    holds) and the .pth files (one of them names src/).  Returns the venv's python.
    """
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / ("Scripts" if os.name == "nt" else "bin") / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, timeout=30, check=True, env=clean_env(),
    ).stdout.strip()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.suffix != ".pth" and not entry.name.startswith(("ccproto", "_editable_impl_ccproto", "__editable")):
            (dependencies / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (Path(purelib) / "zz_ccproto_test_dependencies.pth").write_text(f"{dependencies}\n")
    return python


def pip_install(python: Path, *requirements: str, no_deps: bool = True) -> None:
    """Install ``requirements`` with this interpreter's pip into ``python``'s environment, from no index."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", *(["--no-deps"] if no_deps else []),
         "--no-index", "--quiet", "--disable-pip-version-check", *requirements],
        capture_output=True, text=True, timeout=120, check=False, env=clean_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def run(python: Path, *args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` in ``cwd`` (output merged into stdout)."""
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=timeout, check=False,
    )
