"""How core's modules depend on each other (issue 23), and tracebacks through the compiled path's generated code.

The import graph is read from the source (every ``import`` and ``from ... import``, at module level and inside
functions, relative ones resolved; those under ``if TYPE_CHECKING:`` left out, as they are for type checkers
only, and ``importlib.import_module`` calls, which name modules in strings, not seen).  It must hold no cycle,
apart from the ones listed, with their issue, in ``KNOWN_CYCLES``.
"""

from __future__ import annotations

import ast
import linecache
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ccproto.core.compiled import STRUCTURE_FUNCTIONS, Fallback, structure_function, unstructure_function
from ccproto.core.model import Model, model, wire

SRC = Path(__file__).resolve().parent.parent / "src" / "ccproto"

#: Imports (importer, imported) allowed to close a cycle for now, each with the issue that is to remove it: the
#: test fails once an entry no longer closes a cycle, so fixed ones get removed.  Empty since issue 23 split
#: ``core.convert`` (the fast/exact choice) from ``core.hooks`` (the reference hooks ``core.compiled`` builds on).
KNOWN_CYCLES: frozenset[tuple[str, str]] = frozenset()

Graph = dict[str, set[str]]


# -- the import graph ------------------------------------------------------------------------------------------


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` (functions included), leaving out the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _nodes(other)
            continue
        yield child
        yield from _nodes(child)


def import_graph(root: Path) -> Graph:
    """Module -> the modules of the package at ``root`` it imports (a package's ``__init__`` under its name)."""
    files = {_module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    graph: Graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in _nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names if alias.name in files)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    # `from package import module` imports the module; `from module import name`, the module.
                    if f"{source}.{alias.name}" in files:
                        imported.add(f"{source}.{alias.name}")
                    elif source in files:
                        imported.add(source)
        # Importing a.b.c runs a and a.b first: an edge to each package above the module imported, but not to the
        # importer's own packages, which are running (or done) by the time it runs.
        own = {".".join(name.split(".")[:depth]) for depth in range(1, name.count(".") + 2)}
        for target in list(imported):
            parts = target.split(".")
            imported.update(parent for depth in range(1, len(parts))
                            if (parent := ".".join(parts[:depth])) in files and parent not in own)
        imported.discard(name)
        graph[name] = imported
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle of ``graph`` as the modules along it (the first repeated at the end), or ``None``."""
    done: set[str] = set()

    def visit(node: str, path: list[str], on_path: set[str]) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_path:
                return [*path[path.index(target):], target]
            if target not in done:
                found = visit(target, path, on_path)
                if found is not None:
                    return found
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            found = visit(start, [], set())
            if found is not None:
                return found
    return None


def reaches(graph: Graph, start: str, goal: str) -> bool:
    """Whether ``start`` imports ``goal``, directly or through other modules."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for target in graph.get(node, ()):
            if target == goal:
                return True
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return False


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(SRC)


def test_the_graph_reader_sees_lazy_and_relative_imports_and_skips_type_checking(tmp_path: Path) -> None:
    # The reader itself, on a package made for it: a cycle closed only by an import inside a function and a
    # relative one is found; an import under TYPE_CHECKING is no edge.
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from .. import c\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d\nelse:\n    import pkg.a\n"
    )
    (package / "d.py").write_text("from .c import x\n")
    found = import_graph(package)
    assert found["pkg.a"] == {"pkg.sub.b", "pkg.sub"}  # importing pkg.sub.b runs pkg.sub first
    assert found["pkg.sub.b"] == {"pkg.c"}
    assert found["pkg.c"] == {"pkg.a"}  # the TYPE_CHECKING import of pkg.d is left out, its else kept
    assert found["pkg.d"] == {"pkg.c"}
    cycle = find_cycle(found)
    assert cycle is not None
    # The runtime cycle that parent packages close (issue 23: slices imported peers.base, so peers' __init__,
    # which imported slices): a.py imports q.r, q/__init__ imports a.
    (package / "q").mkdir()
    (package / "q" / "__init__.py").write_text("from pkg import c2\n")
    (package / "q" / "r.py").write_text("")
    (package / "c2.py").write_text("from pkg.q import r\n")
    again = import_graph(package)
    assert "pkg.q" in again["pkg.c2"]
    assert find_cycle({k: v for k, v in again.items() if k in {"pkg.q", "pkg.c2", "pkg.q.r"}}) is not None
    assert set(cycle) == {"pkg.a", "pkg.sub.b", "pkg.c"}
    assert cycle[0] == cycle[-1]
    del found["pkg.c"]
    assert find_cycle(found) is None


def test_the_graph_holds_the_imports_it_should(graph: Graph) -> None:
    # Guards against a reader that sees nothing (and so no cycle): edges known to exist are there.
    assert "ccproto.core.compiled" in graph["ccproto.core.convert"]
    assert "ccproto.core.hooks" in graph["ccproto.core.compiled"]
    assert "ccproto.core.hooks" in graph["ccproto.core.schema"]


def test_no_import_cycle_in_the_package(graph: Graph) -> None:
    for importer, imported in KNOWN_CYCLES:
        assert imported in graph.get(importer, set()), f"KNOWN_CYCLES: {importer} no longer imports {imported}"
        assert reaches(graph, imported, importer), f"KNOWN_CYCLES: {importer} -> {imported} closes no cycle now"
    allowed = {name: targets - {b for a, b in KNOWN_CYCLES if a == name} for name, targets in graph.items()}
    cycle = find_cycle(allowed)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_compiled_path_never_imports_the_choice_and_reference_hooks_never_import_compiled(graph: Graph) -> None:
    assert not reaches(graph, "ccproto.core.compiled", "ccproto.core.convert")
    assert not reaches(graph, "ccproto.core.hooks", "ccproto.core.compiled")
    assert not reaches(graph, "ccproto.core.hooks", "ccproto.core.convert")


def test_convert_still_offers_every_name_imported_from_it() -> None:
    # Other modules, tools and tests import these from core.convert: the split must not move them away.
    from ccproto.core import convert, hooks

    for name in ("StructureError", "compile_pattern", "converter", "field_structure_hook", "field_unstructure_hook",
                 "integral_float", "make_converter", "rule_checker"):
        assert getattr(convert, name) is getattr(hooks, name)
    for name in ("decode_model", "encode_model", "encode_text", "structure_compiled", "unstructure_compiled"):
        assert callable(getattr(convert, name))


# -- tracebacks through generated code -------------------------------------------------------------------------


@model
class _Inner(Model):
    name: str = wire("name", pattern=r"^[a-z]+$")


@model
class _Outer(Model):
    ident: str = wire("head", "id")
    inner: _Inner = wire("body", "inner")


def _generated_frames(error: BaseException) -> list[traceback.FrameSummary]:
    return [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename.startswith("<ccproto")]


def _raise_through_structure() -> BaseException:
    # The inner name breaks its pattern: the inner function raises in its own line, called from the outer one's.
    with pytest.raises(Fallback) as caught:
        structure_function(_Outer)({"head": {"id": "x"}, "body": {"inner": {"name": "NOT LOWER"}}})
    return caught.value


def _raise_through_unstructure() -> BaseException:
    bad = _Outer(ident="x", inner=_Inner(name="NOT LOWER"))  # attrs does not check patterns: the encoder does
    with pytest.raises(Fallback) as caught:
        unstructure_function(_Outer)(bad)
    return caught.value


@pytest.mark.parametrize("make_error", [_raise_through_structure, _raise_through_unstructure])
def test_a_traceback_through_generated_code_shows_its_source_lines(make_error: Callable[[], BaseException]) -> None:
    error = make_error()
    functions = {f.__code__.co_filename: f for f in (structure_function(_Outer), structure_function(_Inner),
                                                      unstructure_function(_Outer), unstructure_function(_Inner))}
    for checked in ("fresh", "after checkcache"):
        frames = _generated_frames(error)
        assert len(frames) == 2, checked  # the outer function's frame and the inner one's
        formatted = "".join(traceback.format_exception(error))
        for frame in frames:
            source: str = vars(functions[frame.filename])["__ccproto_source__"]
            assert frame.lineno is not None
            expected = source.splitlines()[frame.lineno - 1].strip()
            assert frame.line == expected, checked
            assert f'File "{frame.filename}", line {frame.lineno}, in {frame.name}\n    {expected}\n' in formatted
        raised = frames[-1].line
        assert raised is not None
        assert "raise _FALLBACK" in raised  # where it was raised: the inner function's own check
        linecache.checkcache()  # what traceback printing and debuggers call: it must keep the entries


def _same_named(minimum: int) -> type[Model]:
    # Two calls make two classes of one module and qualified name, with different generated source.
    @model
    class Same(Model):
        count: int = wire("count", minimum=minimum)

    return Same


def _compiled_entries() -> set[str]:
    return {name for name in linecache.cache if name.startswith("<ccproto compiled ")}


def test_each_generated_function_has_its_own_bounded_linecache_entry() -> None:
    first, second = _same_named(3), _same_named(7)
    before = _compiled_entries()
    structure_first = structure_function(first)
    assert _compiled_entries() - before == {structure_first.__code__.co_filename}  # one entry per function built
    structure_second = structure_function(second)
    structure_function(first)
    structure_function(second)  # cached: no new entry
    assert len(_compiled_entries() - before) == 2
    assert structure_first.__code__.co_filename != structure_second.__code__.co_filename
    for cls, function, shown in ((first, structure_first, "< 3"), (second, structure_second, "< 7")):
        assert cls.__qualname__ in function.__code__.co_filename
        with pytest.raises(Fallback) as caught:
            function({"count": 0})
        (frame,) = _generated_frames(caught.value)
        assert frame.line is not None
        assert shown in frame.line  # its own source, not the other class's


def test_every_compiled_function_so_far_has_its_source_in_linecache() -> None:
    structure_function(_Outer)
    functions: list[Any] = list(STRUCTURE_FUNCTIONS.values())
    built = [function for function in functions if function.__code__.co_filename.startswith("<ccproto compiled ")]
    assert built
    for function in built:
        lines = linecache.getlines(function.__code__.co_filename)
        assert "".join(lines).rstrip("\n") == vars(function)["__ccproto_source__"]


def test_every_connection_object_calls_where_it_is_state() -> None:
    # ARCHITECTURE.md "Names": one name for one concept; errors read the same value through current_state.
    from ccproto.bridge import ControlChannel
    from ccproto.cceb import CcebConnection
    from ccproto.core.roles import Role
    from ccproto.processor import ProcessorSession

    for connection in (ControlChannel(Role.CLIENT), ProcessorSession(Role.CLIENT), CcebConnection(Role.CLIENT)):
        assert connection.state is connection.current_state
