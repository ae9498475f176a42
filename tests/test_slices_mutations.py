"""The mutation engine knows no protocol: each protocol's part is in its testing slice (issue 23).

``ccproto.testing.mutations`` holds the generic engine; ``ccproto.testing.slices.<protocol>.mutations`` holds each
protocol's :class:`MutationHooks` and its convenience strategy.  The engine finds the hooks through the registry
when first needed, so a protocol registered at run time (the toy of ``toy_protocol.py``) gets mutations too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import ccproto.testing
import toy_mutations
import toy_protocol
import toy_slice
from ccproto import protocols
from ccproto.core.errors import ProtocolError
from ccproto.core.roles import Role
from ccproto.testing import mutations as engine
from ccproto.testing.mutations import (
    PROTOCOLS,
    RULES_BY_PROTOCOL,
    Mutation,
    MutationHooks,
    Rule,
    mutations,
)
from ccproto.testing.slices import slice_of
from ccproto.testing.slices.bridge import mutations as bridge_part
from ccproto.testing.slices.cceb import mutations as cceb_part
from ccproto.testing.slices.processor import mutations as processor_part
from toy_protocol import ToyConnection

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "src" / "ccproto" / "testing" / "mutations.py"
FEW = settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# -- the engine names no protocol ----------------------------------------------------------------------------------


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes (module, classes, functions): prose may name a protocol as an example."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_the_engine_holds_no_protocol_name_and_imports_no_protocol() -> None:
    tree = ast.parse(ENGINE.read_text(encoding="utf-8"))
    built_in = set(protocols.BUILT_IN)
    assert built_in == {"bridge", "processor", "cceb", "cct"}  # the names looked for below are the real ones
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words = set(node.value.replace(".", " ").replace(":", " ").replace("_", " ").split())
            assert not words & built_in, f"line {node.lineno} names a protocol: {node.value!r}"
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported = [node.module or ""]
        else:
            continue
        for name in imported:
            parts = set(name.split("."))
            assert not parts & built_in, f"line {node.lineno} imports a protocol's module: {name}"
            assert not name.startswith("ccproto.testing.slices."), f"line {node.lineno} imports a slice: {name}"


def test_each_slice_names_its_hooks_and_the_engine_finds_them() -> None:
    parts = {"bridge": bridge_part, "processor": processor_part, "cceb": cceb_part}
    for name, module in parts.items():
        assert slice_of(name).mutations == f"{module.__name__}:HOOKS"
        assert isinstance(module.HOOKS, MutationHooks)
    assert set(parts) <= set(PROTOCOLS)
    assert tuple(PROTOCOLS) == tuple(p for p in protocols.names() if slice_of(p).mutations is not None)
    # The CCEB's own rules are its hooks', not the engine's.
    assert set(cceb_part.HOOKS.rules) == {Rule.RESERVED_FIELD, Rule.UNSUPPORTED_ACTION}
    assert not bridge_part.HOOKS.rules
    assert not processor_part.HOOKS.rules


def test_the_convenience_strategies_live_in_the_slices() -> None:
    assert ccproto.testing.bridge_mutations is bridge_part.bridge_mutations
    assert ccproto.testing.processor_mutations is processor_part.processor_mutations
    assert ccproto.testing.cceb_mutations is cceb_part.cceb_mutations
    # The engine holds none of them: they are the slices' (issue 23).
    for name in ("bridge_mutations", "processor_mutations", "cceb_mutations"):
        assert not hasattr(engine, name)


def test_importing_the_engine_works_nothing_out_and_imports_no_slice() -> None:
    # The tables per protocol are worked out on first use (so a protocol registered later is handled too).
    script = """
import sys
import ccproto.testing.mutations as engine
assert not engine._PREPARED, engine._PREPARED
assert not [m for m in sys.modules if m.startswith("ccproto.testing.slices.")], "a slice was imported"
assert engine.RULES_BY_PROTOCOL["cceb"]
assert list(engine._PREPARED) == ["cceb"], list(engine._PREPARED)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok"]


# -- every registered protocol draws -------------------------------------------------------------------------------


@FEW
@given(st.sampled_from(PROTOCOLS).flatmap(lambda name: st.tuples(st.just(name), mutations(name))))
def test_every_registered_protocol_draws_mutations(drawn: tuple[str, Mutation]) -> None:
    name, m = drawn
    assert m.protocol == name
    assert m.rule in RULES_BY_PROTOCOL[name]
    if not m.rule.needs_context:
        with pytest.raises(ProtocolError):
            protocols.get(name).decode(m.text())


def test_rules_by_protocol_is_a_live_mapping_of_the_protocols() -> None:
    assert list(RULES_BY_PROTOCOL) == list(PROTOCOLS)
    assert len(RULES_BY_PROTOCOL) == len(PROTOCOLS)
    assert "smtp" not in RULES_BY_PROTOCOL
    assert "smtp" not in PROTOCOLS
    snapshot = tuple(PROTOCOLS)
    assert snapshot == PROTOCOLS  # compares as the tuple it shows
    assert (PROTOCOLS[0], PROTOCOLS[-1], PROTOCOLS[:2]) == (snapshot[0], snapshot[-1], snapshot[:2])
    with pytest.raises(KeyError):
        RULES_BY_PROTOCOL["smtp"]


# -- a protocol registered later: the toy, with hooks of its own ---------------------------------------------------


def _draw_one(strategy: st.SearchStrategy[Mutation]) -> None:
    @settings(max_examples=1, database=None)
    @given(strategy)
    def draw(m: Mutation) -> None:
        pass

    draw()


TOY_HOOKS = toy_mutations.HOOKS
#: What the toy's messages can break: a pattern'd id, a constant type, and a pong answering another ping.
TOY_RULES = (Rule.WRONG_TYPE, Rule.MISSING_REQUIRED, Rule.BAD_PATTERN, Rule.BAD_CONSTANT, Rule.NOT_AN_OBJECT,
             Rule.WRONG_CORRELATION_ID)


def _register_toy(hooks: MutationHooks, *, replace: bool = False) -> None:
    spec = attrs.evolve(toy_protocol.PROTOCOL, testing=attrs.evolve(toy_slice.SLICE, mutations=hooks))
    protocols.register(spec, replace=replace)


@pytest.fixture
def toy() -> Iterator[None]:
    _register_toy(TOY_HOOKS)
    try:
        yield
    finally:
        protocols.unregister(toy_protocol.NAME)


@pytest.mark.usefixtures("toy")
def test_a_protocol_registered_later_gets_mutations() -> None:
    assert toy_protocol.NAME in PROTOCOLS
    assert RULES_BY_PROTOCOL[toy_protocol.NAME] == TOY_RULES

    @FEW
    @given(mutations(toy_protocol.NAME))
    def check(m: Mutation) -> None:
        assert m.protocol == toy_protocol.NAME
        if m.rule is Rule.WRONG_CORRELATION_ID:
            conn = ToyConnection(Role.CLIENT, sticky_errors=False)
            for sender, value in m.context:
                conn.observe(toy_protocol.decode_value(value).message, sender)
            with pytest.raises(ProtocolError):
                conn.observe(toy_protocol.decode_value(m.value).message, m.sender)
        else:
            assert m.context == ()
            toy_protocol.decode_value(m.valid)
            with pytest.raises(ProtocolError):
                toy_protocol.decode(m.text())

    check()


@pytest.mark.usefixtures("toy")
def test_a_protocol_registered_again_gets_its_new_hooks() -> None:
    assert Rule.WRONG_CORRELATION_ID in RULES_BY_PROTOCOL[toy_protocol.NAME]
    _register_toy(attrs.evolve(TOY_HOOKS, wrong_id=None), replace=True)  # no correlation to break
    assert RULES_BY_PROTOCOL[toy_protocol.NAME] == TOY_RULES[:-1]

    @FEW
    @given(mutations(toy_protocol.NAME, rules=[Rule.BAD_PATTERN]))
    def check(m: Mutation) -> None:
        assert (m.rule, m.pointer) == (Rule.BAD_PATTERN, "/id")

    check()
    with pytest.raises(InvalidArgument, match="cannot break"):
        _draw_one(mutations(toy_protocol.NAME, rules=[Rule.WRONG_CORRELATION_ID]))


def test_an_unregistered_protocol_is_refused_when_drawn() -> None:
    _register_toy(TOY_HOOKS)
    try:
        assert toy_protocol.NAME in PROTOCOLS
    finally:
        protocols.unregister(toy_protocol.NAME)
    assert toy_protocol.NAME not in PROTOCOLS
    assert toy_protocol.NAME not in RULES_BY_PROTOCOL
    with pytest.raises(InvalidArgument, match="protocol must be one of"):
        _draw_one(mutations(toy_protocol.NAME))


def test_hooks_that_are_not_hooks_are_named_in_the_error() -> None:
    bogus: Any = object()
    _register_toy(bogus)
    try:
        with pytest.raises(TypeError, match="not MutationHooks"):
            RULES_BY_PROTOCOL[toy_protocol.NAME]
    finally:
        protocols.unregister(toy_protocol.NAME)
