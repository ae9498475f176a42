"""The docs say what the code does: README.md and docs/*.md are checked against the checkout they describe.

The conventions, which a doc follows to be checked (issue 21):

- Every ```python block runs, each in a fresh namespace, from the repository's root, unless the line just before
  it is ``<!-- not run: REASON -->``.
- In a python block, a trailing comment ``# -> SHOWN`` on an expression statement is checked: on a ``print(...)``
  line SHOWN is the line printed, on any other expression the value's ``repr``. ``...`` in SHOWN stands for any
  text. A trailing comment on an expression statement that reads as a Python literal without the ``->`` is an
  error: it looks like output and would go unchecked.
- In a ```console block, a line ``$ ccproto ARGS`` whose arguments name files, all of them existing files under
  ``examples/``, is run (``python -m ccproto ARGS``, the output read from standard output); it must not be a usage
  error (exit status 2), and the lines shown after it (up to the next ``$`` line) must be its output, line by line:
  a line ``...`` stands for any number of lines, ``(...)`` within a line for any text in parentheses.
- A path to a file of this repository (in backticks, starting with one of its top folders or ``../``) names a
  file or folder that exists; a glob matches one; ``<placeholder>`` parts are not checked. No doc cites a seed
  file (``NNN_<16 hex digits>.txt``): the seeds are not distributed, so the docs cite them by title.
- No ``pip install`` names ``ccproto`` (it is not published): it installs ``.`` (editable or not), a path or a
  built wheel of this version; other requirements (``pytest``) are published packages and fine.
"""

from __future__ import annotations

import ast
import glob
import io
import re
import shlex
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]
NOT_RUN = re.compile(r"<!-- not run: \S.* -->")
SHOWN = "->"
#: The repository's top folders: a backticked path starting with one of them is a path into the checkout.
REPO_PATH = re.compile(r"`((?:\.\./|(?:docs|examples|schemas|tools|tests|src|bench|fuzz|requirements|\.ci)/)[^`\s]*)`")
SEED_FILE = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")


def _blocks(doc: str) -> Iterator[tuple[str, int, str, bool]]:
    """(language, line of the opening fence, body, marked not run) of every fenced block of ``doc``."""
    return _blocks_of((ROOT / doc).read_text(encoding="utf-8"))


def _blocks_of(text: str) -> Iterator[tuple[str, int, str, bool]]:
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].startswith("```"):
            language = lines[index][3:].strip()
            end = index + 1
            while end < len(lines) and lines[end] != "```":
                end += 1
            previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
            yield language, index + 1, "\n".join(lines[index + 1:end]) + "\n", bool(NOT_RUN.fullmatch(previous))
            index = end
        index += 1


def _python_blocks(*, marked_not_run: bool = False) -> list[Any]:
    """The python blocks to run (or, with ``marked_not_run``, those a doc marks as not run here)."""
    return [
        pytest.param(doc, body, id=f"{doc}:{line}")
        for doc in DOCS
        for language, line, body, marked in _blocks(doc)
        if language == "python" and bool(marked) == marked_not_run
    ]


def _shown(shown: str, actual: str) -> bool:
    """Whether ``actual`` is the text a doc shows as ``shown``, where ``...`` stands for any text."""
    return re.fullmatch(".*?".join(map(re.escape, shown.split("..."))), actual, re.DOTALL) is not None


def _trailing_comments(source: str) -> dict[int, str]:
    """Line -> the text of the comment that ends it, for comments after code."""
    found: dict[int, str] = {}
    code_lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.start[0] in code_lines:
            found[token.start[0]] = token.string[1:].strip()
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
            code_lines.add(token.start[0])
    return found


def _looks_like_output(comment: str) -> bool:
    try:
        ast.literal_eval(comment)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


class _CheckShown(ast.NodeTransformer):
    """Wraps every expression statement with a ``# -> SHOWN`` comment in a call that checks SHOWN."""

    def __init__(self, comments: dict[int, str]) -> None:
        self.comments = comments
        self.checked = 0

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        comment = self.comments.get(node.end_lineno or node.lineno)
        if comment is None:
            return node
        if not comment.startswith(SHOWN):
            assert not _looks_like_output(comment), (
                f"line {node.lineno}: '# {comment}' reads as output: write it '# {SHOWN} {comment}' so it is checked"
            )
            return node
        shown = ast.Constant(comment.removeprefix(SHOWN).strip())
        line = ast.Constant(node.lineno)
        call = node.value
        self.checked += 1
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
            checked = ast.Call(ast.Name("__printed__", ast.Load()), [line, shown, *call.args], call.keywords)
        else:
            checked = ast.Call(ast.Name("__value__", ast.Load()), [line, shown, call], [])
        return ast.copy_location(ast.Expr(ast.copy_location(checked, node.value)), node)


def _printed(line: int, shown: str, *args: Any, **kwargs: Any) -> None:
    out = io.StringIO()
    print(*args, **kwargs, file=out)
    actual = out.getvalue().removesuffix("\n")
    assert _shown(shown, actual), f"line {line} prints {actual!r}; the doc shows {shown!r}"
    print(actual)


def _value(line: int, shown: str, value: object) -> None:
    assert _shown(shown, repr(value)), f"line {line} is {value!r}; the doc shows {shown}"


def _run_python(doc: str, body: str) -> int:
    """Run one block with its shown outputs checked; the number of them."""
    tree = ast.parse(body, doc)
    checker = _CheckShown(_trailing_comments(body))
    tree = ast.fix_missing_locations(checker.visit(tree))
    exec(compile(tree, doc, "exec"), {"__printed__": _printed, "__value__": _value})
    return checker.checked


@pytest.mark.parametrize(("doc", "body"), _python_blocks())
def test_python_examples_run_and_show_their_output(doc: str, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    _run_python(doc, body)


@pytest.mark.parametrize(("doc", "body"), _python_blocks(marked_not_run=True))
def test_python_examples_marked_not_run_still_compile(doc: str, body: str) -> None:
    # Run elsewhere (the reason in the marker says where); here at least they must stay valid Python.
    compile(body, doc, "exec")


def test_readme_encode_line_is_checked() -> None:
    """The README's encode example states the bytes written (issue 21 found it stale): it is a checked output."""
    blocks = [body for language, _, body, _ in _blocks("README.md") if language == "python"]
    encode = next(block for block in blocks if "bridge.encode(msg)" in block)
    assert _run_python("README.md", encode) == 1
    with pytest.raises(AssertionError, match="the doc shows"):
        _run_python("README.md", encode.replace('{"body":{"status":"in-service"},', '{"header"'))


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("1 + 1  # -> 2\n", None),
        ("1 + 1  # -> 3\n", "the doc shows 3"),
        ("print('a', [1, 2])  # -> a [1, ...]\n", None),
        ("print('a')  # -> b\n", "prints 'a'"),
        ("len('ab')  # 2\n", "reads as output"),
        ("len('ab')  # the length\n", None),
        ("x = 1  # 2\n", None),  # an assignment shows nothing
    ],
)
def test_shown_output_convention(source: str, error: str | None) -> None:
    if error is None:
        with redirect_stdout(io.StringIO()):
            _run_python("example", source)
    else:
        with pytest.raises(AssertionError, match=re.escape(error)), redirect_stdout(io.StringIO()):
            _run_python("example", source)


def test_not_run_marker() -> None:
    text = (
        "Prose.\n\n<!-- not run: needs a live CCEB -->\n\n```python\nraise SystemExit\n```\n\n"
        "<!-- not run: -->\n```python\nx = 1\n```\n```console\n$ ccproto --version\n```\n"
    )
    assert [(language, marked) for language, _, _, marked in _blocks_of(text)] == [
        ("python", True), ("python", False), ("console", False),  # the second marker gives no reason
    ]


@given(st.text(), st.text(), st.text())
def test_dots_stand_for_any_text(before: str, hidden: str, after: str) -> None:
    assume("." not in before + after)  # dots next to the "..." would make a longer run of dots
    assert _shown(before + "..." + after, before + hidden + after)
    assert _shown(before + after, before + after)
    assert not _shown(before + after, before + after + "x")


# ---- console examples ----------------------------------------------------------------------------------------

_SHELL = re.compile(r"[|<>*?\[\]`$;&]")


def _path_like(token: str) -> str | None:
    """The file a command-line token names, if it names one (``name=path`` gives ``path``)."""
    if token.startswith("-"):
        return None
    value = token.split("=", 1)[1] if "=" in token else token
    return value if "/" in value or re.search(r"\.\w+$", value) else None


def _runnable(command: str) -> list[str] | None:
    """The arguments of a ``$ ccproto ...`` line that uses only files of examples/, else None."""
    arguments = shlex.split(command, comments=True)[1:]
    if _SHELL.search(" ".join(arguments)):
        return None
    paths = [path for path in map(_path_like, arguments) if path is not None]
    if not paths or not all(path.startswith("examples/") and (ROOT / path).is_file() for path in paths):
        return None
    return arguments


def _console_commands() -> list[Any]:
    found = []
    for doc in DOCS:
        for language, line, body, marked in _blocks(doc):
            if language != "console" or marked:
                continue
            lines = body.splitlines()
            for index, text in enumerate(lines):
                if not text.startswith("$ ccproto "):
                    continue
                arguments = _runnable(text[2:])
                if arguments is None:
                    continue
                shown = []
                for following in lines[index + 1:]:
                    if following.startswith("$"):
                        break
                    shown.append(following)
                found.append(pytest.param(arguments, shown, id=f"{doc}:{line + 1 + index}"))
    return found


def _output_matches(shown: list[str], actual: str) -> bool:
    pattern = []
    for line in shown:
        if line.strip() == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            pattern.append(r"\(.*\)".join(map(re.escape, line.split("(...)"))) + r"\n")
    return re.fullmatch("".join(pattern), actual) is not None


@pytest.mark.parametrize(("arguments", "shown"), _console_commands())
def test_console_examples_print_what_the_docs_show(arguments: list[str], shown: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ccproto", *arguments], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode in (0, 1), done.stderr
    if shown:
        assert _output_matches(shown, done.stdout), f"ccproto {' '.join(arguments)} printed:\n{done.stdout}"


def test_console_examples_include_the_coverage_report() -> None:
    commands = {" ".join(param.values[0]): param.id for param in _console_commands()}
    assert commands["validate --coverage examples/captures/bridge-clean.jsonl"].startswith("docs/validate.md")
    assert "validate examples/captures/cceb-desktop.har" in commands
    assert _runnable("ccproto validate capture.jsonl") is None  # an illustration: no such file
    assert _runnable("ccproto validate --format junit --output report.xml examples/captures/x.jsonl") is None


@pytest.mark.parametrize(
    ("shown", "actual", "matches"),
    [
        (["a", "...", "d"], "a\nb\nc\nd\n", True),
        (["a", "...", "d"], "a\nd\n", True),
        (["a", "d"], "a\nb\nd\n", False),
        (["x (...) y"], "x (any (nested) text) y\n", True),
        (["x (...) y"], "x y\n", False),
        (["transitions: 11 of 19"], "transitions: 12 of 19\n", False),
    ],
)
def test_console_output_convention(shown: list[str], actual: str, matches: bool) -> None:
    assert _output_matches(shown, actual) is matches


# ---- paths and seeds -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("doc", [*DOCS, "ARCHITECTURE.md"])
def test_cited_paths_exist(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert not SEED_FILE.findall(text), "the seeds are not distributed: cite them by title"
    for match in REPO_PATH.finditer(text):
        path = match.group(1).split("::")[0].split("#")[0]
        assert not path.startswith("../"), f"{path}: outside the repository"
        if "<" in path:
            continue  # a placeholder such as fuzz/findings/<target>/
        if glob.has_magic(path):
            assert glob.glob(path, root_dir=ROOT), f"{path}: matches nothing"
        else:
            assert (ROOT / path).exists(), f"{path}: no such file"


# ---- pip install ----------------------------------------------------------------------------------------------

PIP_INSTALL = re.compile(r"pip install ([^`\n#]*)")
_OPTIONS_WITH_VALUE = {"-c", "--constraint", "-r", "--requirement", "-i", "--index-url", "-t", "--target"}


def _version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    assert found is not None
    return found.group(1)


def pip_install_problem(arguments: str) -> str | None:
    """Why ``pip install ARGUMENTS`` fails from this repository (None: it works)."""
    tokens = shlex.split(arguments)
    skip = False
    for token in tokens:
        if skip or token.startswith("-"):
            skip = token in _OPTIONS_WITH_VALUE
            continue
        requirement = token.split("[", 1)[0]
        if requirement.endswith(".whl"):
            wheel = f"ccproto-{_version()}-py3-none-any.whl"
            if Path(requirement).name != wheel:
                return f"{token}: the wheel built here is {wheel}"
        elif re.fullmatch(r"ccproto", requirement, re.IGNORECASE):
            return f"{token}: ccproto is not published; install '.[extras]' from a checkout or a wheel (README.md)"
    return None


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ("-e '.[testing,websockets]'", None),
        ("'dist/ccproto-0.1.0-py3-none-any.whl[testing]'", None),
        ("-c requirements/constraints.txt -e . pytest", None),
        ("'ccproto[testing]' pytest", "ccproto is not published"),
        ("ccproto[speedups]", "ccproto is not published"),
        ("dist/ccproto-9.9-py3-none-any.whl", "the wheel built here"),
    ],
)
def test_pip_install_rule(arguments: str, problem: str | None) -> None:
    found = pip_install_problem(arguments)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize("doc", DOCS)
def test_pip_install_lines_work_from_this_repository(doc: str) -> None:
    for arguments in PIP_INSTALL.findall((ROOT / doc).read_text(encoding="utf-8")):
        problem = pip_install_problem(arguments)
        assert problem is None, f"{doc}: pip install {arguments}: {problem}"


def test_readme_says_how_to_install() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Install\n", 1)[1].split("\n## ", 1)[0]
    installs = PIP_INSTALL.findall(section)
    assert any(arguments.startswith("-e '.[") for arguments in installs)
    assert any(".whl[" in arguments for arguments in installs)
    assert "pip wheel" in section
    assert ". .venv/bin/activate" in readme


@pytest.mark.parametrize("doc", DOCS)
def test_commands_are_spelled_ccproto(doc: str) -> None:
    """One spelling, `ccproto ...`, as run in the activated venv (README.md says how to activate it)."""
    for language, line, body, _ in _blocks(doc):
        if language != "console":
            continue
        for text in body.splitlines():
            assert not re.match(r"\$ (\S*/bin/ccproto|python3? -m ccproto)\b", text), f"{doc}:{line}: {text}"
