"""The walker of valid conversations split by protocol (issue 23): ``ccproto.testing.sequences`` is the engine and
names no protocol; each registered protocol's walker is its testing slice's, and ``conversations(name)`` walks it."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, settings

from ccproto.capture.validator import validate_capture
from ccproto.core.findings import Severity
from ccproto.core.protocol import resolve
from ccproto.protocols import BUILT_IN, get, names
from ccproto.testing import sequences
from ccproto.testing.sequences import Conversation, Walker, conversations, walker_of
from ccproto.testing.slices import slice_of

SEQUENCES = Path(sequences.__file__)

#: The protocols whose testing slice names a walker of conversations.
WALKED = [name for name in names() if get(name).testing is not None and slice_of(name).conversations is not None]


def protocol_words(protocols: tuple[str, ...]) -> re.Pattern[str]:
    """A protocol's name as a word of its own, in any case (``cceb_states`` and ``CCEB`` hold it; ``bridges``
    would not)."""
    return re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, protocols)) + r")(?![a-z0-9])", re.IGNORECASE)


def protocols_named_in(source: str, protocols: tuple[str, ...]) -> list[str]:
    """What in ``source`` names one of ``protocols``: a string literal (docstrings included) holding the name, an
    import of a protocol's package or of its testing slice, a class or function named after it."""
    word = protocol_words(protocols)
    packages = tuple(prefix + name for name in protocols for prefix in ("ccproto.", "ccproto.testing.slices."))
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and word.search(node.value):
            found.append(f"line {node.lineno}: string {node.value[:60]!r}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.module in ("ccproto", "ccproto.testing.slices"):
                modules += [f"{node.module}.{alias.name}" for alias in node.names]
            found += [f"line {node.lineno}: import {module}" for module in modules
                      if module in packages or module.startswith(tuple(p + "." for p in packages))]
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef)) and any(p in node.name.lower() for p in protocols):
            found.append(f"line {node.lineno}: {type(node).__name__} {node.name}")
    return found


def test_the_check_finds_what_names_a_protocol() -> None:
    # The check itself, on the kinds of mention the engine had before issue 23 split it.
    before = '''
from ccproto.bridge import codec as bridge_codec
from ccproto import cceb
import ccproto.processor.models
from ccproto.testing.slices.bridge.conversations import WALKER
ENCODERS = {"bridge": bridge_codec.encode_value}
class _CcebWalker: ...
def processor_conversations(): ...
'''
    found = protocols_named_in(before, BUILT_IN)
    assert len(found) == 7, found
    clean = '"""A walk of a WebSocket connection; bridges, processors."""\nfrom ccproto.core.protocol import resolve\n'
    assert protocols_named_in(clean, BUILT_IN) == []


def test_the_engine_names_no_protocol() -> None:
    # Every protocol's part lives in its slice: the engine holds no protocol's name in a string (a dict of encoders,
    # a tuple of names, a docstring listing them), imports no protocol package and has no class or function of one.
    found = protocols_named_in(SEQUENCES.read_text(encoding="utf-8"), names())
    assert found == [], found


@pytest.mark.parametrize("protocol", WALKED)
def test_conversations_walks_each_registered_protocol_with_its_slices_walker(protocol: str) -> None:
    walker = walker_of(protocol)
    assert walker is resolve(slice_of(protocol).conversations)
    assert issubclass(walker, Walker)

    conversation = find(
        conversations(protocol, max_steps=6),
        lambda drawn: len(drawn.steps) >= 2,
        settings=settings(database=None, max_examples=50, suppress_health_check=list(HealthCheck)),
    )
    assert isinstance(conversation, Conversation)
    assert conversation.protocol == protocol
    assert len(conversation.transitions) >= len(conversation.steps)
    report = validate_capture(io.StringIO(conversation.jsonl()), file="walk")
    assert report.records == len(conversation.steps) + 1
    assert [f.code for f in report.findings if f.severity is Severity.ERROR] == []


def test_an_unknown_protocol_has_no_conversations() -> None:
    with pytest.raises(ValueError, match="unknown protocol 'sip'"):
        conversations("sip")


#: Subprocesses, sockets or long runs: in the full run only (tests/conftest.py).
pytestmark = pytest.mark.slow
